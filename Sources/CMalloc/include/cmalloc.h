#include <malloc.h>

/* glibc's malloc_trim, which Swift's Glibc module does not export: gives memory freed into
   malloc's heap back to the system (after a phase that allocated a lot, such as training). */
static inline int sf_malloc_trim(void) { return malloc_trim(0); }
