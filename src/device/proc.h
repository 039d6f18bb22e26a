/* proc.h: who runs a process and what it runs, read from procfs and remembered between
 * refreshes. */
#ifndef GPUCTL_DEVICE_PROC_H
#define GPUCTL_DEVICE_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What /proc/PID/stat says of a process that gpuctl needs. */
struct proc_stat {
    char state;              /* 'R', 'S', 'Z' ... (field 3) */
    int ppid, pgrp, session; /* fields 4, 5, 6 */
    unsigned long flags;     /* PF_* bits (field 9) */
    uint64_t start;          /* clock ticks after boot (field 22): with the PID, names the process,
                                since a PID is reused once its process is gone */
};

/* A kernel thread (include/linux/sched.h). */
#define PROC_PF_KTHREAD 0x00200000ul

/* Parses the text of /proc/PID/stat (the command, in parentheses, may hold spaces and
 * parentheses). Returns false when it is not one. */
bool proc_stat_parse(const char *text, struct proc_stat *out);

/* Reads /proc/<pid>/stat under the open procfs directory dir. Returns false when it cannot be
 * read (the process is gone) or parsed. */
bool proc_stat_at(int dir, int pid, struct proc_stat *out);

/* Names of processes and users, kept while the processes keep using GPUs. */
struct proc_names;

/* A cache reading under procfs_root; NULL when out of memory. */
struct proc_names *proc_names_new(const char *procfs_root);

/* proc_names_free(NULL) does nothing. */
void proc_names_free(struct proc_names *c);

/* Starts a refresh: processes not described since the last call are forgotten. */
void proc_names_begin(struct proc_names *c);

/* Fills user (the login name of the real uid, or the uid as digits when it has no name) and
 * command (the command line, arguments separated by spaces) for pid. Either is "" when procfs
 * does not tell (the process exited, or lives in another namespace). A process described in the
 * last refresh is not read again: it is known by its PID and start time (read from
 * /proc/PID/stat each time), so a new process under a reused PID is read afresh. */
void proc_names_describe(struct proc_names *c, int pid, char *user, size_t user_len, char *command,
                         size_t command_len);

#endif
