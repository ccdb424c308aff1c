#include <xxhash.h>

/* XXH3-64 through libxxhash's run-time dispatch where the library has it (x86-64: the widest vector
   unit the CPU offers, AVX2 or AVX-512, instead of the SSE2 baseline it was compiled for). The hash
   value is the same either way. */
#if defined(__x86_64__)
#include <xxh_x86dispatch.h>
static inline XXH64_hash_t xxh3_64_fastest(const void *input, size_t length) {
    return XXH3_64bits_dispatch(input, length);
}
static inline XXH64_hash_t xxh3_64_fastest_seeded(const void *input, size_t length, XXH64_hash_t seed) {
    return XXH3_64bits_withSeed_dispatch(input, length, seed);
}
#else
static inline XXH64_hash_t xxh3_64_fastest(const void *input, size_t length) {
    return XXH3_64bits(input, length);
}
static inline XXH64_hash_t xxh3_64_fastest_seeded(const void *input, size_t length, XXH64_hash_t seed) {
    return XXH3_64bits_withSeed(input, length, seed);
}
#endif
