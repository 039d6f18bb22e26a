/* sysfs.c: reading one value from a kernel attribute file. */
#include "device/sysfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/banned.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/str.h"

bool sysfs_path(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s/%s", dir, name);

    return n >= 0 && (size_t)n < len;
}

bool sysfs_exists(const char *root, const char *dir, const char *name)
{
    char rel[1024], path[2100];

    return sysfs_path(rel, sizeof(rel), dir, name) && fs_join(path, sizeof(path), root, rel) == 0 &&
           access(path, F_OK) == 0;
}

bool sysfs_str(const char *root, const char *dir, const char *name, char *buf, size_t len)
{
    char rel[1024];

    buf[0] = '\0';
    if (!sysfs_path(rel, sizeof(rel), dir, name) || fs_read(root, rel, buf, len) != 0)
        return false;
    str_trim(buf);
    return buf[0] != '\0';
}

/* Parses s as a whole number with strto(u)ll; logs garbage once. */
static bool parse_number(const char *dir, const char *name, const char *s, bool is_signed,
                         void *out)
{
    char *end;

    errno = 0;
    if (is_signed) {
        long long v = strtoll(s, &end, 0);
        if (!errno && end != s && *end == '\0') {
            *(int64_t *)out = v;
            return true;
        }
    } else if (s[0] != '-') {
        unsigned long long v = strtoull(s, &end, 0);
        if (!errno && end != s && *end == '\0') {
            *(uint64_t *)out = v;
            return true;
        }
    }
    log_debug("%s/%s: '%.40s' is not a number; reading it as unknown", dir, name, s);
    return false;
}

bool sysfs_u64(const char *root, const char *dir, const char *name, uint64_t *out)
{
    char buf[64];

    return sysfs_str(root, dir, name, buf, sizeof(buf)) && parse_number(dir, name, buf, false, out);
}

bool sysfs_percent(const char *root, const char *dir, const char *name, unsigned *out)
{
    uint64_t v;

    if (!sysfs_u64(root, dir, name, &v))
        return false;
    if (v > 100) {
        log_debug("%s/%s: %llu%% is not a percentage; reading it as unknown", dir, name,
                  (unsigned long long)v);
        return false;
    }
    *out = (unsigned)v;
    return true;
}

bool sysfs_s64(const char *root, const char *dir, const char *name, int64_t *out)
{
    char buf[64];

    return sysfs_str(root, dir, name, buf, sizeof(buf)) && parse_number(dir, name, buf, true, out);
}

bool sysfs_scaled(const char *root, const char *dir, const char *name, unsigned divisor,
                  unsigned *out)
{
    uint64_t v;

    if (!sysfs_u64(root, dir, name, &v))
        return false;
    if (v / divisor > UINT_MAX) {
        log_debug("%s/%s: %llu is out of range; reading it as unknown", dir, name,
                  (unsigned long long)v);
        return false;
    }
    *out = (unsigned)(v / divisor);
    return true;
}

bool sysfs_celsius(const char *root, const char *dir, const char *name, int *out)
{
    int64_t mc;

    if (!sysfs_s64(root, dir, name, &mc))
        return false;
    if (mc < -273000 || mc > 1000000) {
        log_debug("%s/%s: %lld m°C is no temperature; reading it as unknown", dir, name,
                  (long long)mc);
        return false;
    }
    *out = (int)(mc / 1000);
    return true;
}

unsigned sysfs_count_numbered(const char *root, const char *dir, const char *prefix)
{
    char path[1200];
    size_t plen = strlen(prefix);
    unsigned n = 0;
    struct dirent *e;
    DIR *d;

    if (fs_join(path, sizeof(path), root, dir) != 0)
        return 0;
    d = opendir(path);
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        const char *p = e->d_name + plen;
        if (strncmp(e->d_name, prefix, plen) != 0 || !*p)
            continue;
        while (isdigit((unsigned char)*p))
            p++;
        n += *p == '\0';
    }
    closedir(d);
    return n;
}

bool sysfs_uevent(const char *root, const char *dir, const char *name, const char *key, char *buf,
                  size_t len)
{
    char text[4096];
    size_t klen = strlen(key);

    if (!sysfs_str(root, dir, name, text, sizeof(text)))
        return false;
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        if (n > klen && strncmp(line, key, klen) == 0 && line[klen] == '=') {
            n -= klen + 1;
            if (n >= len)
                n = len - 1;
            memcpy(buf, line + klen + 1, n);
            buf[n] = '\0';
            return true;
        }
        line = nl ? nl + 1 : NULL;
    }
    return false;
}
