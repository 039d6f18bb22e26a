/* addr.h: the daemon's listening addresses as people write them: "127.0.0.1:8000",
 * "[::1]:8000", "unix:/run/gpuctl/gpuctl.sock". Parsed, not resolved. */
#ifndef GPUCTL_UTIL_ADDR_H
#define GPUCTL_UTIL_ADDR_H

#include <stdbool.h>
#include <stddef.h>

struct addr {
    bool is_unix;
    char path[108]; /* a unix socket's path (sun_path's size) */
    char host[256]; /* TCP: a name or an address, IPv6 without its brackets */
    char port[6];   /* TCP: 0 to 65535; 0 picks a free one */
};

/* What addr_parse() takes, as a phrase for error messages. */
extern const char addr_syntax[];

/* Parses "unix:PATH" (or an absolute PATH), "HOST:PORT" or "[IPv6]:PORT". Returns 0, or
 * GPUCTL_EINVAL with msg saying what is wrong and what would be right. */
int addr_parse(const char *s, struct addr *out, char *msg, size_t len);

#endif
