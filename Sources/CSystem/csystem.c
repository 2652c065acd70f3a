#define _GNU_SOURCE
#include <sched.h>
#include <unistd.h>
#include "csystem.h"

int sf_available_cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
    return CPU_COUNT(&set);
}

long sf_copy_file_range(int in_fd, long long *in_offset, int out_fd, long long *out_offset, unsigned long count) {
    off64_t in = *in_offset, out = *out_offset;
    ssize_t n = copy_file_range(in_fd, &in, out_fd, &out, count, 0);
    *in_offset = in;
    *out_offset = out;
    return (long)n;
}
