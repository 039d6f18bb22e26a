/* identity.h: who is asking. A unix socket's peer is known from the kernel (SO_PEERCRED) once
 * per connection; a bearer token names a config user anywhere; non-loopback listeners demand a
 * token. */
#ifndef GPUCTL_API_IDENTITY_H
#define GPUCTL_API_IDENTITY_H

#include <microhttpd.h>
#include <stdbool.h>
#include <sys/types.h>

#include "api/http.h"
#include "config/config.h"

struct identity_rules {
    const struct config *cfg; /* the tokens */
    bool has_admin_gid;
    gid_t admin_gid; /* its members are admins on the unix socket; root always is */
};

/* For MHD_OPTION_NOTIFY_CONNECTION on a unix listener: learns the peer's user and whether it
 * is an admin when the connection starts, frees it when it closes. */
void identity_on_connection(const struct identity_rules *rules, struct MHD_Connection *conn,
                            void **socket_context, enum MHD_ConnectionNotificationCode code);

/* Who asks: a name for logs and ownership, admin rights, and the unix peer's ids (-1 for a
 * token's user or a TCP client) and process (0 then). */
struct identity {
    const char *user;
    bool admin;
    int uid, gid, pid;
    bool token; /* a bearer token named the user */
};

/*
 * Fills *who for a request on conn. A bearer token, when given, must be one of the
 * config's, on any listener; a listener that is not loopback demands one. Returns 0, or 401
 * with rp filled.
 */
unsigned identity_of(const struct identity_rules *rules, bool loopback, struct MHD_Connection *conn,
                     struct identity *who, struct reply *rp);

/* Looks a group up by name into *gid, growing the lookup buffer as large groups need. Returns
 * whether it exists. */
bool identity_group(const char *name, gid_t *gid);

#endif
