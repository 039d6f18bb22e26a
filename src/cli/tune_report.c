/* tune_report.c: what `gpuctl tune` prints: the trials as a table or JSON, the recommended
 * batch size and its speed-up over --min, and why the search stopped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/tune.h"
#include "util/banned.h"
#include "util/str.h"
#include "util/size.h"

/* s as a JSON string, bytes that are not UTF-8 (a tail cut mid-character) replaced by '?'. */
static json_t *text(const char *s)
{
    char *copy = strdup(s);
    json_t *v;

    if (!copy)
        return NULL;
    str_utf8_scrub(copy);
    v = json_string(copy);
    free(copy);
    return v;
}

static const char *const stop_names[] = {
    [TUNE_STOP_DONE] = "done",           [TUNE_STOP_NOTHING_FITS] = "nothing_fits",
    [TUNE_STOP_FAILED] = "failed",       [TUNE_STOP_TIMEOUT] = "timeout",
    [TUNE_STOP_NO_METRIC] = "no_metric", [TUNE_STOP_INTERRUPTED] = "interrupted",
};

static const char *const signal_names[] = {
    [TUNE_SIGNAL_NONE] = NULL,     [TUNE_SIGNAL_METRIC] = "metric",
    [TUNE_SIGNAL_STEPS] = "steps", [TUNE_SIGNAL_UTIL] = "utilization",
    [TUNE_SIGNAL_FIT] = "fit",
};

/* How each outcome reads in the table. */
static const char *const outcome_text[] = {
    [TRIAL_OK] = "ok",
    [TRIAL_OOM] = "out of memory",
    [TRIAL_FAILED] = "failed",
    [TRIAL_TIMEOUT] = "timed out",
    [TRIAL_INTERRUPTED] = "interrupted",
};

const char *tune_stop_name(enum tune_stop s)
{
    return (unsigned)s < sizeof(stop_names) / sizeof(stop_names[0]) ? stop_names[s] : "failed";
}

static int exit_code(const struct tune_run *run)
{
    return run->stop == TUNE_STOP_DONE          ? CLI_OK
           : run->stop == TUNE_STOP_INTERRUPTED ? 128 + SIGINT
                                                : CLI_FAILURE;
}

/* The speed-up of the recommendation over --min, when throughput was measured. */
static double speedup(const struct tune_run *run, const struct tune_result *res)
{
    if (run->signal == TUNE_SIGNAL_FIT || run->signal == TUNE_SIGNAL_NONE || !res->found ||
        !(res->first_throughput > 0))
        return 0;
    return res->throughput / res->first_throughput;
}

static json_t *trial_json(const struct tune_run *run, const struct tune_trial *t)
{
    const struct trial_result *r = &t->r;
    json_t *o = json_pack("{s:I, s:s, s:s}", "batch_size", (json_int_t)t->batch, "phase",
                          tune_phase_name(t->phase), "outcome", trial_outcome_name(r->outcome));

    (void)run;
    json_object_set_new(o, "throughput",
                        r->outcome == TRIAL_OK ? json_real(t->throughput) : json_null());
    json_object_set_new(o, "peak_memory_bytes",
                        r->has_peak_memory ? json_integer((json_int_t)r->peak_memory)
                                           : json_null());
    json_object_set_new(o, "seconds", json_real(r->seconds));
    json_object_set_new(o, "exit_code",
                        r->exit_code >= 0 ? json_integer(r->exit_code) : json_null());
    json_object_set_new(o, "signal", r->signal ? json_integer(r->signal) : json_null());
    json_object_set_new(o, "oom",
                        r->outcome == TRIAL_OOM ? json_string(r->oom.source) : json_null());
    json_object_set_new(o, "oom_probable",
                        r->outcome == TRIAL_OOM ? json_boolean(r->oom.probable) : json_null());
    return o;
}

static json_t *size_or_null(unsigned v)
{
    return v ? json_integer(v) : json_null();
}

static int print_json(const struct cli *c, const struct tune_run *run,
                      const struct tune_result *res)
{
    const struct tune_gpu *g = run->gpu;
    json_t *doc = json_object(), *cmd = json_array(), *trials = json_array();
    const struct tune_trial *last = run->n ? &run->trials[run->n - 1] : NULL;
    double up = speedup(run, res);

    for (char *const *p = run->command; *p; p++)
        json_array_append_new(cmd, text(*p));
    for (size_t i = 0; i < run->n; i++)
        json_array_append_new(trials, trial_json(run, &run->trials[i]));
    json_object_set_new(
        doc, "device",
        json_pack("{s:s, s:s, s:s}", "device", g->device, "name", g->name, "uuid", g->uuid));
    json_object_set_new(doc, "allocation_id",
                        g->allocation ? json_integer(g->allocation) : json_null());
    json_object_set_new(doc, "command", cmd);
    json_object_set_new(doc, "signal",
                        signal_names[run->signal] ? json_string(signal_names[run->signal])
                                                  : json_null());
    json_object_set_new(doc, "unit", run->unit ? json_string(run->unit) : json_null());
    json_object_set_new(doc, "weak_signal", json_boolean(run->signal == TUNE_SIGNAL_UTIL));
    json_object_set_new(doc, "trials", trials);
    json_object_set_new(doc, "recommended", size_or_null(res->found ? res->recommended : 0));
    json_object_set_new(doc, "throughput", res->found ? json_real(res->throughput) : json_null());
    json_object_set_new(doc, "speedup", up > 0 ? json_real(up) : json_null());
    json_object_set_new(doc, "best", size_or_null(res->found ? res->best : 0));
    json_object_set_new(doc, "largest_fit", size_or_null(res->largest_fit));
    json_object_set_new(doc, "smallest_oom", size_or_null(res->smallest_oom));
    json_object_set_new(doc, "stopped", json_string(tune_stop_name(run->stop)));
    if (run->stop != TUNE_STOP_DONE) {
        json_object_set_new(
            doc, "error",
            json_pack("{s:s, s:s}", "code",
                      run->stop == TUNE_STOP_INTERRUPTED ? "interrupted" : "failure", "message",
                      run->message));
        fprintf(stderr, "gpuctl %s: %s\n", c->command, run->message);
    }
    json_object_set_new(doc, "stderr_tail",
                        last && (run->stop == TUNE_STOP_FAILED || run->stop == TUNE_STOP_TIMEOUT ||
                                 run->stop == TUNE_STOP_NOTHING_FITS)
                            ? text(last->r.tail)
                            : json_null());
    if (cli_print_json(doc) != CLI_OK)
        return CLI_FAILURE;
    return exit_code(run);
}

static void print_table(const struct tune_run *run)
{
    printf("%7s  %-7s  %-13s  %14s  %11s  %7s\n", "batch", "phase", "outcome", "throughput",
           "peak memory", "time");
    for (size_t i = 0; i < run->n; i++) {
        const struct tune_trial *t = &run->trials[i];
        char tp[32] = "-", mem[32] = "-";
        if (t->r.outcome == TRIAL_OK)
            snprintf(tp, sizeof(tp), "%.1f", t->throughput);
        if (t->r.has_peak_memory)
            size_format(t->r.peak_memory, mem, sizeof(mem));
        printf("%7u  %-7s  %-13s  %14s  %11s  %6.1fs", t->batch, tune_phase_name(t->phase),
               outcome_text[t->r.outcome], tp, mem, t->r.seconds);
        if (t->r.outcome == TRIAL_OOM)
            printf("  %s%s", t->r.oom.source, t->r.oom.probable ? " (probably)" : "");
        putchar('\n');
    }
}

static int print_text(const struct cli *c, const struct tune_run *run,
                      const struct tune_result *res)
{
    const struct tune_gpu *g = run->gpu;
    const struct tune_trial *last = run->n ? &run->trials[run->n - 1] : NULL;
    double up = speedup(run, res);

    printf("gpuctl tune on %s%s%s%s", g->device, g->name[0] ? " (" : "", g->name,
           g->name[0] ? ")" : "");
    if (g->allocation)
        printf(", allocation %lld of the daemon", g->allocation);
    printf("; throughput in %s%s\n\n", run->unit ? run->unit : "-",
           run->signal == TUNE_SIGNAL_UTIL    ? " (a weak signal: give --metric-regex or --steps)"
           : run->signal == TUNE_SIGNAL_STEPS ? " (batch x steps / wall time)"
                                              : "");
    print_table(run);
    putchar('\n');
    if (res->found) {
        printf("%s: %u",
               run->stop == TUNE_STOP_DONE ? "recommended batch size"
                                           : "best so far (the search did not finish)",
               res->recommended);
        if (run->signal != TUNE_SIGNAL_FIT)
            printf(" (%.1f %s", res->throughput, run->unit);
        if (up > 0)
            printf(", %.2fx batch size %u", up, run->search.min);
        printf("%s\n", run->signal != TUNE_SIGNAL_FIT ? ")" : "");
        printf("largest that ran: %u; smallest out of memory: ", res->largest_fit);
        if (res->smallest_oom)
            printf("%u\n", res->smallest_oom);
        else
            printf("none up to %u\n", res->largest_fit);
    }
    if (run->stop == TUNE_STOP_DONE)
        return CLI_OK;
    fprintf(stderr, "gpuctl %s: %s\n", c->command, run->message);
    if (last && last->r.tail[0] &&
        (run->stop == TUNE_STOP_FAILED || run->stop == TUNE_STOP_TIMEOUT ||
         run->stop == TUNE_STOP_NOTHING_FITS))
        fprintf(stderr, "the end of its stderr:\n%s", last->r.tail);
    return exit_code(run);
}

int tune_report(const struct cli *c, struct tune_run *run)
{
    struct tune_result res;

    tune_search_result(&run->search, &res);
    if (run->stop == TUNE_STOP_DONE && !res.found) {
        const struct tune_trial *first = run->n ? &run->trials[0] : NULL;
        run->stop = TUNE_STOP_NOTHING_FITS;
        snprintf(run->message, sizeof(run->message),
                 "batch size %u, the smallest allowed, runs out of memory (%s): lower --min, or "
                 "free the GPU's memory",
                 run->search.min, first ? first->r.oom.source : "-");
    }
    return c->json ? print_json(c, run, &res) : print_text(c, run, &res);
}
