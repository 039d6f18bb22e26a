/* cmd_watch.c: `gpuctl watch`: a line per GPU per sample, then a summary and a verdict on how
 * well the GPUs were used (guide 004's monitor). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/json_device.h"
#include "cli/cli.h"
#include "monitor/minutes.h"
#include "util/banned.h"
#include "util/clock.h"
#include "util/duration.h"
#include "util/str.h"

static const char usage[] =
    "usage: gpuctl watch [--interval S] [--duration S] [--device D]... [--json]\n"
    "\n"
    "Samples the GPUs every interval and prints one line per GPU:\n"
    "  GPU0  util 87% | mem 78% (9.4 GB) | 64 C | 250 W\n"
    "At Ctrl-C or the end of the duration it prints each GPU's average utilization, average\n"
    "and peak memory, and a verdict. It reads the GPUs itself, so it works whether or not\n"
    "`gpuctl serve` runs.\n"
    "\n"
    "  --interval S   seconds between samples (default 1; 0.1 to 3600; 500ms, 1m also work)\n"
    "  --duration S   stop after this long (default, or 0: until Ctrl-C)\n"
    "  --device D     watch this GPU only (cuda:N, rocm:N, xpu:N, a UUID); repeatable\n"
    "  --json         one JSON object per sample line, then the summary as JSON\n"
    "exit status: 0 done, 1 failure, 2 bad option, 3 no GPU to watch\n";

enum { OPT_INTERVAL = OPT_FIRST_COMMAND, OPT_DURATION, OPT_DEVICE };

#define MAX_WATCHED 64
#define GIB         (1024.0 * 1024.0 * 1024.0)

struct watch {
    double interval, duration;
    size_t n;                       /* GPUs watched */
    size_t pos[MAX_WATCHED];        /* their positions in gpuctl's list */
    const char *specs[MAX_WATCHED]; /* --device values */
    size_t nspecs;
    struct minute_acc acc[MAX_WATCHED]; /* every sample summed */
    uint64_t total_bytes[MAX_WATCHED];  /* memory, for percentages */
    int64_t started_ms;
};

static int parse_seconds(struct cli *c, const char *opt, const char *arg, double min, double *out)
{
    if (duration_parse(arg, out) != 0 || *out < min || *out > 86400.0 * 365)
        return cli_fail(c, CLI_USAGE, "%s '%s' must be %s, at least %gs", opt, arg, duration_syntax,
                        min);
    return -2;
}

static int parse_options(struct cli *c, struct watch *w, int argc, char **argv)
{
    static const struct option options[] = {
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"device", required_argument, NULL, OPT_DEVICE},
        CLI_COMMON_OPTIONS,
    };
    int opt, rc = -2;

    while (rc == -2 && (opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == OPT_INTERVAL)
            rc = parse_seconds(c, "--interval", optarg, 0.1, &w->interval);
        else if (opt == OPT_DURATION)
            rc = parse_seconds(c, "--duration", optarg, 0, &w->duration); /* 0: until stopped */
        else if (opt == OPT_DEVICE && w->nspecs < MAX_WATCHED)
            w->specs[w->nspecs++] = optarg;
        else if (opt == OPT_DEVICE)
            rc = cli_fail(c, CLI_USAGE, "at most %d --device options", MAX_WATCHED);
        else if ((rc = cli_common_option(c, opt, optarg)) == -1)
            rc = CLI_USAGE;
    }
    if (rc == -2 && optind < argc)
        rc = cli_fail(c, CLI_USAGE, "unexpected argument '%s'", argv[optind]);
    return rc;
}

/* The position of device d in g's list. */
static size_t position(const struct gpuctl *g, const struct gpuctl_device *d)
{
    size_t i = 0;

    while (gpuctl_device_at(g, i) != d)
        i++;
    return i;
}

static bool watched(const struct watch *w, size_t pos)
{
    for (size_t k = 0; k < w->n; k++)
        if (w->pos[k] == pos)
            return true;
    return false;
}

/* Chooses the GPUs to watch: those named, else every GPU. */
static int choose(struct cli *c, struct watch *w, const struct gpuctl *g)
{
    char msg[512];

    for (size_t k = 0; k < w->nspecs; k++) {
        const struct gpuctl_device *d;
        int rc = gpuctl_device_find(g, w->specs[k], &d, msg, sizeof(msg));
        if (rc)
            return cli_fail(c, CLI_USAGE, "--device %s: %s", w->specs[k], msg);
        if (d->vendor == GPUCTL_VENDOR_CPU)
            return cli_fail(c, CLI_USAGE, "--device cpu: watch watches GPUs");
        if (!watched(w, position(g, d))) /* named twice: shown once */
            w->pos[w->n++] = position(g, d);
    }
    for (size_t i = 0; w->nspecs == 0 && i < gpuctl_gpu_count(g) && w->n < MAX_WATCHED; i++)
        w->pos[w->n++] = i;
    if (w->n == 0)
        return cli_fail(c, CLI_UNAVAILABLE, "no GPU to watch (gpuctl info says why)");
    return CLI_OK;
}

/* "87%", or "-" when unknown. */
static void percent(char *buf, size_t len, bool has, double v)
{
    if (has)
        snprintf(buf, len, "%.0f%%", v);
    else
        snprintf(buf, len, "-");
}

static void print_line(size_t pos, const struct gpuctl_device *d)
{
    char util[8], mem[32] = "-", temp[16] = "-", power[16] = "-";

    percent(util, sizeof(util), gpuctl_device_has(d, GPUCTL_M_UTIL_GPU),
            d->utilization_gpu_percent);
    if (gpuctl_device_has(d, GPUCTL_M_MEMORY_USED) && gpuctl_device_has(d, GPUCTL_M_MEMORY_TOTAL) &&
        d->memory_total_bytes)
        snprintf(mem, sizeof(mem), "%.0f%% (%.1f GB)",
                 100.0 * (double)d->memory_used_bytes / (double)d->memory_total_bytes,
                 (double)d->memory_used_bytes / GIB);
    if (gpuctl_device_has(d, GPUCTL_M_TEMPERATURE))
        snprintf(temp, sizeof(temp), "%d C", d->temperature_c);
    if (gpuctl_device_has(d, GPUCTL_M_POWER_DRAW))
        snprintf(power, sizeof(power), "%.0f W", d->power_draw_mw / 1000.0);
    printf("GPU%-2zu util %s | mem %s | %s | %s\n", pos, util, mem, temp, power);
}

static void print_json_line(size_t pos, const struct gpuctl_device *d, int64_t t_ms)
{
    json_t *o = json_device(d);
    char iso[40];

    clock_iso8601(t_ms, iso, sizeof(iso));
    json_object_set_new(o, "gpu", json_integer((json_int_t)pos));
    json_object_set_new(o, "timestamp", json_string(iso));
    json_object_del(o, "processes");
    json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    fputc('\n', stdout);
    json_decref(o);
}

/* Reads the GPUs once and prints and sums what they show. */
static void sample(struct cli *c, struct watch *w, struct gpuctl *g)
{
    int64_t now = clock_wall_ms();

    gpuctl_refresh(g);
    for (size_t k = 0; k < w->n; k++) {
        const struct gpuctl_device *d = gpuctl_device_at(g, w->pos[k]);
        struct hsample s = hsample_of(d, now);
        minute_acc_add(&w->acc[k], &s);
        if (gpuctl_device_has(d, GPUCTL_M_MEMORY_TOTAL))
            w->total_bytes[k] = d->memory_total_bytes;
        if (c->json)
            print_json_line(w->pos[k], d, now);
        else
            print_line(w->pos[k], d);
    }
    fflush(stdout);
}

/* What the figures say about how the GPU was used. */
static const char *verdict(const struct minute_acc *a, uint64_t total)
{
    double util = a->n_util ? a->util_sum / (double)a->n_util : -1;
    double peak = total && a->n_memory ? (double)a->memory_max / (double)total : -1;

    if (util < 0)
        return "utilization unknown: this GPU does not report it";
    if (util < 1 && (peak < 0 || peak < 0.01))
        return "idle: nothing ran on this GPU while it was watched";
    if (peak > 0.95)
        return "memory nearly full: a larger batch would run out of memory; watch for OOM errors";
    if (util < 50 && peak >= 0 && peak < 0.5)
        return "utilization under 50% with memory to spare: the batch size is too small, or the "
               "data loader cannot keep up (raise the batch size, num_workers, pin_memory)";
    if (util < 50)
        return "utilization under 50%: the GPU waits for data; the data loader is the bottleneck "
               "(raise num_workers, pin_memory, prefetch)";
    if (util < 80)
        return "utilization fair: a larger batch or mixed precision would use the GPU better";
    return "utilization good";
}

static void print_summary(const struct watch *w, const struct gpuctl *g)
{
    double secs = (double)(clock_wall_ms() - w->started_ms) / 1000.0;

    printf("\nsummary over %.1f s:\n", secs);
    for (size_t k = 0; k < w->n; k++) {
        const struct minute_acc *a = &w->acc[k];
        double total = (double)w->total_bytes[k];
        char util[16];
        percent(util, sizeof(util), a->n_util > 0, a->n_util ? a->util_sum / a->n_util : 0);
        printf("GPU%zu %s: %u samples\n", w->pos[k], gpuctl_device_at(g, w->pos[k])->name,
               a->samples);
        printf("  average utilization  %s\n", util);
        if (a->n_memory && total > 0) {
            double avg = a->memory_sum / (double)a->n_memory;
            printf("  average memory       %.1f%% (%.1f GB)\n", 100.0 * avg / total, avg / GIB);
            printf("  peak memory          %.1f%% (%.1f GB)\n",
                   100.0 * (double)a->memory_max / total, (double)a->memory_max / GIB);
        } else {
            printf("  average memory       -\n  peak memory          -\n");
        }
        printf("  verdict: %s\n", verdict(a, w->total_bytes[k]));
    }
}

static json_t *summary_json(const struct watch *w)
{
    json_t *list = json_array();

    for (size_t k = 0; k < w->n; k++) {
        const struct minute_acc *a = &w->acc[k];
        bool mem = a->n_memory && w->total_bytes[k];
        json_array_append_new(
            list,
            json_pack("{s:i, s:i, s:o, s:o, s:o, s:s}", "gpu", (int)w->pos[k], "samples",
                      (int)a->samples, "utilization_avg_percent",
                      a->n_util ? json_real(a->util_sum / a->n_util) : json_null(),
                      "memory_used_avg_bytes",
                      mem ? json_integer((json_int_t)(a->memory_sum / a->n_memory)) : json_null(),
                      "memory_used_peak_bytes",
                      mem ? json_integer((json_int_t)a->memory_max) : json_null(), "verdict",
                      verdict(a, w->total_bytes[k])));
    }
    return json_pack("{s:{s:f, s:o}}", "summary", "seconds",
                     (double)(clock_wall_ms() - w->started_ms) / 1000.0, "gpus", list);
}

/* Sleeps until the next sample; returns false at SIGINT or SIGTERM (blocked, so waited for). */
static bool wait_next(const sigset_t *set, double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};

    for (;;) {
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM)
            return false;
        if (sig < 0 && errno == EAGAIN)
            return true;
    }
}

static int run(struct cli *c, struct watch *w, struct gpuctl *g)
{
    sigset_t set;
    int64_t end_ms;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    w->started_ms = clock_wall_ms();
    end_ms = w->duration > 0 ? w->started_ms + (int64_t)(w->duration * 1000.0) : INT64_MAX;
    for (;;) {
        double left;
        sample(c, w, g);
        left = (double)(end_ms - clock_wall_ms()) / 1000.0;
        if (left <= 0 || !wait_next(&set, left < w->interval ? left : w->interval))
            break;
        if (clock_wall_ms() >= end_ms)
            break;
    }
    if (c->json)
        return cli_print_json(summary_json(w));
    print_summary(w, g);
    return CLI_OK;
}

int cmd_watch(struct cli *c, int argc, char **argv)
{
    struct watch *w = calloc(1, sizeof(*w));
    struct gpuctl *g = NULL;
    int rc;

    c->usage = usage;
    if (!w)
        return cli_fail(c, CLI_FAILURE, "out of memory");
    w->interval = 1.0;
    rc = parse_options(c, w, argc, argv);
    if (rc == -2)
        rc = cli_open(c, &g);
    if (rc == CLI_OK)
        rc = choose(c, w, g);
    if (rc == CLI_OK)
        rc = run(c, w, g);
    gpuctl_free(g);
    free(w);
    return rc;
}
