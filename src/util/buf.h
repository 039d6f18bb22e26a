/* buf.h: a growable byte buffer for building responses (strbuf's idea, small). */
#ifndef GPUCTL_UTIL_BUF_H
#define GPUCTL_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *data; /* terminated; NULL until the first append */
    size_t len, cap;
    bool oom; /* an append ran out of memory: the contents are incomplete */
};

#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0, false                                                                          \
    }

/* Appends len bytes. Out of memory sets b->oom and appends nothing more. */
void buf_add(struct buf *b, const char *s, size_t len);

/* Appends a formatted string. */
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Frees the contents and empties b. */
void buf_release(struct buf *b);

#endif
