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

say "# Benchmarks ($(date -u +%Y-%m-%d), $(nproc) cores)"
say ""
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
echo "results in $RESULTS"
