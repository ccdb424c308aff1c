#!/usr/bin/env bash
# Ginger at its defaults against AdamW at lr 1e-3 and against the signum ablation (Ginger without the
# curvature), on an MLP classifier: a CSV of numeric features and a label column (by default a generated
# one: ten Gaussian clusters in 32 features), 20% held out. Loss curves as TSV for gnuplot.
# Usage: examples/ginger-vs-adamw.sh [CSV] [STEPS]
set -euo pipefail
BIN=${BIN:-.build/release}
OUT=${OUT:-ginger-out}
STEPS=${2:-300}
mkdir -p "$OUT"
CSV=${1:-$OUT/clusters.csv}
if [ $# -lt 1 ]; then
    awk 'BEGIN {
        srand(7); header = ""
        for (j = 0; j < 32; j++) header = header "f" j ","
        print header "class"
        for (i = 0; i < 2000; i++) {
            k = i % 10; line = ""
            for (j = 0; j < 32; j++) {
                g = sqrt(-2 * log(1 - rand())) * cos(6.283185307 * rand())
                line = line sprintf("%.4f,", g + (j % 10 == k ? 3 : 0))
            }
            print line k
        }
    }' > "$CSV"
fi
for optim in ginger signum adamw; do
    "$BIN/gingeropt" --task classify --data "$CSV" --hidden 128 --batch 64 --steps "$STEPS" --eval-every 50 -q -f \
        --optim "$optim" --log "$OUT/$optim.jsonl" --tsv "$OUT/$optim.tsv" -o "$OUT/$optim.safetensors"
    # Mean training loss over the last 20 steps (one step's loss is noisy), then the held-out figures.
    loss=$(tail -n 20 "$OUT/$optim.tsv" | awk '{ total += $2 } END { printf "%.4f", total / NR }')
    last=$(tail -1 "$OUT/$optim.jsonl")
    held=$(echo "$last" | sed -n 's/.*"val_loss":\([0-9.e-]*\).*/\1/p')
    accuracy=$(echo "$last" | sed -n 's/.*"val_accuracy":\([0-9.e-]*\).*/\1/p')
    echo "$optim (its default lr): training loss $loss (mean of the last 20 steps), held-out loss $held, accuracy $accuracy"
done
echo "loss curves: gnuplot -e \"plot for [o in 'ginger signum adamw'] '$OUT/'.o.'.tsv' using 1:2 with lines title o; pause -1\""
