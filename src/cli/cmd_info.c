/* cmd_info.c: `gpuctl info`: the hardware report, one block per device, and what to use. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/json_device.h"
#include "cli/cli.h"
#include "util/banned.h"
#include "util/size.h"
#include "util/str.h"

static const char usage[] =
    "usage: gpuctl info [--json] [--no-processes]\n"
    "\n"
    "Lists every GPU (in PCI order, as CUDA_DEVICE_ORDER=PCI_BUS_ID numbers them, after\n"
    "CUDA_VISIBLE_DEVICES) and the CPU, then the device and precision a program should use.\n"
    "\n"
    "  --json            print one JSON object (values a device cannot report are null)\n"
    "  --no-processes    skip the per-GPU process lists\n";

#define ROW_MAX 16

/* A block of "key  value" rows drawn as a tree. */
struct block {
    size_t n;
    char key[ROW_MAX][24];
    char value[ROW_MAX][320];
};

static void row(struct block *b, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void row(struct block *b, const char *key, const char *fmt, ...)
{
    va_list ap;

    if (b->n == ROW_MAX)
        return;
    str_copy(b->key[b->n], key, sizeof(b->key[0]));
    va_start(ap, fmt);
    vsnprintf(b->value[b->n], sizeof(b->value[0]), fmt, ap);
    va_end(ap);
    b->n++;
}

static void print_block(const struct block *b, const char *indent)
{
    for (size_t i = 0; i < b->n; i++)
        printf("%s%s %-19s %s\n", indent, i + 1 == b->n ? "└─" : "├─", b->key[i], b->value[i]);
}

static void memory_row(struct block *b, const struct gpuctl_device *d, const char *free_word)
{
    char used[32], total[32], avail[32], reserved[32];

    if (!gpuctl_device_has(d, GPUCTL_M_MEMORY_TOTAL)) {
        row(b, "memory", "-");
        return;
    }
    size_format(d->memory_total_bytes, total, sizeof(total));
    if (!gpuctl_device_has(d, GPUCTL_M_MEMORY_USED) ||
        !gpuctl_device_has(d, GPUCTL_M_MEMORY_FREE)) {
        row(b, "memory", "%s total", total);
        return;
    }
    size_format(d->memory_used_bytes, used, sizeof(used));
    size_format(d->memory_free_bytes, avail, sizeof(avail));
    if (gpuctl_device_has(d, GPUCTL_M_MEMORY_RESERVED) && d->memory_reserved_bytes > 0)
        row(b, "memory", "%s / %s used (%.1f%%), %s %s, %s reserved", used, total,
            d->memory_total_bytes
                ? 100.0 * (double)d->memory_used_bytes / (double)d->memory_total_bytes
                : 0.0,
            avail, free_word, size_format(d->memory_reserved_bytes, reserved, sizeof(reserved)));
    else
        row(b, "memory", "%s / %s used (%.1f%%), %s %s", used, total,
            d->memory_total_bytes
                ? 100.0 * (double)d->memory_used_bytes / (double)d->memory_total_bytes
                : 0.0,
            avail, free_word);
}

/* One line per process; a utilization column where the backend measures it (AMD, Intel). */
static void print_processes(const struct gpuctl_device *d)
{
    bool util_column = false;

    for (size_t i = 0; i < d->process_count; i++)
        util_column |= d->processes[i].utilization_valid;
    for (size_t i = 0; i < d->process_count; i++) {
        const struct gpuctl_process *p = &d->processes[i];
        char mem[32] = "-", util[8] = "";
        if (p->used_memory_valid)
            size_format(p->used_memory_bytes, mem, sizeof(mem));
        if (util_column)
            snprintf(util, sizeof(util), p->utilization_valid ? " %3u%%" : "    -",
                     p->utilization_percent);
        printf("   %s %-7d %-10s %10s%s  %s\n", i + 1 == d->process_count ? "└─" : "├─", p->pid,
               p->user[0] ? p->user : "-", mem, util, p->command[0] ? p->command : "-");
    }
}

/* NVIDIA's compute capability, or another vendor's architecture, with the precision it gets. */
static void arch_row(struct block *b, const struct gpuctl_device *d)
{
    struct gpuctl_precision_advice adv;
    const char *p;

    gpuctl_precision_advise(d, &adv);
    p = gpuctl_precision_name(adv.precision) ? gpuctl_precision_name(adv.precision) : "-";
    if (d->vendor == GPUCTL_VENDOR_NVIDIA && gpuctl_device_has(d, GPUCTL_M_COMPUTE_CAPABILITY))
        row(b, "compute capability", "%d.%d (%s%s)", d->cc_major, d->cc_minor, p,
            adv.tf32 ? ", TF32" : "");
    else if (d->vendor == GPUCTL_VENDOR_NVIDIA)
        row(b, "compute capability", "- (%s)", p);
    else
        row(b, "architecture", "%s (%s)", d->arch[0] ? d->arch : "-", p);
}

static void temperature_row(struct block *b, const struct gpuctl_device *d)
{
    char line[64] = "-";

    if (gpuctl_device_has(d, GPUCTL_M_TEMPERATURE))
        snprintf(line, sizeof(line), "%d C", d->temperature_c);
    if (gpuctl_device_has(d, GPUCTL_M_TEMPERATURE_JUNCTION))
        str_appendf(line, sizeof(line), " (junction %d C)", d->temperature_junction_c);
    row(b, "temperature", "%s", line);
}

static void power_row(struct block *b, const struct gpuctl_device *d)
{
    if (gpuctl_device_has(d, GPUCTL_M_POWER_DRAW) && gpuctl_device_has(d, GPUCTL_M_POWER_LIMIT))
        row(b, "power", "%.1f / %.1f W", d->power_draw_mw / 1000.0, d->power_limit_mw / 1000.0);
    else if (gpuctl_device_has(d, GPUCTL_M_POWER_DRAW))
        row(b, "power", "%.1f W", d->power_draw_mw / 1000.0);
    else if (gpuctl_device_has(d, GPUCTL_M_POWER_LIMIT))
        row(b, "power", "- / %.1f W", d->power_limit_mw / 1000.0);
    else
        row(b, "power", "-");
}

static void utilization_row(struct block *b, const struct gpuctl_device *d)
{
    char line[64] = "-";

    if (gpuctl_device_has(d, GPUCTL_M_UTIL_GPU))
        snprintf(line, sizeof(line), "%u%%", d->utilization_gpu_percent);
    if (gpuctl_device_has(d, GPUCTL_M_UTIL_MEMORY))
        str_appendf(line, sizeof(line), " (memory %u%%)", d->utilization_memory_percent);
    row(b, "utilization", "%s", line);
}

/* Prints one GPU's block; n counts GPUs across vendors (GPU 2 may be rocm:0). */
static void print_gpu(const struct gpuctl_device *d, size_t n)
{
    struct block b = {0};
    bool igpu = gpuctl_device_has(d, GPUCTL_M_INTEGRATED) && d->integrated;

    printf("GPU %zu (%s)  %s%s\n", n, d->device, d->name[0] ? d->name : "-",
           igpu ? " (integrated)" : "");
    if (d->state != GPUCTL_STATE_OK) {
        row(&b, "state", "%s: %s", gpuctl_state_name(d->state), d->state_message);
        print_block(&b, "");
        return;
    }
    arch_row(&b, d);
    memory_row(&b, d, "free");
    temperature_row(&b, d);
    power_row(&b, d);
    utilization_row(&b, d);
    if (gpuctl_device_has(d, GPUCTL_M_PROCESSES))
        row(&b, "processes", "%zu", d->process_count);
    else
        row(&b, "processes", "-");
    print_block(&b, "");
    if (gpuctl_device_has(d, GPUCTL_M_PROCESSES))
        print_processes(d);
}

static void print_cpu(const struct gpuctl_device *d)
{
    struct block b = {0};

    printf("CPU (%s)  %s\n", d->device, d->name);
    if (gpuctl_device_has(d, GPUCTL_M_CPU_CORES) && gpuctl_device_has(d, GPUCTL_M_CPU_THREADS))
        row(&b, "cores", "%u (%u threads)", d->cpu_cores, d->cpu_threads);
    else
        row(&b, "cores", "-");
    memory_row(&b, d, "available");
    print_block(&b, "");
}

static void print_header(const struct gpuctl *g)
{
    const struct gpuctl_system *sys = gpuctl_system(g);
    char cuda[16];

    json_device_cuda_version(sys->cuda_driver_version, cuda, sizeof(cuda));
    printf("gpuctl %s on %s", gpuctl_version(), sys->hostname[0] ? sys->hostname : "-");
    if (sys->driver_version[0])
        printf(": NVIDIA driver %s, CUDA %s", sys->driver_version, cuda[0] ? cuda : "-");
    printf("\n");
    for (size_t i = 0; i < sys->backend_count; i++) {
        if (sys->backends[i].message[0])
            printf("note: %s\n", sys->backends[i].message);
        if (sys->backends[i].processes_hidden)
            printf("note: %s: other users' processes are hidden from this user; run gpuctl as "
                   "root to see every process and the utilization summed from them\n",
                   sys->backends[i].name);
    }
    printf("\n");
}

static void print_text(const struct gpuctl *g)
{
    const struct gpuctl_device *best;
    struct gpuctl_precision_advice adv;

    print_header(g);
    for (size_t i = 0, gpus = 0; i < gpuctl_device_count(g); i++) {
        const struct gpuctl_device *d = gpuctl_device_at(g, i);
        if (d->vendor == GPUCTL_VENDOR_CPU)
            print_cpu(d);
        else
            print_gpu(d, gpus++);
        printf("\n");
    }
    gpuctl_recommend(g, &best, &adv);
    printf("recommended: %s (%s), precision %s%s\n", best->device, best->name[0] ? best->name : "-",
           gpuctl_precision_name(adv.precision) ? gpuctl_precision_name(adv.precision) : "-",
           adv.tf32 ? " with TF32" : "");
}

int cmd_info(struct cli *c, int argc, char **argv)
{
    static const struct option options[] = {
        {"no-processes", no_argument, NULL, OPT_FIRST_COMMAND},
        CLI_COMMON_OPTIONS,
    };
    struct gpuctl *g = NULL;
    int opt, rc;

    c->usage = usage;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == OPT_FIRST_COMMAND) {
            c->open.flags |= GPUCTL_OPEN_NO_PROCESSES;
            continue;
        }
        rc = cli_common_option(c, opt, optarg);
        if (rc != -2)
            return rc < 0 ? CLI_USAGE : rc;
    }
    if (optind < argc)
        return cli_fail(c, CLI_USAGE, "unexpected argument '%s': info takes only options",
                        argv[optind]);
    rc = cli_open(c, &g);
    if (rc)
        return rc;
    if (c->json)
        rc = cli_print_json(json_info(g));
    else
        print_text(g);
    gpuctl_free(g);
    return rc;
}
