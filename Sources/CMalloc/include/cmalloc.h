#include <malloc.h>

/* glibc's malloc_trim, which Swift's Glibc module does not export: gives memory freed into
   malloc's heap back to the system (after a phase that allocated a lot, such as training). */
static inline int sf_malloc_trim(void) { return malloc_trim(0); }

/* Serve allocations of `bytes` and more with their own mappings, returned to the system when
   freed. glibc otherwise raises this threshold after the first large free (up to 32 MiB), so
   buffers of a finished phase stay resident in the heap. */
static inline int sf_malloc_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }
