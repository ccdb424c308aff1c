#!/usr/bin/env bash
# The Ginger benchmark (make bench SECTIONS=ginger): Ginger against AdamW and the signum ablation (Ginger
# with the curvature off) on an MLP classifier (scikit-learn's 8x8 digits when installed, else generated
# clusters) and on the small byte-level language model, at Ginger's defaults and in lr and lambda sweeps
# (those at momentum 0.9, the earlier default). Curves in
# bench-out/ginger/*.tsv. Usage: bench/ginger.sh [MLP_STEPS] [LM_STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
PY=${PYTHON:-python3}
OUT=bench-out/ginger
MLP_STEPS=${1:-300}
LM_STEPS=${2:-300}
mkdir -p "$OUT"

csv=$OUT/data.csv
$PY - "$csv" <<'PYTHON'
import csv, sys
try:
    from sklearn.datasets import load_digits
    x, y = load_digits(return_X_y=True)
    names = [f"p{i}" for i in range(64)] + ["digit"]
    rows = [[int(v) for v in a] + [int(b)] for a, b in zip(x, y)]
    print("data: scikit-learn digits, 1797 rows, 64 features, 10 classes", file=sys.stderr)
except ImportError:
    import random
    random.seed(7)
    names = [f"f{i}" for i in range(32)] + ["class"]
    rows = []
    for i in range(2000):
        k = i % 10
        rows.append([round(random.gauss(1.5 if j % 10 == k else 0, 1), 4) for j in range(32)] + [k])
    print("data: generated clusters, 2000 rows, 32 features, 10 classes", file=sys.stderr)
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(names)
    w.writerows(rows)
PYTHON

# summary LOG: mean training loss over the last 20 steps, last val_loss, last val_accuracy, state, ms/step.
summary() {
    $PY -c "
import json, statistics
r = [json.loads(l) for l in open('$1')]
last = [x for x in r if 'val_loss' in x][-1]
acc = '%.1f%%' % (100 * last['val_accuracy']) if 'val_accuracy' in last else '-'
ms = 1000 * (r[-1]['seconds'] - r[0]['seconds']) / (len(r) - 1)
print('| %.4f | %.4f | %s | %d | %.2f |' % (statistics.mean(x['loss'] for x in r[-20:]), last['val_loss'], acc, r[-1]['optimizer_state_bytes'], ms))"
}

echo "## MLP classifier (hidden 128, batch 64, $MLP_STEPS steps, 1 thread)"
echo
echo "| optimizer | lr | lambda | train loss (last 20) | held-out loss | accuracy | state bytes | ms/step |"
echo "|---|---|---|---|---|---|---|---|"
mlp() {
    local name=$1; shift
    "$BIN/gingeropt" --task classify --data "$csv" --hidden 128 --batch 64 --steps "$MLP_STEPS" --eval-every 50 -T 1 -q -f \
        --log "$OUT/mlp-$name.jsonl" --tsv "$OUT/mlp-$name.tsv" -o "$OUT/mlp-$name.safetensors" "$@"
}
for lr in 1e-3 3e-3; do mlp "adamw-$lr" --optim adamw --lr $lr; echo "| AdamW | $lr | - $(summary "$OUT/mlp-adamw-$lr.jsonl")"; done
for optim in ginger signum; do mlp "$optim-defaults" --optim $optim; echo "| $optim (defaults) | 4e-4 | 1e-5 $(summary "$OUT/mlp-$optim-defaults.jsonl")"; done
for lambda in 1e-5 1e-3 1e-1 1; do
    for lr in 1e-3 1e-2; do
        scaled=$($PY -c "print('%g' % ($lr * max(1, $lambda / 1e-2)))")
        for optim in ginger signum; do
            mlp "$optim-$lambda-$scaled" --optim $optim --lambda "$lambda" --lr "$scaled" --beta1 0.9
            echo "| $optim | $scaled | $lambda $(summary "$OUT/mlp-$optim-$lambda-$scaled.jsonl")"
        done
    done
done

echo
echo "## Byte-level language model (small: 4 x 256, batch 8, ctx 128, $LM_STEPS steps, 2 threads)"
corpus=bench-out/train/corpus.txt
[ -f "$corpus" ] || cat /usr/share/common-licenses/* > "$corpus"
echo
echo "| optimizer | lr | lambda | train loss (last 20) | val loss | - | state bytes | ms/step |"
echo "|---|---|---|---|---|---|---|---|"
lm() {
    local name=$1; shift
    [ -f "$OUT/lm-$name.jsonl" ] || "$BIN/gingeropt" --config small --data "$corpus" --batch 8 --ctx 128 --steps "$LM_STEPS" --eval-every 100 -T 2 -q -f \
        --log "$OUT/lm-$name.jsonl" --tsv "$OUT/lm-$name.tsv" -o "$OUT/lm-$name.safetensors" "$@"
}
lm adamw --optim adamw --lr 1e-3; echo "| AdamW | 1e-3 | - $(summary "$OUT/lm-adamw.jsonl")"
for optim in ginger signum; do lm "$optim-defaults" --optim $optim; echo "| $optim (defaults) | 4e-4 | 1e-5 $(summary "$OUT/lm-$optim-defaults.jsonl")"; done
for entry in "1e-3:1e-3" "1e-1:1e-2" "1:1e-1"; do
    IFS=: read -r lambda lr <<< "$entry"
    for optim in ginger signum; do
        lm "$optim-$lambda" --optim $optim --lambda "$lambda" --lr "$lr" --beta1 0.9
        echo "| $optim | $lr | $lambda $(summary "$OUT/lm-$optim-$lambda.jsonl")"
    done
done
