/* Linux calls Swift's Glibc module does not export (they need _GNU_SOURCE). */

/* The number of CPUs this process may run on (its affinity mask: what SLURM, taskset or a
   container grant), or 0 when it cannot be read. */
int sf_available_cpus(void);

/* copy_file_range(2): copies `count` bytes between two file descriptors inside the kernel,
   from and to the given offsets (advanced by the bytes copied). Returns the bytes copied, or
   -1 with errno set. */
long sf_copy_file_range(int in_fd, long long *in_offset, int out_fd, long long *out_offset, unsigned long count);
