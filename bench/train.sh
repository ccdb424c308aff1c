#!/usr/bin/env bash
# The training benchmark (make bench SECTIONS=training): floratrain's optimizers side by side on the
# Flora reference's setup (byte-level LLaMA, 4 layers, dim 256, 4 heads, batch 8, ctx 128, 2000 steps,
# seed 7) on about 0.6 MB of English documentation that Debian installs (git's release notes). Loss
# curves go to bench-out/train/*.tsv (gnuplot: plot 'adamw.tsv' using 1:3 with lines).
# Usage: bench/train.sh [STEPS]   (STEPS: 2000 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/train-lib.sh "$@"

if [ -d /usr/share/doc/git/RelNotes ]; then
    find /usr/share/doc/git/RelNotes -name '2.*.txt' | sort -V | xargs cat 2>/dev/null | head -c 600000 > "$corpus" || true
elif [ -f "$(ls /usr/lib/python3*/pydoc_data/topics.py 2>/dev/null | head -1)" ]; then
    head -c 600000 "$(ls /usr/lib/python3*/pydoc_data/topics.py | head -1)" > "$corpus"
else
    cat /usr/share/common-licenses/* > "$corpus"
fi

run adamw --optim adamw --lr 1e-3
run adafactor-momentum --optim adafactor --beta1 0.9 --lr 1e-2
run adafactor --optim adafactor --lr 1e-2
run flora-r16 --optim flora --rank 16 --kappa 100 --lr 1e-2
run flora-r8 --optim flora --rank 8 --kappa 100 --lr 1e-2
run galore-r16 --optim galore --rank 16 --lr 1e-3

echo "| optimizer | lr | val @300 | val @1000 | val @$STEPS | val vs Adafactor+momentum | train loss (last 50) | train vs Adafactor+momentum | state bytes | tokens/s |"
echo "|---|---|---|---|---|---|---|---|---|---|"
base_val=$(val "$OUT/adafactor-momentum.jsonl" "$STEPS")
base_train=$(train "$OUT/adafactor-momentum.jsonl")
for entry in "adamw:AdamW:1e-3" "adafactor-momentum:Adafactor + momentum:1e-2" "adafactor:Adafactor, no momentum:1e-2" \
             "flora-r16:Flora rank 16, kappa 100:1e-2" "flora-r8:Flora rank 8, kappa 100:1e-2" "galore-r16:GaLore rank 16:1e-3"; do
    IFS=: read -r name label lr <<< "$entry"
    log=$OUT/$name.jsonl
    last=$(val "$log" "$STEPS"); loss=$(train "$log")
    echo "| $label | $lr | $(val "$log" 300) | $(val "$log" 1000) | $last | $(gap "$last" "$base_val") | $loss | $(gap "$loss" "$base_train") | $(field "$log" optimizer_state_bytes) | $(speed "$log") |"
done
