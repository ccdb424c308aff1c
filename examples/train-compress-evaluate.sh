#!/usr/bin/env bash
# A pipeline that trains a byte-level model with Flora, compresses it, and evaluates it, next to the
# same run with AdamW: what the compressed optimizer state costs in quality and saves in memory.
# Usage: examples/train-compress-evaluate.sh [TEXT] [STEPS]
set -euo pipefail
BIN=${BIN:-.build/release}
TEXT=${1:-/usr/share/common-licenses/GPL-3}
STEPS=${2:-300}
OUT=${OUT:-train-out}
mkdir -p "$OUT"
for optim in adamw flora; do
    lr=1e-2; [ "$optim" = adamw ] && lr=1e-3
    "$BIN/floratrain" --config small --data "$TEXT" --steps "$STEPS" --optim "$optim" --lr "$lr" \
        --log "$OUT/$optim.jsonl" --tsv "$OUT/$optim.tsv" -f -o - | "$BIN/nzip" -f -o "$OUT/$optim.nz"
    state=$(tail -1 "$OUT/$optim.jsonl" | sed 's/.*"optimizer_state_bytes":\([0-9]*\).*/\1/')
    ppl=$("$BIN/mstat" ppl --json --ctx 128 --max-windows 8 --text "$TEXT" "$OUT/$optim.nz" | sed 's/.*"ppl":\([0-9.]*\).*/\1/')
    echo "$optim: optimizer state $state bytes, perplexity $ppl, model $(stat -c %s "$OUT/$optim.nz") bytes compressed"
done
echo "loss curves: gnuplot -e \"plot '$OUT/adamw.tsv' using 1:2 with lines, '$OUT/flora.tsv' using 1:2 with lines; pause -1\""
