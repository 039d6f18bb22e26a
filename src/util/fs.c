/* fs.c: reading small kernel files under a configurable root. */
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gpuctl/gpuctl.h>

#include "util/banned.h"

int fs_join(char *out, size_t len, const char *root, const char *rel)
{
    int n;

    while (*rel == '/')
        rel++;
    n = snprintf(out, len, "%s/%s", root, rel);
    return n < 0 || (size_t)n >= len ? GPUCTL_ERANGE : 0;
}

static int open_under(const char *root, const char *rel)
{
    char path[4096];
    int fd;

    if (fs_join(path, sizeof(path), root, rel) != 0)
        return GPUCTL_ERANGE;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? GPUCTL_ENOENT : GPUCTL_EIO;
    return fd;
}

/* Reads until cap bytes or the end; returns bytes read or GPUCTL_EIO. With one_piece, a short
 * read is the end: sysfs attributes and single-record procfs files (status, meminfo) give all they
 * have in one read, which saves a second read to learn it. Otherwise only a read of 0 is the end:
 * multi-record procfs files (cpuinfo) give about a page per read, and pipes what was written. */
static ssize_t read_up_to(int fd, char *buf, size_t cap, bool one_piece)
{
    size_t got = 0;

    while (got < cap) {
        size_t want = cap - got;
        ssize_t n = read(fd, buf + got, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return GPUCTL_EIO;
        got += (size_t)n;
        if (n == 0 || (one_piece && (size_t)n < want))
            break;
    }

    return (ssize_t)got;
}

int fs_read(const char *root, const char *rel, char *buf, size_t len)
{
    int fd = open_under(root, rel);
    ssize_t n;

    if (fd < 0)
        return fd;
    n = read_up_to(fd, buf, len - 1, true);
    close(fd);
    if (n < 0)
        return (int)n;
    buf[n] = '\0';
    return 0;
}

int fs_read_all(const char *root, const char *rel, char **out, size_t *out_len)
{
    size_t cap = 4096, len = 0;
    char *buf = NULL;
    int fd = open_under(root, rel), ret = 0;

    if (fd < 0)
        return fd;
    for (;;) {
        char *grown = realloc(buf, cap + 1);
        ssize_t n;

        if (!grown) {
            ret = GPUCTL_ENOMEM;
            goto out;
        }
        buf = grown;
        n = read_up_to(fd, buf + len, cap - len, false);
        if (n < 0) {
            ret = (int)n;
            goto out;
        }
        len += (size_t)n;
        if (len < cap) /* read_up_to stopped before cap: a read of 0, the end */
            break;
        cap *= 2;
    }
    buf[len] = '\0';
    *out = buf;
    buf = NULL;
    if (out_len)
        *out_len = len;
out:
    free(buf);
    close(fd);
    return ret;
}

const char *fs_root(const char *given, const char *env_name, const char *fallback)
{
    const char *env = getenv(env_name);

    if (given)
        return given;
    return env && *env ? env : fallback;
}
