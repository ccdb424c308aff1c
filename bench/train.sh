#!/usr/bin/env bash
# The training benchmark (make bench SECTIONS=training): floratrain's optimizers side by side on the
# Flora reference's setup (byte-level LLaMA, 4 layers, dim 256, 4 heads, batch 8, ctx 128, 2000 steps,
# seed 7) on about 0.6 MB of English documentation that Debian installs (git's release notes), then a
# sweep beyond the reference, accumulation in fine-tuning, and speed against PyTorch. Loss curves go to
# bench-out/train/*.tsv (gnuplot: plot 'adamw.tsv' using 1:3 with lines).
# Usage: bench/train.sh [STEPS]   (STEPS: 2000 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
PY=${PYTHON:-python3}
OUT=bench-out/train
STEPS=${1:-2000}
mkdir -p "$OUT"

corpus=$OUT/corpus.txt
if [ -d /usr/share/doc/git/RelNotes ]; then
    find /usr/share/doc/git/RelNotes -name '2.*.txt' | sort -V | xargs cat | head -c 600000 > "$corpus" || true
elif [ -f "$(ls /usr/lib/python3*/pydoc_data/topics.py 2>/dev/null | head -1)" ]; then
    head -c 600000 "$(ls /usr/lib/python3*/pydoc_data/topics.py | head -1)" > "$corpus"
else
    cat /usr/share/common-licenses/* > "$corpus"
fi
common=(--config small --data "$corpus" --steps "$STEPS" --batch 8 --ctx 128 --seed 7 --eval-every 100 -T 2 -q -f)

# run NAME FLAGS...: trains, keeps the JSON log and the TSV curve.
run() {
    local name=$1; shift
    [ -f "$OUT/$name.jsonl" ] && [ "$(wc -l < "$OUT/$name.jsonl")" -ge "$STEPS" ] && return 0
    "$BIN/floratrain" "${common[@]}" "$@" --log "$OUT/$name.jsonl" --tsv "$OUT/$name.tsv" -o "$OUT/$name.safetensors"
}

# val NAME STEP: the validation loss logged at STEP.
val() { $PY -c "import json,sys; print(next((f\"{json.loads(l)['val_loss']:.3f}\" for l in open('$OUT/$1.jsonl') if json.loads(l)['step'] == $2 and 'val_loss' in json.loads(l)), '-'))"; }
field() { $PY -c "import json; r = [json.loads(l) for l in open('$OUT/$1.jsonl')]; print(r[-1]['$2'])"; }
speed() { $PY -c "import json, statistics; r = [json.loads(l) for l in open('$OUT/$1.jsonl')]; print('%.0f' % statistics.median(x['tokens_per_s'] for x in r[5:]))"; }

run adamw --optim adamw --lr 1e-3
run adafactor-momentum --optim adafactor --beta1 0.9 --lr 1e-2
run adafactor --optim adafactor --lr 1e-2
run flora-r16 --optim flora --rank 16 --kappa 100 --lr 1e-2
run flora-r8 --optim flora --rank 8 --kappa 100 --lr 1e-2
run galore-r16 --optim galore --rank 16 --lr 1e-3

echo "| optimizer | lr | val @300 | val @1000 | val @$STEPS | vs Adafactor+momentum | state bytes | tokens/s |"
echo "|---|---|---|---|---|---|---|---|"
base=$(val adafactor-momentum "$STEPS")
for entry in "adamw:AdamW:1e-3" "adafactor-momentum:Adafactor + momentum:1e-2" "adafactor:Adafactor, no momentum:1e-2" \
             "flora-r16:Flora rank 16, kappa 100:1e-2" "flora-r8:Flora rank 8, kappa 100:1e-2" "galore-r16:GaLore rank 16:1e-3"; do
    IFS=: read -r name label lr <<< "$entry"
    last=$(val "$name" "$STEPS")
    gap=$($PY -c "print('%+.1f%%' % (100 * ($last / $base - 1)))" 2>/dev/null || echo -)
    echo "| $label | $lr | $(val "$name" 300) | $(val "$name" 1000) | $last | $gap | $(field "$name" optimizer_state_bytes) | $(speed "$name") |"
done
