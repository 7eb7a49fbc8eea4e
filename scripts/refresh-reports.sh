#!/usr/bin/env bash
# Copies the benchmark table (assets/benchmark/results/table.md, written by
# `stampseq benchmark`) into the README and every bundled model's report, between the
# markers <!-- benchmark:start --> and <!-- benchmark:end -->.
set -euo pipefail
cd "$(dirname "$0")/.."
table=assets/benchmark/results/table.md
[ -f "$table" ] || { echo "no $table: run stampseq benchmark first" >&2; exit 1; }
for doc in README.md assets/models/*.md; do
    grep -q '<!-- benchmark:start -->' "$doc" || continue
    tmp=$(mktemp)
    awk -v table="$table" '
        /<!-- benchmark:start -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
        /<!-- benchmark:end -->/ { skip = 0 }
        !skip { print }
    ' "$doc" > "$tmp"
    mv "$tmp" "$doc"
done
