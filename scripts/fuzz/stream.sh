#!/usr/bin/env bash
# The hostile inputs of run.sh through a real broker: every file of OUTDIR's sets as one
# Kafka message, one consumer with the default answers reading them to the end.
#   scripts/fuzz/stream.sh STAMPSEQ_BINARY TANSU_BINARY OUTDIR
# (OUTDIR as run.sh left it; Parquet files, a broker's copies, are not sent.) Fails when
# the consumer panics or exits other than 0, or an answer has a time or probability that is
# not finite; messages that cannot be read are to go to the dead letters.
set -uo pipefail
bin=$1 tansu=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
data=${STAMPSEQ_DATA:-$here/../../../shared/data}
schemas=$data/lsst/lsst-alert-packet/schema
port=${FUZZ_PORT:-19092}
work=$out/stream
rm -rf "$work" && mkdir -p "$work"
"$tansu" broker --listener-url tcp://127.0.0.1:$port --advertised-listener-url tcp://127.0.0.1:$port \
    --storage-engine memory://tansu/ > "$work/broker.log" 2>&1 &
broker=$!
trap 'kill $broker 2>/dev/null' EXIT
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
"$tansu" topic create --broker tcp://127.0.0.1:$port --partitions 2 fuzz > /dev/null || exit 1
sent=0
for set in ztf lsst bytes; do
    find "$out/$set" -type f ! -name ops.txt -print0 | xargs -0 "$bin" produce --brokers 127.0.0.1:$port \
        --topic fuzz -X batch.num.messages=1 --lsst-schemas "$schemas" > "$work/produce-$set.log" 2>&1 \
        || { echo "produce $set failed"; tail -3 "$work/produce-$set.log"; exit 1; }
    n=$(sed -n 's/^sent \([0-9]*\) messages.*/\1/p' "$work/produce-$set.log")
    sent=$((sent + ${n:-0}))
done
"$bin" stream --brokers 127.0.0.1:$port --topic fuzz --group fuzz --from-beginning --until-caught-up \
    --out "$work/answers" --dead-letter-dir "$work/dead" --state-dir "$work/state" \
    --lsst-schemas "$schemas" > "$work/stream.out" 2> "$work/stream.err"
rc=$?
panics=$(grep -c "panicked" "$work/stream.err")
rows=$(cat "$work"/answers/*.csv 2>/dev/null | grep -vc "^survey,\|^objectId,")
bad=$(cat "$work"/answers/*.csv 2>/dev/null | awk -F, '{ for (i = 1; i <= NF; i++) if ($i ~ /^-?(NaN|nan|inf)$/) { n++; break } } END { print n + 0 }')
dead=$(find "$work/dead" -name '*.bin' 2>/dev/null | wc -l)
echo "sent $sent messages; consumer exit $rc, $rows answers, $dead dead letters, $panics panics, $bad non-finite"
tail -2 "$work/stream.err"
[ "$rc" -eq 0 ] && [ "$panics" -eq 0 ] && [ "$bad" -eq 0 ]
