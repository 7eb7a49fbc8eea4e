#!/bin/bash
# Checks the wgpu backend on this machine's GPU against the CPU and times it (BENCHMARKS.md,
# "On a GPU"). Needs a release build: `cargo build --release && cargo test --release --no-run`.
#   scripts/gpu-check.sh STAMPSEQ_BINARY INTEGRATION_TEST_BINARY [ALERCE_SAFETENSORS]
# STAMPSEQ_DATA (default ../shared/data) must hold ztf/manifest.csv and alerce/.
# With DATA_CACHE set to a tsc-gru-real run's data.cache (made here by `stampseq train
# --config assets/models/tsc-gru-real.toml --out RUN`: 4.2 MB, the alerts need not travel),
# it also trains tsc-gru-real on the GPU from it into ${RUNS:-/tmp}/tsc-gru-real-wgpu, to
# bring back and score here with `stampseq benchmark`.
set -u
S=${1:?stampseq binary}; T=${2:?integration test binary}
cd "$(dirname "$0")/.."
data=${STAMPSEQ_DATA:-../shared/data}
weights=${3:-$data/alerce/alerce_stamp_classifier.safetensors}
work=$(mktemp -d)
step() { echo; echo "=== $* ($(date +%T))"; }
step machine; nvidia-smi -L 2>/dev/null; nproc
"$S" import-alerce --out "$work/alerce.stampseq" "$weights" || exit 1
step "wgpu against TensorFlow and the CPU (integration tests)"
STAMPSEQ_DATA=$data timeout 600 "$T" --test-threads 1 --nocapture wgpu_train alerce_wgpu 2>&1 | grep -v '^$' | tail -12
step "classify: wgpu against cpu on the bundled sample"
for m in assets/models/tsc-gru-real.stampseq assets/models/enhanced-real.stampseq "$work/alerce.stampseq"; do
  n=$(basename "$m" .stampseq)
  for b in cpu wgpu; do
    timeout 120 "$S" classify --model "$m" --backend $b --max-detections 0 assets/sample > "$work/$n.$b.csv" || continue 2
  done
  python3 - "$work/$n.cpu.csv" "$work/$n.wgpu.csv" "$n" <<'PY'
import csv, sys
rows = lambda p: {(r["objectId"], r["k"]): r for r in csv.DictReader(open(p))}
a, b = rows(sys.argv[1]), rows(sys.argv[2])
cols = [c for c in next(iter(a.values())) if c.startswith("p_")]
worst = max(abs(float(a[k][c]) - float(b[k][c])) for k in a for c in cols)
same = sum(a[k]["top_class"] == b[k]["top_class"] for k in a)
print(f"{sys.argv[3]}: {len(a)} answers, max |p_wgpu - p_cpu| = {worst:.1e}, same top class {same}/{len(a)}")
PY
done
step "inference"
for m in "$work/alerce.stampseq" assets/models/tsc-gru-real.stampseq; do
  for b in "wgpu 128" "wgpu 1024" "wgpu 4096" "cpu 128" "cpu 1024"; do
    set -- $b; timeout 120 "$S" bench infer --model "$m" --backend $1 --batch $2 2>&1 | tail -1
  done
done
step "training (tsc-gru-real's network on the bundled sample)"
for b in wgpu cpu; do
  timeout 300 "$S" bench train --config scripts/gpu-train-sample.toml --backend $b --steps 20 2>&1 | tail -3
done
if [ -n "${DATA_CACHE:-}" ]; then
  step "tsc-gru-real trained on the GPU from $DATA_CACHE"
  run="${RUNS:-/tmp}/tsc-gru-real-wgpu"
  TIMEFORMAT='trained in %R s'
  time ("$S" train --config assets/models/tsc-gru-real.toml \
    --data-cache "$DATA_CACHE" --backend wgpu --out "$run" 2>&1 | tail -3)
fi
