/* notify.h: the readiness protocol of systemd's Type=notify services (sd_notify(3)): one datagram
 * to the unix socket named by $NOTIFY_SOCKET. Written here rather than linking libsystemd, whose
 * dependencies cost every gpuctl command a millisecond at start. */
#ifndef GPUCTL_UTIL_NOTIFY_H
#define GPUCTL_UTIL_NOTIFY_H

/* Sends state ("READY=1", "STOPPING=1") to the service manager. Returns 0; 1 when not run by
 * one ($NOTIFY_SOCKET unset); -1 when the message could not be sent. */
int notify_service_manager(const char *state);

#endif
