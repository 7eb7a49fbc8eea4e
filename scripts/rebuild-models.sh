#!/usr/bin/env bash
# Rebuilds the bundled models and their reports from the shared data, in one command.
#   scripts/rebuild-models.sh              # the default answer, the benchmark with every network
#                                          # retrained per source group, the reports (~35 min;
#                                          # RUNS=DIR keeps the folds' runs for the next time)
#   scripts/rebuild-models.sh --networks   # also retrains the eight networks (~2 to 4 min each, tsc-gru-sim ~13, on 2 cores)
# DATA defaults to ../shared/data (or $STAMPSEQ_DATA).
set -euo pipefail
cd "$(dirname "$0")/.."
data="${STAMPSEQ_DATA:-../shared/data}"
cargo build --release
bin="${CARGO_TARGET_DIR:-target}/release/stampseq"

if [ "${1:-}" = "--networks" ]; then
    # The simulated part (tsc-gru-sim only, the simulation-only reference): templates from
    # the shared night of alerts, never those of the sample or of the benchmark's validation
    # and test objects. The other networks train on the benchmark split's real alerts.
    sim=$(mktemp -d)
    "$bin" simulate --out "$sim/simtrain" --objects 500 --seed 7
    for m in tsc-transformer-real tsc-gru-real tsc-gru-real-s23 tsc-gru-real-s24 enhanced-real enhanced-real-s13 enhanced-real-s14 tsc-gru-sim; do
        # Beside the original, so that its relative paths still resolve; the simulated
        # folders it names are this run's.
        cfg="assets/models/.rebuild-$m.toml"
        sed -e "s#/tmp/simtrain#$sim/simtrain#g" \
            "assets/models/$m.toml" > "$cfg"
        "$bin" train --config "$cfg" --out "$sim/run-$m"
        rm -f "$cfg"
        cp "$sim/run-$m/best.stampseq" "assets/models/$m.stampseq"
        cp "$sim/run-$m/split.json" "assets/models/$m.split.json"
        cp "$sim/run-$m/history.csv" "assets/models/$m.history.csv"
        cp "$sim/run-$m/curves.png" "assets/models/$m.curves.png"
        cp "$sim/run-$m/curves.svg" "assets/models/$m.curves.svg"
    done
    # Each real-only network on its own test objects (the figures its report shows).
    for m in tsc-gru-real enhanced-real; do
        "$bin" evaluate --model "assets/models/$m.stampseq" \
            --data "$data/ztf/labeled" --data "$data/ztf/extra" \
            --labels assets/benchmark/split.csv --split "assets/models/$m.split.json" \
            --no-rules --out "$sim/eval-$m"
        cp "$sim/eval-$m/metrics.json" "assets/models/$m.real-test-metrics.json"
        cp "$sim/eval-$m/confusion_matrix.png" "assets/models/$m.real-test-confusion.png"
        cp "$sim/eval-$m/confusion_matrix.svg" "assets/models/$m.real-test-confusion.svg"
    done
fi

# The simulated-data ablation: simulated objects on the shared night's templates. With no
# --fuse-with, the benchmark fuses the default's networks (DEFAULT_FUSED_NETWORKS in
# src/assets.rs), so the list lives in one place.
ablation=$(mktemp -d)
"$bin" simulate --out "$ablation/sim" --objects 400 --seed 3
"$bin" benchmark --data "$data" \
    --alerce "$data/alerce/alerce_stamp_classifier.safetensors" \
    --simulated "$ablation/sim" \
    --out assets/benchmark/results --retrain-runs "${RUNS:-$ablation/runs}" \
    --retrain-grouped assets/models/tsc-gru-real.toml \
    --retrain-grouped assets/models/tsc-transformer-real.toml \
    --retrain-grouped assets/models/enhanced-real.toml \
    --retrain-grouped assets/models/enhanced-real-s13.toml \
    --retrain-grouped assets/models/enhanced-real-s14.toml \
    --retrain-grouped assets/models/tsc-gru-real-s23.toml \
    --retrain-grouped assets/models/tsc-gru-real-s24.toml \
    --save-model assets/models/default-trees.stampseq \
    --save-fused assets/models/default-fused.stampseq
# The survey-neutral model (the default answer for LSST alerts), judged beside the trees.
neutral=$(mktemp -d)
"$bin" benchmark --data "$data" --neutral --out "$neutral" \
    --alerce "$data/alerce/alerce_stamp_classifier.safetensors" \
    --save-model assets/models/neutral-trees.stampseq
python3 - "$neutral/neutral.md" assets/models/neutral-trees.md README.md <<'PY'
import re, sys
table = open(sys.argv[1]).read().strip()
card = open(sys.argv[2]).read()
card = re.sub(r"<!-- neutral:start -->.*<!-- neutral:end -->",
              "<!-- neutral:start -->\n" + table + "\n<!-- neutral:end -->", card, flags=re.S)
open(sys.argv[2], "w").write(card)
# The README shows the first two tables (accuracy, AGN by kind).
readme = open(sys.argv[3]).read()
short = table.split("\n\nFeatures each fold")[0].strip()
readme = re.sub(r"<!-- neutral:start -->.*<!-- neutral:end -->",
                lambda _: "<!-- neutral:start -->\n" + short + "\n<!-- neutral:end -->", readme, flags=re.S)
open(sys.argv[3], "w").write(readme)
PY
scripts/refresh-reports.sh
echo "rebuilt: assets/models/default-trees.stampseq, default-fused.stampseq, neutral-trees.stampseq, assets/benchmark/results, the reports"
