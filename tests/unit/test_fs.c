/* test_fs.c: kernel files read to their end, however the kernel hands them out: a pipe fed in
 * small pieces stands in for multi-record procfs files, which give about a page per read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <gpuctl/gpuctl.h>

#include "util/fs.h"

struct fifo {
    char dir[64];
    char path[128];
    pid_t writer;
};

/* Makes <a temporary directory>/<name> a FIFO and starts a process that writes text into it in
 * pieces of `piece` bytes, pausing between them so that each read sees one piece at most. */
static void fifo_start(struct fifo *f, const char *name, const char *text, size_t piece)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/gpuctl-fs-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
    assert_int_equal(mkfifo(f->path, 0600), 0);
    f->writer = fork();
    assert_true(f->writer >= 0);
    if (f->writer == 0) {
        struct timespec pause = {0, 20 * 1000000};
        FILE *out = fopen(f->path, "w");
        size_t len = strlen(text);
        if (!out)
            _exit(1);
        setvbuf(out, NULL, _IONBF, 0);
        for (size_t off = 0; off < len; off += piece) {
            fwrite(text + off, 1, len - off < piece ? len - off : piece, out);
            nanosleep(&pause, NULL);
        }
        fclose(out);
        _exit(0);
    }
}

/* Waits for the writer and removes the FIFO; the writer may have died of SIGPIPE if the reader
 * stopped early, which the caller's assertions catch. */
static void fifo_stop(struct fifo *f)
{
    int status;

    assert_int_equal(waitpid(f->writer, &status, 0), f->writer);
    assert_int_equal(unlink(f->path), 0);
}

static void remove_dir(const char *dir)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void read_all_reads_until_the_end(void **state)
{
    char text[1001], *got = NULL;
    size_t len = 0;
    struct fifo f;

    (void)state;
    for (size_t i = 0; i < sizeof(text) - 1; i++)
        text[i] = (char)('a' + i % 26);
    text[sizeof(text) - 1] = '\0';
    fifo_start(&f, "pieces", text, 100);
    assert_int_equal(fs_read_all(f.dir, "pieces", &got, &len), 0);
    fifo_stop(&f);
    assert_int_equal(len, 1000);
    assert_string_equal(got, text);
    free(got);
    remove_dir(f.dir);
}

/* A cpuinfo of 32 logical CPUs (16 cores), more than a page. */
static char *cpuinfo_32(void)
{
    size_t cap = 32 * 256, len = 0;
    char *text = malloc(cap);

    assert_non_null(text);
    for (int p = 0; p < 32; p++)
        len += (size_t)snprintf(text + len, cap - len,
                                "processor\t: %d\nvendor_id\t: GenuineIntel\nmodel name\t: "
                                "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz\nphysical id\t: 0\n"
                                "core id\t\t: %d\ncpu cores\t: 16\n\n",
                                p, p / 2);
    assert_true(len > 4096); /* more than one page */
    return text;
}

static void cpu_count_from_cpuinfo_in_pages(void **state)
{
    struct gpuctl_options opts = {.sysfs_root = "/nonexistent",
                                  .nvml_library = "/nonexistent/libnvidia-ml.so.1"};
    char *text = cpuinfo_32(), meminfo[160];
    const struct gpuctl_device *cpu;
    struct gpuctl *g;
    struct fifo f;
    FILE *out;

    (void)state;
    fifo_start(&f, "cpuinfo", text, 4000); /* whole records up to a page, as seq_file reads */

    snprintf(meminfo, sizeof(meminfo), "%s/meminfo", f.dir);
    out = fopen(meminfo, "w");
    assert_non_null(out);
    fputs("MemTotal:       65544112 kB\nMemAvailable:   49158084 kB\n", out);
    fclose(out);
    opts.procfs_root = f.dir;
    assert_int_equal(gpuctl_new(&opts, &g), 0);
    fifo_stop(&f);
    cpu = gpuctl_device_at(g, gpuctl_device_count(g) - 1);
    assert_int_equal(cpu->vendor, GPUCTL_VENDOR_CPU);
    assert_true(gpuctl_device_has(cpu, GPUCTL_M_CPU_THREADS));
    assert_int_equal(cpu->cpu_threads, 32);
    assert_int_equal(cpu->cpu_cores, 16);
    gpuctl_free(g);
    free(text);
    remove_dir(f.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_all_reads_until_the_end),
        cmocka_unit_test(cpu_count_from_cpuinfo_in_pages),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
