#!/usr/bin/env bash
# The paper's protocol on real alerts (issue #9): every temporal head x 10 repeats on the
# benchmark split, and the GRU with simulated training data added (the ablation).
#   scripts/protocol.sh [OUT]     # OUT defaults to /tmp/stampseq-protocol
# About 85 s per run on one core of a 2-core machine: the two halves of the heads run in
# parallel, then the ablation; 80 runs in all, about an hour. Interrupted, it resumes.
# Writes OUT/heads and OUT/gru-sim (every run, sweep.md/.csv, runs.json) and copies the
# tables into assets/protocol/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-/tmp/stampseq-protocol}"
cargo build --release
bin="${CARGO_TARGET_DIR:-target}/release/stampseq"
mkdir -p "$out"

"$bin" sweep --config assets/protocol/real-heads.toml --out "$out/heads" \
    --heads gru,lstm,simple_rnn,gamma_memory 2> "$out/heads-a.log" &
first=$!
"$bin" sweep --config assets/protocol/real-heads.toml --out "$out/heads" \
    --heads conv1d,tdnn,transformer 2> "$out/heads-b.log"
# The simulated part: templates from the shared night, never the sample's or the benchmark's
# validation and test objects' (simulate leaves those out itself).
[ -f "$out/sim/labels.csv" ] || "$bin" simulate --out "$out/sim" --objects 400 --seed 3
cfg=assets/protocol/.run-real-gru-sim.toml
sed -e "s#SIMULATED#$out/sim#g" assets/protocol/real-gru-sim.toml > "$cfg"
"$bin" sweep --config "$cfg" --out "$out/gru-sim" 2> "$out/gru-sim.log"
rm -f "$cfg"
wait "$first"
# Every run is finished: this only reads them back and writes the whole table.
"$bin" sweep --config assets/protocol/real-heads.toml --out "$out/heads" 2> "$out/heads.log"
# The published tables (runs.json stays in OUT: it names the run folders).
mkdir -p assets/protocol/results
cp "$out/heads/sweep.md" assets/protocol/results/heads.md
cp "$out/heads/sweep.csv" assets/protocol/results/heads.csv
cp "$out/gru-sim/sweep.md" assets/protocol/results/gru-sim.md
cp "$out/gru-sim/sweep.csv" assets/protocol/results/gru-sim.csv
# Every run with its seed, validation loss and test scores (what chose the bundled
# tsc-transformer-real: the lowest validation loss).
{
    echo "training_data,head,repeat,seed,best_val_loss,best_iteration,test_balanced_accuracy,test_accuracy,test_objects"
    for part in heads:real gru-sim:real+simulated; do
        dir="$out/${part%%:*}"
        python3 - "$dir" "${part#*:}" <<'PY'
import json, os, sys
base, name = sys.argv[1], sys.argv[2]
for r in sorted(json.load(open(os.path.join(base, "runs.json"))), key=lambda r: (r["head"], r["repeat"])):
    s = json.load(open(os.path.join(base, "%s-n%d-r%d" % (r["head"], r["n"], r["repeat"]), "state.json")))
    print("%s,%s,%d,%d,%.4f,%d,%.4f,%.4f,%d" % (name, r["head"], r["repeat"], 21 + r["repeat"],
          s["best_val_loss"], s["best_iteration"], r["test_balanced_accuracy"],
          r["test_accuracy"], r["test_objects"]))
PY
    done
} > assets/protocol/results/runs.csv
echo "tables: assets/protocol/results/ (runs in $out)"
