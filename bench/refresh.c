/* refresh.c: CPU time of gpuctl_refresh() passes on a machine tree, for bench/refresh.sh.
 *
 *   bench_refresh SYSFS PROCFS PASSES   (NVML as the environment chooses)
 * prints two lines, for the incremental passes and for the full ones (every 10th pass asks about
 * every fd again, see src/device/fdset.h):
 *   kind=incremental devices=N gpus=G passes=P median_us=.. p25_us=.. p75_us=.. p95_us=.. min_us=..
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <gpuctl/gpuctl.h>

static double cpu_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void report(const char *kind, const struct gpuctl *g, double *t, int n)
{
    qsort(t, (size_t)n, sizeof(*t), by_value);
    printf("kind=%s devices=%zu gpus=%zu passes=%d median_us=%.1f p25_us=%.1f p75_us=%.1f "
           "p95_us=%.1f min_us=%.1f\n",
           kind, gpuctl_device_count(g), gpuctl_gpu_count(g), n, t[n / 2], t[n / 4], t[n * 3 / 4],
           t[n * 95 / 100], t[0]);
}

int main(int argc, char **argv)
{
    struct gpuctl_options opts = {0};
    struct gpuctl *g;
    int passes = argc > 3 ? atoi(argv[3]) : 1000, nfull = 0, ninc = 0;
    double *full, *inc;

    if (argc < 3 || passes < 1) {
        fprintf(stderr, "usage: bench_refresh SYSFS PROCFS [PASSES]\n");
        return 2;
    }
    opts.sysfs_root = argv[1];
    opts.procfs_root = argv[2];
    full = calloc((size_t)passes, sizeof(*full));
    inc = calloc((size_t)passes, sizeof(*inc));
    if (!full || !inc || gpuctl_new(&opts, &g) != 0) /* gpuctl_new is pass 0, a full one */
        return 1;
    for (int i = 1; i <= 20; i++) /* warm the page cache and the allocator */
        gpuctl_refresh(g);
    for (int i = 21; i < 21 + passes; i++) {
        double t0 = cpu_us(), spent;
        if (gpuctl_refresh(g) != 0)
            return 1;
        spent = cpu_us() - t0;
        if (i % 10 == 0)
            full[nfull++] = spent;
        else
            inc[ninc++] = spent;
    }
    report("incremental", g, inc, ninc);
    report("full", g, full, nfull);
    gpuctl_free(g);
    free(full);
    free(inc);
    return 0;
}
