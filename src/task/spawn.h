/* spawn.h: starting a task: a program in a session of its own (so that its whole process group
 * can be signalled), as its owner, in its directory, with its output in log files. The daemon is
 * multi-threaded, so everything is prepared before fork() and the child only makes system
 * calls. */
#ifndef GPUCTL_TASK_SPAWN_H
#define GPUCTL_TASK_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct spawn_spec {
    const char *path;  /* the program, resolved (spawn_resolve) */
    char *const *argv; /* NULL-terminated */
    char *const *envp; /* NULL-terminated */
    const char *cwd;
    bool change_user; /* become uid/gid/groups (the daemon runs as root) */
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    size_t ngroups;
    const char *stdout_path, *stderr_path; /* appended to; made with mode 0600 */
    /* With a keeper (see spawn_task), where it writes its pid as it starts and the command's
     * wait status when the command ends; NULL for no keeper. */
    const char *pid_path, *status_path;
};

/* Reads the number a task's keeper wrote to path (its pid, or the command's wait status).
 * Returns 0, or -1 when there is none. */
int spawn_read_number(const char *path, int *value);

/* Finds file along the PATH of envp (or "/usr/local/bin:/usr/bin:/bin"), as execvp would. Writes
 * the path to out and returns 0, or GPUCTL_ENOENT with msg. A name with a '/' is taken as is. */
int spawn_resolve(const char *file, char *const *envp, char *out, size_t len, char *msg,
                  size_t msg_len);

/* Starts the task. Returns its pid (also its process group and session), or -1 with msg when
 * it could not be forked. With a keeper, that process runs the program as its child, records
 * how it ended, and ends the same way (see spawn.c). A program that cannot be executed
 * exits with status 127 and says why in its stderr log. */
pid_t spawn_task(const struct spawn_spec *sp, char *msg, size_t len);

/* Sends sig to the process group of a task (its pid). */
void spawn_signal_group(pid_t pid, int sig);

#endif
