#include <oneapi/dnnl/dnnl.h>

/* Debian's oneDNN runs on OpenMP (libgomp): the number of threads its primitives use is the
   calling thread's OpenMP setting. Declared here rather than through <omp.h>, which lives in
   GCC's private include directory. */
void omp_set_num_threads(int);

/* Macros Swift cannot import (casts, aliases), as functions. */
static inline void *sf_dnnl_allocate(void) { return DNNL_MEMORY_ALLOCATE; }
static inline int sf_dnnl_arg_src(void) { return DNNL_ARG_SRC; }
static inline int sf_dnnl_arg_dst(void) { return DNNL_ARG_DST; }
static inline int sf_dnnl_arg_weights(void) { return DNNL_ARG_WEIGHTS; }
static inline int sf_dnnl_arg_bias(void) { return DNNL_ARG_BIAS; }
static inline int sf_dnnl_arg_diff_src(void) { return DNNL_ARG_DIFF_SRC; }
static inline int sf_dnnl_arg_diff_dst(void) { return DNNL_ARG_DIFF_DST; }
static inline int sf_dnnl_arg_diff_weights(void) { return DNNL_ARG_DIFF_WEIGHTS; }
static inline int sf_dnnl_arg_diff_bias(void) { return DNNL_ARG_DIFF_BIAS; }
static inline int sf_dnnl_arg_from(void) { return DNNL_ARG_FROM; }
static inline int sf_dnnl_arg_to(void) { return DNNL_ARG_TO; }
static inline int sf_dnnl_arg_scratchpad(void) { return DNNL_ARG_SCRATCHPAD; }
