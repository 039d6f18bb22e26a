/* compat.c: questions about the compatibility tables of cuda_data.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor/compat.h"
#include "util/banned.h"
#include "util/str.h"

int compat_version_compare(const char *a, const char *b)
{
    while (*a || *b) {
        char *end_a, *end_b;
        unsigned long x = strtoul(a, &end_a, 10), y = strtoul(b, &end_b, 10);

        if (x != y)
            return x < y ? -1 : 1;
        a = *end_a == '.' ? end_a + 1 : end_a + strlen(end_a);
        b = *end_b == '.' ? end_b + 1 : end_b + strlen(end_b);
    }
    return 0;
}

int compat_cuda_parse(const char *s)
{
    unsigned major, minor = 0;
    int n = 0;

    /* "12.4", "13", and TensorFlow's "12.5.1" (the patch level does not matter here). */
    if (!s || sscanf(s, "%u%n.%u%n", &major, &n, &minor, &n) < 1 ||
        (s[n] != '\0' && !(s[n] == '.' && s[n + 1] >= '0' && s[n + 1] <= '9')) || major == 0 ||
        major > 99 || minor > 9)
        return 0;
    return (int)(major * 1000 + minor * 10);
}

void compat_cuda_format(int cuda, char *buf, size_t len)
{
    snprintf(buf, len, "%d.%d", cuda / 1000, cuda % 1000 / 10);
}

const char *compat_driver_floor(int cuda, bool windows)
{
    for (const struct cuda_major *m = cuda_majors; m->major; m++)
        if (m->major == cuda / 1000)
            return windows ? m->windows_driver : m->linux_driver;
    return NULL;
}

int compat_cuda_of_driver(const char *driver, bool windows)
{
    int best = 0;

    for (const struct cuda_release *r = cuda_releases; r->cuda; r++) {
        const char *floor = windows ? r->windows_driver : r->linux_driver;

        if (floor && compat_version_compare(driver, floor) >= 0)
            best = r->cuda;
    }
    return best;
}

bool compat_driver_runs(int driver_cuda, int wheel_cuda)
{
    return driver_cuda > 0 && driver_cuda / 1000 >= wheel_cuda / 1000;
}

/* Reads one architecture name: "8.6", "12.0+PTX", "sm_86", "sm_90a", "compute_90". Returns the
 * capability as 10 * major + minor, or -1; sets *ptx for PTX and *exact for arch-specific code
 * ("sm_90a", "sm_100f" families aside: 'a' runs on that capability alone). */
static int arch_parse(const char *word, size_t len, bool *ptx, bool *exact)
{
    char buf[32];
    unsigned major, minor;
    int n = 0;

    if (len >= sizeof(buf))
        return -1;
    memcpy(buf, word, len);
    buf[len] = '\0';
    *ptx = strstr(buf, "+PTX") != NULL || str_starts_with(buf, "compute_");
    *exact = len > 1 && buf[len - 1] == 'a' && str_starts_with(buf, "sm_");
    if (sscanf(buf, "%u.%u%n", &major, &minor, &n) == 2 && minor < 10)
        return (int)(major * 10 + minor);
    if ((sscanf(buf, "sm_%u%n", &major, &n) == 1 || sscanf(buf, "compute_%u%n", &major, &n) == 1) &&
        major >= 10)
        return (int)major; /* "sm_86" is 86, "sm_120" is 120: 10 * major + minor already */
    return -1;
}

bool compat_arch_runs(const char *archs, int major, int minor)
{
    int want = major * 10 + minor;

    while (archs && *archs) {
        size_t len = strcspn(archs, " ,;");
        bool ptx, exact;
        int have = len ? arch_parse(archs, len, &ptx, &exact) : -1;

        if (have >= 0 && (exact                ? have == want
                          : have / 10 == major ? have <= want
                                               : ptx && have <= want))
            return true;
        archs += len + (archs[len] != '\0');
    }
    return false;
}

/* "2.5.1+cu121" belongs to release "2.5". */
static bool same_release(const char *version, const char *release)
{
    size_t n = strlen(release);

    return strncmp(version, release, n) == 0 &&
           (version[n] == '.' || version[n] == '+' || version[n] == '\0' || version[n] == 'a' ||
            version[n] == 'r');
}

const struct torch_wheel *compat_torch_installed(const char *version, int cuda)
{
    for (const struct torch_wheel *w = torch_wheels; w->release; w++)
        if (w->cuda == cuda && same_release(version, w->release))
            return w;
    return NULL;
}

static bool runs_all(const char *archs, const int *ccs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!compat_arch_runs(archs, ccs[i] / 10, ccs[i] % 10))
            return false;
    return true;
}

const struct torch_wheel *compat_torch_pick(int driver_cuda, const int *ccs, size_t n)
{
    const struct torch_wheel *compat = NULL;

    for (const struct torch_wheel *w = torch_wheels; w->release; w++) {
        if (compat && strcmp(w->release, compat->release) != 0)
            return compat; /* the newest release that runs, through minor-version compat */
        if (!compat_driver_runs(driver_cuda, w->cuda) || !runs_all(w->archs, ccs, n))
            continue;
        if (w->cuda <= driver_cuda)
            return w;
        if (!compat)
            compat = w;
    }
    return compat;
}

const struct torch_wheel *compat_torch_newest(const int *ccs, size_t n)
{
    for (const struct torch_wheel *w = torch_wheels; w->release; w++)
        if (runs_all(w->archs, ccs, n))
            return w;
    return NULL;
}

const char *compat_framework_gpu_wheel(const char *framework, int driver_cuda)
{
    for (const struct framework_gpu_wheel *f = framework_gpu_wheels; f->framework; f++)
        if (strcmp(f->framework, framework) == 0 && driver_cuda / 1000 >= f->cuda_major)
            return f->requirement;
    return NULL;
}
