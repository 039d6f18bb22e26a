/* proc.h: who runs a process and what it runs, read from procfs and remembered between
 * refreshes. */
#ifndef GPUCTL_DEVICE_PROC_H
#define GPUCTL_DEVICE_PROC_H

#include <stddef.h>

/* Names of processes and users, kept while the processes keep using GPUs. */
struct proc_names;

/* A cache reading under procfs_root; NULL when out of memory. */
struct proc_names *proc_names_new(const char *procfs_root);

/* proc_names_free(NULL) does nothing. */
void proc_names_free(struct proc_names *c);

/* Starts a refresh: processes not described since the last call are forgotten, so a PID that
 * leaves the GPUs and comes back (or is reused) is read afresh. */
void proc_names_begin(struct proc_names *c);

/* Fills user (the login name of the real uid, or the uid as digits when it has no name) and
 * command (the command line, arguments separated by spaces) for pid. Either is "" when procfs
 * does not tell (the process exited, or lives in another namespace). A PID described in the last
 * refresh is not read again. */
void proc_names_describe(struct proc_names *c, int pid, char *user, size_t user_len, char *command,
                         size_t command_len);

#endif
