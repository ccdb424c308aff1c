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
echo "== NeuZip: lossless, through pipes, byte for byte"
echo "\$ $BIN/nzip < $OUT/tiny-bf16.safetensors | $BIN/nunzip | cmp - $OUT/tiny-bf16.safetensors"
"$BIN/nzip" < "$OUT/tiny-bf16.safetensors" | "$BIN/nunzip" | cmp - "$OUT/tiny-bf16.safetensors" && echo "identical"
run "$BIN/nzip" -f -v "$OUT/tiny-bf16.safetensors"
run "$BIN/nzip" -l "$OUT/tiny-bf16.safetensors.nz"
run "$BIN/nzip" -t -v "$OUT/tiny-bf16.safetensors.nz"
echo
echo "== NeuZip lossy (3 mantissa bits) and what it costs"
run "$BIN/nzip" -f -v --mantissa-bits 3 -o "$OUT/tiny-p3.nz" "$OUT/tiny-bf16.safetensors"
echo "\$ $BIN/nunzip -c $OUT/tiny-p3.nz | $BIN/mstat diff $OUT/tiny-bf16.safetensors - | tail -1"
"$BIN/nunzip" -c "$OUT/tiny-p3.nz" | "$BIN/mstat" diff "$OUT/tiny-bf16.safetensors" - | tail -1
echo
echo "== from a pipe"
echo "\$ cat $OUT/tiny-bf16.safetensors | $BIN/mstat stats --json - | head -c 300"
json=$(cat "$OUT/tiny-bf16.safetensors" | "$BIN/mstat" stats --json -)
echo "${json:0:300}..."
echo
echo "== train a small byte-level model on text every Debian machine has, compress it, evaluate it"
text=$OUT/licenses.txt
cat /usr/share/common-licenses/* > "$text"
echo "\$ $BIN/floratrain --dim 64 --layers 2 --heads 4 --ffn 192 --data $text --steps 150 --lr 1e-2 --optim adamw -o - | $BIN/nzip -o $OUT/tiny-lm.nz"
"$BIN/floratrain" --dim 64 --layers 2 --heads 4 --ffn 192 --data "$text" --steps 150 --lr 1e-2 --optim adamw --eval-every 50 --log "$OUT/train.jsonl" -f -o - \
    | "$BIN/nzip" -f -o "$OUT/tiny-lm.nz"
tail -1 "$OUT/train.jsonl"
run "$BIN/nzip" -l "$OUT/tiny-lm.nz"
run "$BIN/mstat" ppl --ctx 128 --max-windows 8 --text /usr/share/common-licenses/GPL-3 "$OUT/tiny-lm.nz"
echo
echo "== quantize it to 4 bits in groups of 64 (GPTQ, a GPTQ-convention checkpoint) with a short InvarExplore search"
run "$BIN/invarq" --type w4g64 --calib "$text" --ctx 128 --search 20 --log "$OUT/search.jsonl" -v -f -o "$OUT/tiny-lm-w4g64.safetensors" "$OUT/tiny-lm.nz"
run "$BIN/mstat" ppl --ctx 128 --max-windows 8 --text /usr/share/common-licenses/GPL-3 "$OUT/tiny-lm-w4g64.safetensors"
echo
echo "== Ginger (its defaults) against AdamW (lr 1e-3) and the signum ablation on an MLP classifier"
echo "\$ examples/ginger-vs-adamw.sh"
OUT="$OUT/ginger" BIN="$BIN" bash examples/ginger-vs-adamw.sh
