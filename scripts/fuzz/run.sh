#!/usr/bin/env bash
# Hostile inputs made from real alerts, through `stampseq classify` with every kind of model.
#   scripts/fuzz/run.sh STAMPSEQ_BINARY OUTDIR [SEED]
# Needs Python with fastavro, numpy and astropy (pip install fastavro numpy astropy) and the
# shared data ($STAMPSEQ_DATA, by default ../shared/data). Each set is one folder: ZTF alerts
# with hostile values (NaN, inf, huge, nulls, odd or broken stamps, 2,000-entry histories,
# odd ids), LSST v10 alerts likewise, and byte-level damage (flips, cuts, splices) to Avro,
# framed and Parquet files of both surveys. A run fails when the binary panics or exits
# other than 0, or an answer has a time or probability that is not a finite number; bad
# alerts are expected to be named in warnings and skipped.
set -uo pipefail
bin=$1 out=$2 seed=${3:-1}
here=$(cd "$(dirname "$0")" && pwd)
data=${STAMPSEQ_DATA:-$here/../../../shared/data}
models=$here/../../assets/models
py=${PYTHON:-python3}
mkdir -p "$out/answers"
"$py" "$here/ztf.py" "$out/ztf" 400 "$seed" || exit 1
"$py" "$here/lsst.py" "$out/lsst" 250 "$seed" || exit 1
"$py" "$here/bytes.py" "$out/bytes" 300 "$seed" || exit 1
failed=0
for set in ztf lsst bytes; do
    for opts in "" "--model $models/tsc-gru-real.stampseq" "--model $models/enhanced-real.stampseq" \
        "--model $models/tsc-transformer-real.stampseq" "--model $models/default-trees.stampseq" \
        "--causal" "--no-rules --max-detections 2"; do
        tag=$set$(echo "$opts" | sed 's#.*/##; s/[^a-z0-9-]/_/g')
        "$bin" classify "$out/$set" $opts --lsst-schemas "$data/lsst/lsst-alert-packet/schema" \
            > "$out/answers/$tag.csv" 2> "$out/answers/$tag.err"
        rc=$?
        panics=$(grep -c "panicked" "$out/answers/$tag.err")
        # Columns 4 (jd or mjd) and the probabilities: none may be NaN or inf.
        bad=$(awk -F, 'NR > 1 { for (i = 4; i <= NF; i++) if ($i ~ /^-?(NaN|nan|inf)$/) { n++; break } } END { print n + 0 }' "$out/answers/$tag.csv")
        rows=$(($(wc -l < "$out/answers/$tag.csv") - 1))
        warnings=$(grep -c "^warning\|^skipped" "$out/answers/$tag.err")
        echo "$tag: exit $rc, $rows answers, $warnings warnings or skips, $panics panics, $bad non-finite"
        if [ "$rc" -ne 0 ] || [ "$panics" -ne 0 ] || [ "$bad" -ne 0 ]; then failed=1; fi
    done
done
exit $failed
