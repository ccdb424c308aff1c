/* Cache hints that Swift has no spelling for. */

/* Asks for the cache line holding `address` to be brought into the L2 cache (and the levels above it)
   for reading, without waiting for it: the loop that issues it keeps running. */
static inline void cache_prefetch_l2(const void *address) { __builtin_prefetch(address, 0, 2); }

/* Asks for the cache line holding `address` to be brought into the L1 cache for reading, without waiting. */
static inline void cache_prefetch_l1(const void *address) { __builtin_prefetch(address, 0, 3); }
