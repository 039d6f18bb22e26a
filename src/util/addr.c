/* addr.c: listening addresses, parsed. */
#include "util/addr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpuctl/gpuctl.h>

#include "util/banned.h"
#include "util/str.h"

const char addr_syntax[] = "HOST:PORT (127.0.0.1:8000, [::1]:8000, 0.0.0.0:8000) or unix:PATH";

static int parse_unix(const char *path, struct addr *out, char *msg, size_t len)
{
    if (path[0] != '/' || str_copy(out->path, path, sizeof(out->path)) >= sizeof(out->path)) {
        snprintf(msg, len, "'%s': a unix socket path must be absolute and under %zu characters",
                 path, sizeof(out->path));
        return GPUCTL_EINVAL;
    }
    out->is_unix = true;
    return 0;
}

/* Splits "HOST:PORT" or "[V6]:PORT"; returns the port's text, or NULL. */
static const char *split_host(const char *s, struct addr *out)
{
    const char *colon;

    if (s[0] == '[') {
        const char *close_br = strchr(s, ']');
        if (!close_br || close_br[1] != ':' || (size_t)(close_br - s - 1) >= sizeof(out->host))
            return NULL;
        snprintf(out->host, sizeof(out->host), "%.*s", (int)(close_br - s - 1), s + 1);
        return close_br + 2;
    }
    colon = strchr(s, ':');
    if (!colon || strchr(colon + 1, ':') || (size_t)(colon - s) >= sizeof(out->host))
        return NULL;
    snprintf(out->host, sizeof(out->host), "%.*s", (int)(colon - s), s);
    return colon + 1;
}

int addr_parse(const char *s, struct addr *out, char *msg, size_t len)
{
    const char *port;

    memset(out, 0, sizeof(*out));
    if (str_starts_with(s, "unix:"))
        return parse_unix(s + 5, out, msg, len);
    if (s[0] == '/')
        return parse_unix(s, out, msg, len);
    port = split_host(s, out);
    if (!port || !out->host[0] || !port[0] || strlen(port) > 5 ||
        strspn(port, "0123456789") != strlen(port) || atol(port) > 65535) {
        snprintf(msg, len, "'%s' is not an address to listen on; use %s", s, addr_syntax);
        return GPUCTL_EINVAL;
    }
    str_copy(out->port, port, sizeof(out->port));
    return 0;
}
