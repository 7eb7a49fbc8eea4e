#!/usr/bin/env bash
# Retrains the benchmark's grouped fold runs for a fixed number of iterations, keeping the
# last checkpoint: how a stopping point chosen on the grouped validation was tried (issue
# #18, default-fused.md). Each run uses its fold run's own training and validation parts and
# its network's bundled configuration (a seed-named network not bundled, such as
# tsc-gru-real-s25, takes tsc-gru-real's with that seed); the run reproduces its fold run's
# first ITERATIONS iterations exactly (the learning rate is constant).
#
#   scripts/fold-runs-at.sh RUNS OUT ITERATIONS NETWORK...
#   python3 scripts/unseen-agn.py --runs OUT --checkpoint last --summary --nets NETWORK,...
#
# RUNS: the folder `stampseq benchmark --retrain-grouped ... --retrain-runs RUNS` kept.
# Runs finished before are skipped, so a stopped script resumes.
set -euo pipefail
if [ $# -lt 4 ]; then
    sed -n '2,13p' "$0" >&2
    exit 2
fi
runs=$1 out=$2 iterations=$3
shift 3
data=${STAMPSEQ_DATA:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${STAMPSEQ_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/stampseq}
for net in "$@"; do
    config=$root/assets/models/$net.toml
    seed=
    if [ ! -f "$config" ]; then
        config=$root/assets/models/tsc-gru-real.toml
        seed=${net##*-s}
    fi
    for fold in "$runs/$net"/fold-*/; do
        fold=${fold%/}
        name=$(basename "$fold")
        dir=$out/$net/$name
        [ -f "$dir/finished" ] && continue
        mkdir -p "$dir"
        if [ -f "$fold/parts.csv" ]; then
            cp "$fold/parts.csv" "$dir/parts.csv"
        else
            # Older fold runs kept only split.json: the same parts.
            python3 - "$fold/split.json" "$dir/parts.csv" <<'EOF'
import json, sys
split = json.load(open(sys.argv[1]))
with open(sys.argv[2], "w") as f:
    f.write("objectId,part\n")
    for part in ("train", "val", "test"):
        f.writelines(f"{o},{part}\n" for o in split[part])
EOF
        fi
        sed -e "s|^max_iterations = .*|max_iterations = $iterations|" \
            -e "s|^data = .*|data = [\"$data/ztf/labeled\", \"$data/ztf/extra\"]|" \
            -e "s|^labels = .*|labels = \"$root/assets/benchmark/split.csv\"|" \
            -e "s|^split = .*|split = \"$dir/parts.csv\"|" \
            ${seed:+-e "s|^seed = .*|seed = $seed|"} \
            "$config" > "$dir/config.toml"
        cache=()
        for c in "$runs/$net"/fold-*/data.cache; do
            [ -f "$c" ] && cache=(--data-cache "$c") && break
        done
        echo "$net $name: $iterations iterations" >&2
        "$bin" train --config "$dir/config.toml" --out "$dir" "${cache[@]}" > "$dir.log" 2>&1
        touch "$dir/finished"
    done
done
