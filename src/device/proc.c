/* proc.c: describing processes from procfs, remembered between refreshes. */
#include "device/proc.h"

#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/banned.h"
#include "util/fs.h"
#include "util/str.h"

struct described {
    int pid;
    uint64_t start; /* with pid, names the process (0: unknown) */
    bool seen;      /* described during this refresh */
    char user[64];
    char command[256];
};

struct user_name {
    unsigned long uid;
    char name[64];
};

struct proc_names {
    char root[1024];
    struct described *v;
    size_t n, cap;
    struct user_name *users; /* uid -> name, for the cache's whole life */
    size_t nusers, cap_users;
};

bool proc_stat_parse(const char *text, struct proc_stat *out)
{
    const char *p = strrchr(text, ')'); /* the command may hold ')' itself */
    unsigned long long start;

    /* state, then ppid pgrp session tty_nr tpgid, flags, minflt cminflt majflt cmajflt utime
     * stime, cutime cstime priority nice num_threads itrealvalue, starttime (proc(5)) */
    if (!p || sscanf(p + 1,
                     " %c %d %d %d %*d %*d %lu %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d "
                     "%llu",
                     &out->state, &out->ppid, &out->pgrp, &out->session, &out->flags, &start) != 6)
        return false;
    out->start = start;
    return true;
}

bool proc_stat_at(int dir, int pid, struct proc_stat *out)
{
    char rel[32], text[1024];
    ssize_t n;
    int f;

    snprintf(rel, sizeof(rel), "%d/stat", pid);
    f = openat(dir, rel, O_RDONLY | O_CLOEXEC);
    if (f < 0)
        return false;
    n = read(f, text, sizeof(text) - 1); /* one record, given whole */
    close(f);
    if (n <= 0)
        return false;
    text[n] = '\0';
    return proc_stat_parse(text, out);
}

/* The start time of pid under root, or 0 when procfs does not tell. */
static uint64_t start_of(const char *root, int pid)
{
    char rel[32], text[1024];
    struct proc_stat st;

    snprintf(rel, sizeof(rel), "%d/stat", pid);
    return fs_read(root, rel, text, sizeof(text)) == 0 && proc_stat_parse(text, &st) ? st.start : 0;
}

struct proc_names *proc_names_new(const char *procfs_root)
{
    struct proc_names *c = calloc(1, sizeof(*c));

    if (c)
        str_copy(c->root, procfs_root, sizeof(c->root));
    return c;
}

void proc_names_free(struct proc_names *c)
{
    if (!c)
        return;
    free(c->v);
    free(c->users);
    free(c);
}

void proc_names_begin(struct proc_names *c)
{
    size_t kept = 0;

    for (size_t i = 0; i < c->n; i++) {
        if (c->v[i].seen) {
            c->v[kept] = c->v[i];
            c->v[kept++].seen = false;
        }
    }
    c->n = kept;
}

/* The login name of uid, or its digits; looked up once per uid. */
static void user_of(struct proc_names *c, unsigned long uid, char *user, size_t len)
{
    char pwbuf[1024];
    struct passwd pw, *found = NULL;

    for (size_t i = 0; i < c->nusers; i++) {
        if (c->users[i].uid == uid) {
            str_copy(user, c->users[i].name, len);
            return;
        }
    }
    if (getpwuid_r((uid_t)uid, &pw, pwbuf, sizeof(pwbuf), &found) == 0 && found)
        str_copy(user, found->pw_name, len);
    else
        snprintf(user, len, "%lu", uid);
    if (c->nusers == c->cap_users) {
        size_t more = c->cap_users ? c->cap_users * 2 : 8;
        struct user_name *grown = realloc(c->users, more * sizeof(*grown));
        if (!grown)
            return; /* not remembered: looked up again next time */
        c->users = grown;
        c->cap_users = more;
    }
    c->users[c->nusers].uid = uid;
    str_copy(c->users[c->nusers++].name, user, sizeof(c->users[0].name));
}

static void describe_user(struct proc_names *c, int pid, char *user, size_t len)
{
    char rel[64], status[4096];
    const char *line;
    unsigned long uid;

    user[0] = '\0';
    snprintf(rel, sizeof(rel), "%d/status", pid);
    if (fs_read(c->root, rel, status, sizeof(status)) != 0)
        return;
    line = strstr(status, "\nUid:");
    if (line && sscanf(line + 5, "%lu", &uid) == 1)
        user_of(c, uid, user, len);
}

static void describe_command(const char *root, int pid, char *command, size_t len)
{
    char rel[64], *args = NULL;
    size_t n = 0;

    command[0] = '\0';
    snprintf(rel, sizeof(rel), "%d/cmdline", pid);
    if (fs_read_all(root, rel, &args, &n) != 0)
        return;
    while (n > 0 && args[n - 1] == '\0')
        n--;
    for (size_t i = 0; i < n; i++)
        if (args[i] == '\0')
            args[i] = ' ';
    args[n] = '\0';
    if (n == 0) { /* kernel threads and zombies: fall back to the short name */
        free(args);
        args = NULL;
        snprintf(rel, sizeof(rel), "%d/comm", pid);
        if (fs_read_all(root, rel, &args, &n) != 0)
            return;
        str_trim(args);
    }
    str_copy(command, args, len);
    free(args);
}

/* The cache entry for the process (pid, start), added when absent (or replacing an entry of an
 * earlier process under that PID); NULL when out of memory. */
static struct described *entry(struct proc_names *c, int pid, uint64_t start, bool *fresh)
{
    *fresh = false;
    for (size_t i = 0; i < c->n; i++) {
        if (c->v[i].pid != pid)
            continue;
        if (c->v[i].start == start)
            return &c->v[i];
        *fresh = true; /* the PID was reused */
        memset(&c->v[i], 0, sizeof(c->v[0]));
        c->v[i].pid = pid;
        c->v[i].start = start;
        return &c->v[i];
    }
    if (c->n == c->cap) {
        size_t more = c->cap ? c->cap * 2 : 16;
        struct described *grown = realloc(c->v, more * sizeof(*grown));
        if (!grown)
            return NULL;
        c->v = grown;
        c->cap = more;
    }
    *fresh = true;
    memset(&c->v[c->n], 0, sizeof(c->v[0]));
    c->v[c->n].pid = pid;
    c->v[c->n].start = start;
    return &c->v[c->n++];
}

void proc_names_describe(struct proc_names *c, int pid, char *user, size_t user_len, char *command,
                         size_t command_len)
{
    bool fresh;
    struct described *e = entry(c, pid, start_of(c->root, pid), &fresh);

    if (!e) {
        describe_user(c, pid, user, user_len);
        describe_command(c->root, pid, command, command_len);
        return;
    }
    if (fresh) {
        describe_user(c, pid, e->user, sizeof(e->user));
        describe_command(c->root, pid, e->command, sizeof(e->command));
    }
    e->seen = true;
    str_copy(user, e->user, user_len);
    str_copy(command, e->command, command_len);
}
