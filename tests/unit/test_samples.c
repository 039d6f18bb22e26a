/* test_samples.c: what needs two samples: per-process and per-GPU utilization from DRM engine
 * time and cycles, and Intel power from its energy counter, on copies of the fixture trees whose
 * counters move between gpuctl_new() and gpuctl_refresh(). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

struct machine {
    char dir[64];
    char sysfs[128], procfs[128];
    struct gpuctl *g;
    uint64_t opened[2]; /* CLOCK_MONOTONIC ns before and after gpuctl_new() */
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Copies a fixture machine into a temporary directory and opens it. */
static void open_copy(struct machine *m, const char *name)
{
    struct gpuctl_options opts = {.nvml_library = "/nonexistent/libnvidia-ml.so.1"};
    char cmd[512];

    snprintf(m->dir, sizeof(m->dir), "/tmp/gpuctl-samples-XXXXXX");
    assert_non_null(mkdtemp(m->dir));
    assert_int_equal(chmod(m->dir, 0755), 0);
    snprintf(m->sysfs, sizeof(m->sysfs), "%s/sysfs", m->dir);
    snprintf(m->procfs, sizeof(m->procfs), "%s/procfs", m->dir);
    snprintf(cmd, sizeof(cmd), "cp -a %s/sysfs/%s %s && cp -a %s/procfs/%s %s", FIXTURES, name,
             m->sysfs, FIXTURES, name, m->procfs);
    assert_int_equal(system(cmd), 0);
    opts.sysfs_root = m->sysfs;
    opts.procfs_root = m->procfs;
    m->opened[0] = now_ns();
    assert_int_equal(gpuctl_new(&opts, &m->g), 0);
    m->opened[1] = now_ns();
}

/* The wall time between gpuctl_new()'s pass and a refresh's, in seconds, as far as the test can
 * see it: each pass took its time somewhere inside its call. */
struct window {
    double shortest, longest;
};

static struct window refresh_timed(const struct machine *m)
{
    uint64_t before = now_ns(), after;

    assert_int_equal(gpuctl_refresh(m->g), 0);
    after = now_ns();
    return (struct window){(double)(before - m->opened[1]) / 1e9,
                           (double)(after - m->opened[0]) / 1e9};
}

/* Asserts that value is `amount` per second over some wall time in w, give or take the rounding
 * to whole units, and at most `cap`. However loaded the machine, the window holds the time the
 * passes measured, so this cannot flake. */
static void assert_rate(const char *what, unsigned value, double amount, struct window w,
                        double cap)
{
    double lo = amount / w.longest, hi = amount / w.shortest;

    lo = lo > cap ? cap : lo;
    hi = hi > cap ? cap : hi;
    if (value + 1.0 < lo || value > hi + 1.0)
        fail_msg("%s %u, expected %.1f-%.1f for a wall time of %.3f-%.3f s", what, value, lo, hi,
                 w.shortest, w.longest);
}

/* Opens the copy again, as a new gpuctl would find it after its files changed. */
static void reopen_copy(struct machine *m)
{
    struct gpuctl_options opts = {m->sysfs, m->procfs, "/nonexistent/libnvidia-ml.so.1", 0};

    gpuctl_free(m->g);
    m->opened[0] = now_ns();
    assert_int_equal(gpuctl_new(&opts, &m->g), 0);
    m->opened[1] = now_ns();
}

static void close_copy(struct machine *m)
{
    char cmd[128];

    gpuctl_free(m->g);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", m->dir);
    assert_int_equal(system(cmd), 0);
}

/* Replaces the one occurrence of `from` in the file at <root>/<rel> with `to`. */
static void edit(const char *root, const char *rel, const char *from, const char *to)
{
    char path[256], text[8192], *at;
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    at = strstr(text, from);
    if (!at)
        fail_msg("%s does not hold '%s'", path, from);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    fclose(f);
}

/* "<dir>/<name>", in a buffer of its own for each of a few calls in one statement. */
static const char *path_in(const char *dir, const char *name)
{
    static char bufs[4][256];
    static int next;
    char *out = bufs[next++ % 4];

    snprintf(out, sizeof(bufs[0]), "%s/%s", dir, name);
    return out;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, ms % 1000 * 1000000};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

static const struct gpuctl_process *find_process(const struct gpuctl_device *d, int pid)
{
    for (size_t i = 0; i < d->process_count; i++)
        if (d->processes[i].pid == pid)
            return &d->processes[i];
    fail_msg("pid %d is not on %s", pid, d->device);
    return NULL;
}

static void engine_time_over_wall_time(void **state)
{
    struct machine m;
    const struct gpuctl_device *d;
    const struct gpuctl_process *p;
    struct window w;

    (void)state;
    open_copy(&m, "rx7900xtx");
    d = gpuctl_device_at(m.g, 0);
    assert_false(find_process(d, 5001)->utilization_valid); /* one sample */
    /* 100 ms more on the gfx engine (client 57, seen through two fds) and 50 ms on compute. */
    edit(m.procfs, "5001/fdinfo/5", "drm-engine-gfx:\t125000000000 ns",
         "drm-engine-gfx:\t125100000000 ns");
    edit(m.procfs, "5001/fdinfo/6", "drm-engine-gfx:\t125000000000 ns",
         "drm-engine-gfx:\t125100000000 ns");
    edit(m.procfs, "5001/fdinfo/7", "drm-engine-compute:\t3000000000 ns",
         "drm-engine-compute:\t3050000000 ns");
    sleep_ms(250); /* so that 150 ms of engine time is well below the wall time */
    w = refresh_timed(&m);
    p = find_process(d, 5001);
    assert_true(p->utilization_valid);
    /* 150 ms busy (two clients, each rounded) over the wall time between the passes. */
    assert_rate("utilization %", p->utilization_percent, 15.0, w, 100.0);
    assert_true(find_process(d, 1888)->utilization_valid);
    assert_int_equal(find_process(d, 1888)->utilization_percent, 0); /* counters did not move */
    close_copy(&m);
}

static void cycles_over_gpu_cycles(void **state)
{
    struct machine m;
    const struct gpuctl_device *d;

    (void)state;
    open_copy(&m, "xe-igpu");
    d = gpuctl_device_at(m.g, 0);
    assert_false(gpuctl_device_has(d, GPUCTL_M_UTIL_GPU));
    /* gnome-shell: 25 M of 100 M render cycles; the inference job: 40 M compute cycles on an
     * engine class of 4 (drm-engine-capacity-ccs), 10%. */
    edit(m.procfs, "6101/fdinfo/14", "drm-cycles-rcs:\t4200000", "drm-cycles-rcs:\t29200000");
    edit(m.procfs, "6102/fdinfo/5", "drm-cycles-ccs:\t51000000", "drm-cycles-ccs:\t91000000");
    for (int pid = 6101; pid <= 6102; pid++) {
        char rel[32];
        snprintf(rel, sizeof(rel), pid == 6101 ? "%d/fdinfo/14" : "%d/fdinfo/5", pid);
        for (int k = 0; k < 5; k++) /* every engine's total is the same GPU clock */
            edit(m.procfs, rel, "\t98000000000\n", "\t98100000000\n");
    }
    assert_int_equal(gpuctl_refresh(m.g), 0);
    assert_int_equal(find_process(d, 6101)->utilization_percent, 25);
    assert_int_equal(find_process(d, 6102)->utilization_percent, 10);
    assert_true(gpuctl_device_has(d, GPUCTL_M_UTIL_GPU)); /* Intel: the clients' sum */
    assert_int_equal(d->utilization_gpu_percent, 35);
    close_copy(&m);
}

static void intel_power_from_energy(void **state)
{
    struct machine m;
    const struct gpuctl_device *d;
    struct window w;

    (void)state;
    open_copy(&m, "arc-a770");
    d = gpuctl_device_at(m.g, 0);
    assert_false(gpuctl_device_has(d, GPUCTL_M_POWER_DRAW));
    /* 20 J and 125 ms of render time over the wall time between the passes. */
    edit(m.sysfs, "devices/pci0000:00/0000:00:01.0/0000:03:00.0/hwmon/hwmon0/energy1_input",
         "1234567890", "1254567890");
    edit(m.procfs, "6001/fdinfo/5", "drm-engine-render:\t9288864723 ns",
         "drm-engine-render:\t9413864723 ns");
    sleep_ms(250);
    w = refresh_timed(&m);
    assert_true(gpuctl_device_has(d, GPUCTL_M_POWER_DRAW));
    assert_rate("power mW", d->power_draw_mw, 20e3, w, 4e9);
    assert_true(gpuctl_device_has(d, GPUCTL_M_UTIL_GPU));
    assert_rate("utilization %", d->utilization_gpu_percent, 12.5, w, 100.0);
    close_copy(&m);
}

/* A discrete GPU on xe has only the package's energy counter (energy2_input) and limit
 * (power2_max); its temperature is the package's, never the memory's. */
static void xe_discrete_power_and_temperature(void **state)
{
    static const char hwmon[] = "devices/pci0000:00/0000:00:01.0/0000:03:00.0/hwmon/hwmon0";
    struct machine m;
    const struct gpuctl_device *d;
    struct window w;
    char path[256];

    (void)state;
    open_copy(&m, "xe-dgpu");
    d = gpuctl_device_at(m.g, 0);
    edit(m.sysfs, path_in(hwmon, "energy2_input"), "3412345678", "3442345678"); /* 30 J */
    sleep_ms(250);
    w = refresh_timed(&m);
    assert_true(gpuctl_device_has(d, GPUCTL_M_POWER_DRAW));
    assert_rate("power mW", d->power_draw_mw, 30e3, w, 4e9);
    assert_int_equal(d->power_limit_mw, 190000);
    /* Without the package sensor the memory's "vram" is not taken for the GPU's. */
    snprintf(path, sizeof(path), "%s/%s/temp2_input", m.sysfs, hwmon);
    assert_int_equal(unlink(path), 0);
    reopen_copy(&m);
    assert_false(gpuctl_device_has(gpuctl_device_at(m.g, 0), GPUCTL_M_TEMPERATURE));
    close_copy(&m);
}

static void clients_that_come_go_or_go_back(void **state)
{
    struct machine m;
    const struct gpuctl_device *d;
    char cmd[512];

    (void)state;
    open_copy(&m, "rx7900xtx");

    d = gpuctl_device_at(m.g, 0);
    /* Xorg exits and a new process starts; a counter that goes back is a new client under an
     * old id. New clients count from the next refresh on. */
    snprintf(cmd, sizeof(cmd), "cp -a %s/1888 %s/1999 && rm -rf %s/1888", m.procfs, m.procfs,
             m.procfs);
    assert_int_equal(system(cmd), 0);
    edit(m.procfs, "5001/fdinfo/7", "drm-engine-compute:\t3000000000 ns",
         "drm-engine-compute:\t1000 ns");
    assert_int_equal(gpuctl_refresh(m.g), 0);
    assert_int_equal(d->process_count, 2);
    assert_false(find_process(d, 1999)->utilization_valid);
    assert_true(find_process(d, 5001)->utilization_valid); /* client 57 only */
    assert_int_equal(find_process(d, 5001)->utilization_percent, 0);
    close_copy(&m);
}

/* An fd number that a process closes and reuses for a GPU between two passes looks unchanged to
 * procfs: it is found at the next full pass, every 10th. */
static void a_reused_fd_number_is_found_within_ten_passes(void **state)
{
    struct machine m;
    const struct gpuctl_device *d;
    char link[256], info[256];
    int passes = 0;
    FILE *f;

    (void)state;
    open_copy(&m, "rx7900xtx");
    d = gpuctl_device_at(m.g, 0);
    assert_int_equal(d->process_count, 2);
    /* sleep(7000) closes fd 3 (a socket) and opens the GPU under the same number. */
    snprintf(link, sizeof(link), "%s/7000/fd/3", m.procfs);
    snprintf(info, sizeof(info), "%s/7000/fdinfo/3", m.procfs);
    assert_int_equal(unlink(link), 0);
    assert_int_equal(symlink("/dev/dri/renderD128", link), 0);
    f = fopen(info, "w");
    assert_non_null(f);
    fputs("pos:\t0\ndrm-driver:\tamdgpu\ndrm-client-id:\t99\ndrm-pdev:\t0000:03:00.0\n"
          "drm-memory-vram:\t1024 KiB\n",
          f);
    fclose(f);
    while (d->process_count == 2 && passes < 20) {
        assert_int_equal(gpuctl_refresh(m.g), 0);
        passes++;
    }
    assert_int_equal(d->process_count, 3);
    assert_int_equal(passes, 10); /* gpuctl_new was pass 0 (full); refresh 10 is pass 10 */
    close_copy(&m);
}

/* Numbers too big for their field read as unknown, not cut to 32 bits: on an Arc A770 a fan at
 * 10^11 RPM, a 2^64 µW limit, a 2^32 + 1 MHz clock, and 20 MJ in a quarter second (µJ times
 * 10^6 leaves 64 bits: the power is worked out in double, then found out of range). */
static void intel_out_of_range_values_read_as_null(void **state)
{
    static const char dev[] = "devices/pci0000:00/0000:00:01.0/0000:03:00.0";
    char hwmon[128], card[128];
    struct machine m;
    const struct gpuctl_device *d;

    (void)state;
    snprintf(hwmon, sizeof(hwmon), "%s/hwmon/hwmon0", dev);
    snprintf(card, sizeof(card), "%s/drm/card0", dev);
    open_copy(&m, "arc-a770");
    d = gpuctl_device_at(m.g, 0);
    assert_true(gpuctl_device_has(d, GPUCTL_M_FAN_RPM));
    edit(m.sysfs, path_in(hwmon, "fan1_input"), "1300", "99999999999");
    edit(m.sysfs, path_in(hwmon, "power1_max"), "190000000", "18446744073709551615");
    edit(m.sysfs, path_in(hwmon, "energy1_input"), "1234567890", "20001234567890");
    edit(m.sysfs, path_in(card, "gt_act_freq_mhz"), "2350", "4294967297");
    sleep_ms(250);
    assert_int_equal(gpuctl_refresh(m.g), 0);
    assert_false(gpuctl_device_has(d, GPUCTL_M_FAN_RPM));
    assert_false(gpuctl_device_has(d, GPUCTL_M_POWER_LIMIT));
    assert_false(gpuctl_device_has(d, GPUCTL_M_POWER_DRAW));
    assert_false(gpuctl_device_has(d, GPUCTL_M_CLOCK_SM));
    close_copy(&m);
}

/* AMD power: a 0 W cap says the die owns no power sensor, so whatever it reads is no power of its
 * own; without a cap file (APUs hide it) any reading stands, 0 W included. */
static void amd_power_by_its_cap(void **state)
{
    struct machine m;
    const struct gpuctl_device *d;

    (void)state;
    open_copy(&m, "mi250x");
    edit(m.sysfs, "devices/pci0000:00/0000:c5:01.1/0000:c6:00.0/hwmon/hwmon1/power1_average", "0",
         "50000000");
    assert_int_equal(gpuctl_refresh(m.g), 0);
    d = gpuctl_device_at(m.g, 1);
    assert_false(gpuctl_device_has(d, GPUCTL_M_POWER_DRAW));
    assert_false(gpuctl_device_has(d, GPUCTL_M_POWER_LIMIT));
    close_copy(&m);

    open_copy(&m, "apu-780m");
    d = gpuctl_device_at(m.g, 0);
    assert_true(gpuctl_device_has(d, GPUCTL_M_POWER_DRAW));
    assert_int_equal(d->power_draw_mw, 9000);
    assert_false(gpuctl_device_has(d, GPUCTL_M_POWER_LIMIT)); /* no cap file */
    edit(m.sysfs, "devices/pci0000:00/0000:00:08.1/0000:c4:00.0/hwmon/hwmon0/power1_input",
         "9000000", "0");
    assert_int_equal(gpuctl_refresh(m.g), 0);
    assert_true(gpuctl_device_has(d, GPUCTL_M_POWER_DRAW));
    assert_int_equal(d->power_draw_mw, 0);
    close_copy(&m);
}

/* Gives process 7000 of a copy of rx7900xtx a new GPU fd whose fdinfo is a client followed by
 * `pad` bytes of lines gpuctl ignores. */
static void add_padded_client(const struct machine *m, size_t pad)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/7000/fd/9", m->procfs);
    assert_int_equal(symlink("/dev/dri/renderD128", path), 0);
    snprintf(path, sizeof(path), "%s/7000/fdinfo/9", m->procfs);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("pos:\t0\ndrm-driver:\tamdgpu\ndrm-client-id:\t99\ndrm-pdev:\t0000:03:00.0\n", f);
    for (size_t i = 0; i < pad / 16; i++)
        fprintf(f, "amd-pad-%06zu:\n", i);
    fclose(f);
}

/* fdinfo is read whole up to 64 KiB; a longer one is no client gpuctl understands. */
static void an_fdinfo_over_64_kib_is_left_out(void **state)
{
    struct machine m;

    (void)state;
    open_copy(&m, "rx7900xtx");
    add_padded_client(&m, 60 * 1024);
    assert_int_equal(gpuctl_refresh(m.g), 0);
    assert_int_equal(gpuctl_device_at(m.g, 0)->process_count, 3);
    close_copy(&m);

    open_copy(&m, "rx7900xtx");
    add_padded_client(&m, 70 * 1024);
    assert_int_equal(gpuctl_refresh(m.g), 0);
    assert_int_equal(gpuctl_device_at(m.g, 0)->process_count, 2);
    close_copy(&m);
}

/* Writes len bytes of text (NULs allowed) to <root>/<rel>. */
static void put(const char *root, const char *rel, const char *text, size_t len)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

/* Between two refreshes, sleep (7000) and the training job (5001) exit and new processes get
 * their PIDs, as a busy machine does: a new start time in /proc/PID/stat says so. The new 7000
 * has a GPU under fd 3, a number the old one used for a socket; the new 5001 is another user's
 * other program. Both are seen at once, not 10 passes later, and not under the old names. */
static void a_reused_pid_is_a_new_process(void **state)
{
    static const char other[] = "python\0other.py";
    struct machine m;
    const struct gpuctl_device *d;
    const struct gpuctl_process *p;
    char link[256];

    (void)state;
    open_copy(&m, "rx7900xtx");
    d = gpuctl_device_at(m.g, 0);
    assert_string_equal(find_process(d, 5001)->command, "python train.py --device cuda");
    edit(m.procfs, "7000/stat", " 491000 ", " 9100000 ");
    snprintf(link, sizeof(link), "%s/7000/fd/3", m.procfs);
    assert_int_equal(unlink(link), 0);
    assert_int_equal(symlink("/dev/dri/renderD128", link), 0);
    put(m.procfs, "7000/fdinfo/3",
        "drm-driver:\tamdgpu\ndrm-client-id:\t99\ndrm-pdev:\t0000:03:00.0\n", 61);
    edit(m.procfs, "5001/stat", " 465013 ", " 9100001 ");
    edit(m.procfs, "5001/status", "Uid:\t0\t0\t0\t0", "Uid:\t65534\t65534\t65534\t65534");
    put(m.procfs, "5001/cmdline", other, sizeof(other));
    assert_int_equal(gpuctl_refresh(m.g), 0);
    assert_int_equal(d->process_count, 3);
    p = find_process(d, 5001);
    assert_string_equal(p->command, "python other.py");
    assert_string_equal(p->user, "nobody");
    close_copy(&m);
}

/* Makes <procfs>/<pid>/fd unreadable to gpuctl: mode 000 stops its owner; root, which reads
 * anything, is made nobody by as_another_user(). The directory is made first where git, which
 * keeps no empty directories, left none (kernel threads and zombies have no fds). */
static void hide_fds(const struct machine *m, int pid)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/%d/fd", m->procfs, pid);
    assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
    assert_int_equal(chmod(path, 0), 0);
}

static void unhide_fds(const struct machine *m, int pid)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/%d/fd", m->procfs, pid);
    assert_int_equal(chmod(path, 0755), 0);
}

/* What as_another_user() checks: the Intel backend's processes_hidden, its GPU's process count,
 * and whether its utilization (summed from the clients) is known after a second pass. */
struct hidden_check {
    bool hidden;
    size_t processes;
    bool utilization;
};

/* Opens the copy m as a user other than the owner of the hidden fd directories (nobody when
 * running as root, else this user, whom mode 000 stops too) and checks what it sees. */
static void as_another_user(const struct machine *m, struct hidden_check want)
{
    pid_t child = fork();
    int status;

    assert_true(child >= 0);
    if (child == 0) {
        struct gpuctl_options opts = {m->sysfs, m->procfs, "/nonexistent", 0};
        const struct gpuctl_device *d;
        struct gpuctl *g;
        bool ok;
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(2);
        if (gpuctl_new(&opts, &g) != 0 || gpuctl_refresh(g) != 0)
            _exit(3);
        d = gpuctl_device_at(g, 0);
        ok = gpuctl_system(g)->backends[2].processes_hidden == want.hidden &&
             d->process_count == want.processes &&
             gpuctl_device_has(d, GPUCTL_M_UTIL_GPU) == want.utilization;
        gpuctl_free(g);
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Another user's processes cannot be read: lists are partial, the status says so, and Intel's
 * utilization (summed from the clients) is unknown rather than too low. */
static void other_users_processes_are_hidden(void **state)
{
    struct machine m;

    (void)state;
    open_copy(&m, "xe-igpu");
    hide_fds(&m, 6102);
    as_another_user(&m, (struct hidden_check){true, 1, false});
    unhide_fds(&m, 6102);
    close_copy(&m);
}

/* Kernel threads (kthreadd) and zombies hold no files: their unreadable fd directories hide
 * nothing, so a user who can read every other process sees a whole list. */
static void kernel_threads_and_zombies_hide_nothing(void **state)
{
    struct machine m;

    (void)state;
    open_copy(&m, "xe-igpu");
    hide_fds(&m, 2);
    hide_fds(&m, 6150);
    as_another_user(&m, (struct hidden_check){false, 2, true});
    unhide_fds(&m, 2);
    unhide_fds(&m, 6150);
    close_copy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(engine_time_over_wall_time),
        cmocka_unit_test(cycles_over_gpu_cycles),
        cmocka_unit_test(intel_power_from_energy),
        cmocka_unit_test(xe_discrete_power_and_temperature),
        cmocka_unit_test(clients_that_come_go_or_go_back),
        cmocka_unit_test(other_users_processes_are_hidden),
        cmocka_unit_test(kernel_threads_and_zombies_hide_nothing),
        cmocka_unit_test(a_reused_fd_number_is_found_within_ten_passes),
        cmocka_unit_test(an_fdinfo_over_64_kib_is_left_out),
        cmocka_unit_test(a_reused_pid_is_a_new_process),
        cmocka_unit_test(amd_power_by_its_cap),
        cmocka_unit_test(intel_out_of_range_values_read_as_null),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
