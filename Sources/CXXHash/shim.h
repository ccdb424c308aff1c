#include <xxhash.h>

/* XXH3-64 through libxxhash's run-time dispatch where the library has it (x86-64: the widest vector
   unit the CPU offers, AVX2 or AVX-512, instead of the SSE2 baseline it was compiled for). The hash
   value is the same either way. */
#if defined(__x86_64__)
#include <xxh_x86dispatch.h>
#include <immintrin.h>

/* The library's AVX2/AVX-512 code returns without VZEROUPPER. Until something clears the upper halves
   of the vector registers, every legacy-SSE instruction the caller runs (Swift's baseline float and
   SIMD code: entropy estimates, plane splitting and merging) waits on them: measured here, a 256-entry
   entropy sum took 45 us after a hash instead of 1.9 us. So the state is cleared after each call. */
__attribute__((target("avx"))) static inline void xxh3_clear_upper_state(void) { _mm256_zeroupper(); }

static inline XXH64_hash_t xxh3_64_fastest(const void *input, size_t length) {
    XXH64_hash_t hash = XXH3_64bits_dispatch(input, length);
    if (__builtin_cpu_supports("avx")) xxh3_clear_upper_state();
    return hash;
}
static inline XXH64_hash_t xxh3_64_fastest_seeded(const void *input, size_t length, XXH64_hash_t seed) {
    XXH64_hash_t hash = XXH3_64bits_withSeed_dispatch(input, length, seed);
    if (__builtin_cpu_supports("avx")) xxh3_clear_upper_state();
    return hash;
}
/* XXH3-64 over data that arrives in pieces: the same hash as one call over their concatenation. */
static inline void xxh3_stream_update(XXH3_state_t *state, const void *input, size_t length) {
    XXH3_64bits_update_dispatch(state, input, length);
    if (__builtin_cpu_supports("avx")) xxh3_clear_upper_state();
}
#else
static inline void xxh3_stream_update(XXH3_state_t *state, const void *input, size_t length) {
    XXH3_64bits_update(state, input, length);
}
static inline XXH64_hash_t xxh3_64_fastest(const void *input, size_t length) {
    return XXH3_64bits(input, length);
}
static inline XXH64_hash_t xxh3_64_fastest_seeded(const void *input, size_t length, XXH64_hash_t seed) {
    return XXH3_64bits_withSeed(input, length, seed);
}
#endif
