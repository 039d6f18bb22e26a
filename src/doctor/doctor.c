/* doctor.c: gpuctl doctor's order of checks: the machine first, then every interpreter (all at
 * once), then advice per GPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor/doctor.h"
#include "doctor/probe.h"
#include "util/banned.h"
#include "util/fs.h"
#include "util/str.h"

static const char *const status_names[] = {
    [DOCTOR_OK] = "ok",
    [DOCTOR_WARN] = "warn",
    [DOCTOR_FAIL] = "fail",
    [DOCTOR_SKIP] = "skip",
};

const char *doctor_status_name(enum doctor_status s)
{
    return (unsigned)s < sizeof(status_names) / sizeof(status_names[0]) ? status_names[s] : "?";
}

struct doctor_check *doctor_add(struct doctor_report *r, const char *id, enum doctor_status st)
{
    static struct doctor_check scratch;
    struct doctor_check *c = r->n < DOCTOR_MAX_CHECKS ? &r->checks[r->n++] : &scratch;

    memset(c, 0, sizeof(*c));
    str_copy(c->id, id, sizeof(c->id));
    c->status = st;
    return c;
}

static void check_pythons(const struct doctor_options *o, const struct doctor_machine *m,
                          struct doctor_report *r)
{
    struct probe_result *results = calloc(DOCTOR_MAX_PYTHONS, sizeof(*results));
    size_t n = 0;

    if (!results) {
        struct doctor_check *c = doctor_add(r, "python", DOCTOR_FAIL);
        str_copy(c->finding, "out of memory", sizeof(c->finding));
        return;
    }
    for (size_t i = 0; i < o->npythons; i++, n++) /* "python3.12" is looked up on PATH */
        if (!probe_which(o->pythons[i], results[n].python, sizeof(results[0].python)))
            str_copy(results[n].python, o->pythons[i], sizeof(results[0].python));
    if (n == 0 && (probe_which("python3", results[0].python, sizeof(results[0].python)) ||
                   probe_which("python", results[0].python, sizeof(results[0].python))))
        n = 1;
    if (n == 0) {
        struct doctor_check *c = doctor_add(r, "python", DOCTOR_SKIP);
        str_copy(c->finding,
                 "no python3 or python on PATH: no framework to check (name one with "
                 "--python PATH)",
                 sizeof(c->finding));
    } else if (probe_run(results, n, o->timeout_s) == 0) {
        for (size_t i = 0; i < n; i++)
            doctor_check_python(m, &results[i], r);
    }
    for (size_t i = 0; i < n; i++)
        probe_release(&results[i]);
    free(results);
}

int doctor_run(const struct doctor_options *o, struct doctor_report *r)
{
    struct doctor_machine m = {0};
    struct gpuctl_options all = o->open, seen = o->open;
    int rc;

    m.sysfs_root = fs_root(o->open.sysfs_root, "GPUCTL_SYSFS_ROOT", "/sys");
    m.procfs_root = fs_root(o->open.procfs_root, "GPUCTL_PROCFS_ROOT", "/proc");
    m.dev_root = fs_root(o->dev_root, "GPUCTL_DEV_ROOT", "/dev");
    all.flags |= GPUCTL_OPEN_NO_PROCESSES | GPUCTL_OPEN_NO_MASKS;
    seen.flags |= GPUCTL_OPEN_NO_PROCESSES;
    rc = gpuctl_new(&all, &m.all);
    if (rc == 0)
        rc = gpuctl_new(&seen, &m.seen);
    if (rc != 0)
        goto out;
    doctor_check_hardware(&m, r);
    check_pythons(o, &m, r);
    doctor_check_memory(&m, r);
out:
    gpuctl_free(m.all);
    gpuctl_free(m.seen);
    return rc;
}
