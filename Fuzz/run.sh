#!/usr/bin/env bash
# Builds the libFuzzer targets (address sanitizer on) and either runs each for FUZZ_SECONDS, or, with
# --replay, runs every seed and every saved regression input once (part of `make test`).
#
#   Fuzz/run.sh [--replay] [TARGET...]      FUZZ_SECONDS (default 60), FUZZ_JOBS (default 2)
# Findings are written to Fuzz/artifacts/; each becomes a fixed bug plus an input in
# Tests/CheckpointTests/FuzzRegressions/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="/opt/swift/usr/bin:$PATH"
replay=false
if [ "${1:-}" = "--replay" ]; then replay=true; shift; fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz-safetensors fuzz-gguf fuzz-shard-index fuzz-nz fuzz-entropy)
flags=(-c release --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld)
# SwiftPM does not notice files added to a path dependency when its build manifest exists: start over.
rm -f .build-fuzz/release.yaml
for target in "${targets[@]}"; do
    if ! swift build "${flags[@]}" --product "$target" > ".build-fuzz-$target.build.log" 2>&1; then
        grep -E "error" ".build-fuzz-$target.build.log" | head -20 >&2
        echo "fuzz: $target did not build" >&2
        exit 1
    fi
    rm -f ".build-fuzz-$target.build.log"
done
regressions=../Tests/CheckpointTests/FuzzRegressions
if $replay; then
    for target in "${targets[@]}"; do
        inputs=(Seeds/"$target"/* )
        [ -d "$regressions/$target" ] && inputs+=("$regressions/$target"/*)
        ".build-fuzz/release/$target" -runs=1 "${inputs[@]}" > ".build-fuzz/$target-replay.log" 2>&1 \
            || { echo "fuzz replay: $target failed on a saved input:" >&2; tail -30 ".build-fuzz/$target-replay.log" >&2; exit 1; }
        echo "fuzz replay: $target: ${#inputs[@]} inputs, no finding"
    done
    exit 0
fi
seconds=${FUZZ_SECONDS:-60}
mkdir -p artifacts
run_one() {
    local target=$1 corpus=.build-fuzz/corpus/$1
    mkdir -p "$corpus"
    cp -n Seeds/"$target"/* "$corpus"/ 2>/dev/null || true
    ".build-fuzz/release/$target" "$corpus" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="artifacts/$target-" > ".build-fuzz/$target.log" 2>&1
    local status=$?
    local runs
    runs=$(grep -E "stat::number_of_executed_units" ".build-fuzz/$target.log" | awk '{print $2}')
    if [ $status -eq 0 ]; then
        echo "fuzz: $target: ${runs:-?} executions in ${seconds} s, no finding"
    elif ls artifacts/"$target"-* >/dev/null 2>&1; then
        echo "fuzz: $target: FINDING after ${runs:-?} executions (see Fuzz/.build-fuzz/$target.log and Fuzz/artifacts/)"
    else
        echo "fuzz: $target: stopped with status $status (see Fuzz/.build-fuzz/$target.log)"
    fi
    return $status
}
export -f run_one
export seconds
printf '%s\n' "${targets[@]}" | xargs -P "${FUZZ_JOBS:-2}" -I{} bash -c 'run_one {}'
