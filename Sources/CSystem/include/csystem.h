/* Linux calls Swift's Glibc module does not export (they need _GNU_SOURCE). */

/* The number of CPUs this process may run on (its affinity mask: what SLURM, taskset or a
   container grant), or 0 when it cannot be read. */
int sf_available_cpus(void);
