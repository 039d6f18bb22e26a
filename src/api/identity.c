/* identity.c: unix peers, admin groups and bearer tokens. */
#include "api/identity.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "util/banned.h"
#include "util/str.h"

/* Who is at the other end of a unix socket, kept for the connection's life. */
struct peer {
    char user[64];
    bool admin;
    int uid, gid, pid;
};

/* Whether user (uid, primary group gid) is in group `want`, asking with a growing list. */
static bool in_group(const char *user, gid_t gid, gid_t want)
{
    int n = 64;
    bool found = false;

    for (int tries = 0; tries < 8 && *user; tries++) {
        gid_t *groups = calloc((size_t)n, sizeof(*groups));
        int asked = n;
        if (!groups)
            return false;
        if (getgrouplist(user, gid, groups, &n) >= 0) {
            for (int i = 0; i < n && !found; i++)
                found = groups[i] == want;
            free(groups);
            return found;
        }
        free(groups);
        n = n > asked ? n : asked * 2; /* it says how many it needs */
    }
    return false;
}

static bool is_admin(const struct identity_rules *rules, uid_t uid, gid_t gid, const char *user)
{
    if (uid == 0)
        return true;
    if (!rules->has_admin_gid)
        return false;
    return gid == rules->admin_gid || in_group(user, gid, rules->admin_gid);
}

/* The name of uid, or "" when it has none. */
static void user_name(uid_t uid, char *out, size_t len)
{
    size_t size = 1024;

    out[0] = '\0';
    for (int tries = 0; tries < 8; tries++, size *= 2) {
        struct passwd pw, *res = NULL;
        char *scratch = malloc(size);
        int rc = scratch ? getpwuid_r(uid, &pw, scratch, size, &res) : ENOMEM;
        if (rc == 0 && res)
            str_copy(out, pw.pw_name, len);
        free(scratch);
        if (rc != ERANGE)
            return;
    }
}

bool identity_group(const char *name, gid_t *gid)
{
    size_t size = 4096;

    for (int tries = 0; tries < 10; tries++, size *= 2) {
        struct group gr, *res = NULL;
        char *scratch = malloc(size);
        int rc = scratch ? getgrnam_r(name, &gr, scratch, size, &res) : ENOMEM;
        if (rc == 0 && res)
            *gid = res->gr_gid;
        free(scratch);
        if (rc != ERANGE)
            return rc == 0 && res;
    }
    return false;
}

void identity_on_connection(const struct identity_rules *rules, struct MHD_Connection *conn,
                            void **socket_context, enum MHD_ConnectionNotificationCode code)
{
    const union MHD_ConnectionInfo *info;
    struct ucred cred;
    socklen_t len = sizeof(cred);
    struct peer *p;

    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        free(*socket_context);
        *socket_context = NULL;
        return;
    }
    info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    p = calloc(1, sizeof(*p));
    if (!p || !info || getsockopt(info->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        free(p);
        return;
    }
    p->uid = (int)cred.uid;
    p->gid = (int)cred.gid;
    p->pid = (int)cred.pid;
    user_name(cred.uid, p->user, sizeof(p->user));
    p->admin = is_admin(rules, cred.uid, cred.gid, p->user);
    if (!p->user[0])
        snprintf(p->user, sizeof(p->user), "uid %u", (unsigned)cred.uid);
    *socket_context = p;
}

/* Compares in time that does not depend on where the strings differ. */
static bool same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);

    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

unsigned identity_of(const struct identity_rules *rules, bool loopback, struct MHD_Connection *conn,
                     struct identity *who, struct reply *rp)
{
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    const struct peer *p = info ? info->socket_context : NULL;

    *who = (struct identity){p ? p->user : "anonymous", p && p->admin,  p ? p->uid : -1,
                             p ? p->gid : -1,           p ? p->pid : 0, false};
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
        for (size_t i = 0; i < rules->cfg->n_tokens; i++) {
            if (same_secret(auth + 7, rules->cfg->tokens[i].token)) {
                *who = (struct identity){
                    rules->cfg->tokens[i].user, rules->cfg->tokens[i].admin, -1, -1, 0, true};
                return 0;
            }
        }
        reply_error(rp, 401, "the bearer token is not one of this daemon's tokens");
        return 401;
    }
    if (loopback)
        return 0;
    reply_error(rp, 401, "%s",
                auth ? "only bearer tokens are accepted (Authorization: Bearer ...)"
                     : "this address requires a token: send Authorization: Bearer <token> with "
                       "a token from the daemon's config");
    return 401;
}
