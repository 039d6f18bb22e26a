/* proc.h: who runs a process and what it runs, read from procfs. */
#ifndef GPUCTL_DEVICE_PROC_H
#define GPUCTL_DEVICE_PROC_H

#include <stddef.h>

/* Fills user (the login name of the real uid, or the uid as digits when it has no name) and
 * command (the command line, arguments separated by spaces) for pid, read under procfs_root.
 * Either is "" when procfs does not tell (the process exited, or lives in another namespace). */
void proc_describe(const char *procfs_root, int pid, char *user, size_t user_len, char *command,
                   size_t command_len);

#endif
