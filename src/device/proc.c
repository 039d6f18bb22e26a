/* proc.c: describing processes from procfs. */
#include "device/proc.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"
#include "util/fs.h"
#include "util/str.h"

static void describe_user(const char *root, int pid, char *user, size_t len)
{
    char rel[64], status[4096], pwbuf[1024];
    struct passwd pw, *found = NULL;
    const char *line;
    unsigned long uid;

    user[0] = '\0';
    snprintf(rel, sizeof(rel), "%d/status", pid);
    if (fs_read(root, rel, status, sizeof(status)) != 0)
        return;
    line = strstr(status, "\nUid:");
    if (!line || sscanf(line + 5, "%lu", &uid) != 1)
        return;
    if (getpwuid_r((uid_t)uid, &pw, pwbuf, sizeof(pwbuf), &found) == 0 && found)
        str_copy(user, found->pw_name, len);
    else
        snprintf(user, len, "%lu", uid);
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

void proc_describe(const char *procfs_root, int pid, char *user, size_t user_len, char *command,
                   size_t command_len)
{
    describe_user(procfs_root, pid, user, user_len);
    describe_command(procfs_root, pid, command, command_len);
}
