/* listen.h: the addresses the daemon listens on, as people write them ("127.0.0.1:8000",
 * "[::1]:8000", "unix:/run/gpuctl/gpuctl.sock"), turned into listening sockets. */
#ifndef GPUCTL_API_LISTEN_H
#define GPUCTL_API_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

struct listen_socket {
    int fd;
    bool is_unix;
    bool loopback;   /* only this machine can connect: a unix socket or a loopback address */
    char path[108];  /* a unix socket's path, removed again by listen_close() */
    char shown[160]; /* the bound address as a client would use it, the port resolved */
};

/*
 * Opens a listening socket on addr as addr_parse() reads it. Port 0 picks a free one. A unix
 * socket's directory is made if missing (and refused if another user owns it); a stale socket
 * file is replaced, a live one (another daemon answering) is not. Returns 0 and fills *out;
 * GPUCTL_EINVAL for a malformed address or a host that does not resolve; GPUCTL_EIO when the
 * socket cannot be opened. msg gets the reason on failure.
 */
int listen_open(const char *addr, struct listen_socket *out, char *msg, size_t len);

/* Closes the socket and removes a unix socket's file. */
void listen_close(struct listen_socket *ls);

#endif
