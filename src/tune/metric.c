/* metric.c: throughput from a trial's output lines, with the built-in patterns as one table. */
#include "tune/metric.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpuctl/gpuctl.h>

#include "util/banned.h"

#define NUMBER "([0-9]+(\\.[0-9]*)?([eE][-+]?[0-9]+)?)"
#define END    "([^A-Za-z]|$)"

enum scale { PER_SAMPLE, PER_ITERATION, SECONDS_PER_ITERATION };

/* In order of preference: a trial that printed samples/s is read by samples/s from then on. */
static const struct builtin {
    const char *re; /* the number is group 1 */
    enum scale scale;
    const char *unit;
} builtins[] = {
    {NUMBER " ?(samples|sample|examples|images|imgs|img|sequences|seqs)/(s|sec)" END, PER_SAMPLE,
     "samples/s"},
    {"samples_per_second['\"]?[:=] ?" NUMBER, PER_SAMPLE, "samples/s"},
    {NUMBER " ?it/s" END, PER_ITERATION, "it/s"},
    {NUMBER " ?s/it" END, SECONDS_PER_ITERATION, "s/it"},
};

_Static_assert(sizeof(builtins) / sizeof(builtins[0]) == METRIC_BUILTINS,
               "metric.h sizes struct metric for the table");

int metric_init(struct metric *m, const char *re, char *msg, size_t len)
{
    int rc;

    memset(m, 0, sizeof(*m));
    if (!re) {
        for (size_t i = 0; i < METRIC_BUILTINS; i++) {
            if (regcomp(&m->builtin[i], builtins[i].re, REG_EXTENDED) != 0) {
                snprintf(msg, len, "the built-in metric pattern %zu does not compile", i);
                while (i-- > 0)
                    regfree(&m->builtin[i]);
                return GPUCTL_EINVAL; /* a bug in the table; the unit test compiles it */
            }
        }
        return 0;
    }
    rc = regcomp(&m->re, re, REG_EXTENDED);
    if (rc != 0) {
        char why[160];
        regerror(rc, &m->re, why, sizeof(why));
        snprintf(msg, len, "--metric-regex '%s' is not a POSIX extended regular expression: %s", re,
                 why);
        return GPUCTL_EINVAL;
    }
    m->custom = true;
    return 0;
}

void metric_release(struct metric *m)
{
    if (m->custom)
        regfree(&m->re);
    else
        for (size_t i = 0; i < METRIC_BUILTINS; i++)
            regfree(&m->builtin[i]);
    memset(m, 0, sizeof(*m));
}

/* Whether a match at `at` is an evaluation figure ("eval_samples_per_second", as Hugging Face's
 * Trainer prints after the training ones): a name joined to what precedes it, other than
 * "train_". */
static bool evaluation(const char *line, const char *at)
{
    size_t before = (size_t)(at - line);

    if (!before || !(at[-1] == '_' || (at[-1] >= 'a' && at[-1] <= 'z')))
        return false;
    return !(before >= 6 && strncmp(at - 6, "train_", 6) == 0);
}

/* The value of the last match of re on line: group 1 when it took part, else the whole match;
 * false when none is a number. Built-in patterns skip evaluation figures; a given one is taken
 * as meant. */
static bool last_number(const regex_t *re, const char *line, bool builtin, double *out)
{
    regmatch_t g[2];
    const char *p = line;
    bool found = false;
    int flags = 0;

    while (*p && regexec(re, p, 2, g, flags) == 0) {
        regoff_t so = g[1].rm_so >= 0 ? g[1].rm_so : g[0].rm_so;
        char *end;
        const char *start = p + so;
        while (*start && !(*start >= '0' && *start <= '9') && *start != '.')
            start++;
        double v = strtod(start, &end);
        if (end != start && !(builtin && evaluation(line, p + g[0].rm_so))) {
            *out = v;
            found = true;
        }
        if (g[0].rm_eo > g[0].rm_so)
            p += g[0].rm_eo;
        else if (p[g[0].rm_so]) /* an empty match: step over one character */
            p += g[0].rm_so + 1;
        else
            break;
        flags = REG_NOTBOL;
    }
    return found;
}

void metric_scan_line(const struct metric *m, const char *line, unsigned batch,
                      struct metric_value *v)
{
    double x;

    if (m->custom) {
        if (last_number(&m->re, line, false, &x))
            *v = (struct metric_value){true, x, 0, "metric"};
        return;
    }
    for (size_t i = 0; i < METRIC_BUILTINS; i++) {
        if ((v->found && (int)i > v->rank) || !last_number(&m->builtin[i], line, true, &x))
            continue;
        if (builtins[i].scale == PER_ITERATION)
            x *= batch;
        else if (builtins[i].scale == SECONDS_PER_ITERATION)
            x = x > 0 ? batch / x : 0;
        if (x > 0)
            *v = (struct metric_value){true, x, (int)i, builtins[i].unit};
        return;
    }
}
