#!/usr/bin/env bash
# `make demo`: the main pipeline on an input the project generates (perl is on every Debian machine).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
OUT=demo-out
mkdir -p "$OUT"
run() { echo; echo "\$ $*"; "$@"; }

echo "== a small LLaMA-shaped checkpoint of Gaussian weights, in F32 and BF16"
perl examples/make-checkpoint.pl --dtype F32 --layers 2 --dim 128 --ffn 344 --vocab 512 "$OUT/tiny-f32.safetensors"
perl examples/make-checkpoint.pl --dtype BF16 --layers 2 --dim 128 --ffn 344 --vocab 512 "$OUT/tiny-bf16.safetensors"

run "$BIN/mstat" --no-metadata "$OUT/tiny-bf16.safetensors"
echo
echo "== exponent entropy and the ideal exponent-coded size (the bound nzip is measured against)"
run "$BIN/mstat" stats "$OUT/tiny-bf16.safetensors"
echo
echo "== the same generator and seed in two dtypes: how much BF16 rounding costs"
run "$BIN/mstat" diff "$OUT/tiny-f32.safetensors" "$OUT/tiny-bf16.safetensors"
echo
echo "== from a pipe"
echo "\$ cat $OUT/tiny-bf16.safetensors | $BIN/mstat stats --json - | head -c 300"
json=$(cat "$OUT/tiny-bf16.safetensors" | "$BIN/mstat" stats --json -)
echo "${json:0:300}..."
