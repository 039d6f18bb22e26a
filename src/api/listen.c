/* listen.c: listening sockets for the daemon, TCP and unix. */
#include "api/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gpuctl/gpuctl.h>

#include "util/addr.h"
#include "util/banned.h"
#include "util/str.h"

#define BACKLOG 1024

/* Creates the parent directory of a socket path (one level, as /run/gpuctl), and refuses one
 * that someone else owns: in /tmp another user could have made it to catch the socket. */
static int make_parent(const char *path, char *msg, size_t len)
{
    char dir[108];
    char *slash;
    struct stat st;

    str_copy(dir, path, sizeof(dir));
    slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    mkdir(dir, 0755);
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
        (st.st_uid != geteuid() && st.st_uid != 0)) {
        snprintf(msg, len, "%s: %s", dir,
                 errno == ENOENT ? "cannot be made" : "is not a directory this user or root owns");
        return -1;
    }
    return 0;
}

/* Whether something answers on the unix socket at path. */
static bool socket_alive(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool alive = fd >= 0 && connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;

    if (fd >= 0)
        close(fd);
    return alive;
}

static int open_unix(const char *path, struct listen_socket *out, char *msg, size_t len)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;

    str_copy(sa.sun_path, path, sizeof(sa.sun_path));
    if (make_parent(path, msg, len) != 0)
        return GPUCTL_EIO;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode) || socket_alive(&sa)) {
            snprintf(msg, len, "%s: %s", path,
                     S_ISSOCK(st.st_mode) ? "another gpuctl serve is answering there"
                                          : "exists and is not a socket");
            return GPUCTL_EIO;
        }
        unlink(path); /* left by a daemon that did not exit cleanly */
    }
    out->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (out->fd < 0 || bind(out->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        chmod(path, 0666) != 0 || listen(out->fd, BACKLOG) != 0) {
        snprintf(msg, len, "cannot listen on %s: %s", path, strerror(errno));
        if (out->fd >= 0)
            close(out->fd);
        out->fd = -1;
        return GPUCTL_EIO;
    }
    out->is_unix = out->loopback = true;
    str_copy(out->path, path, sizeof(out->path));
    snprintf(out->shown, sizeof(out->shown), "unix:%s", path);
    return 0;
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

/* Writes the bound address, with the port the kernel picked, as "1.2.3.4:80" or "[::1]:80". */
static void show_bound(int fd, char *out, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
        snprintf(out, len, "%s:%u", host, port);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        snprintf(out, len, "[%s]:%u", host, port);
    }
}

static int bind_tcp(const struct addrinfo *ai, struct listen_socket *out)
{
    int one = 1;

    out->fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (out->fd < 0)
        return -1;
    setsockopt(out->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6)
        setsockopt(out->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(out->fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(out->fd, BACKLOG) == 0)
        return 0;
    close(out->fd);
    out->fd = -1;
    return -1;
}

static int open_tcp(const char *addr, const struct addr *a, struct listen_socket *out, char *msg,
                    size_t len)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int rc;

    rc = getaddrinfo(a->host, a->port, &hints, &res);
    if (rc != 0) {
        snprintf(msg, len, "cannot listen on %s: %s", addr, gai_strerror(rc));
        return GPUCTL_EINVAL;
    }
    rc = bind_tcp(res, out);
    if (rc != 0)
        snprintf(msg, len, "cannot listen on %s: %s", addr, strerror(errno));
    else {
        out->loopback = is_loopback(res->ai_addr);
        show_bound(out->fd, out->shown, sizeof(out->shown));
    }
    freeaddrinfo(res);
    return rc == 0 ? 0 : GPUCTL_EIO;
}

int listen_open(const char *addr, struct listen_socket *out, char *msg, size_t len)
{
    struct addr a;
    int rc;

    memset(out, 0, sizeof(*out));
    out->fd = -1;
    rc = addr_parse(addr, &a, msg, len);
    if (rc)
        return rc;
    return a.is_unix ? open_unix(a.path, out, msg, len) : open_tcp(addr, &a, out, msg, len);
}

void listen_close(struct listen_socket *ls)
{
    if (ls->fd >= 0)
        close(ls->fd);
    ls->fd = -1;
    if (ls->is_unix && ls->path[0])
        unlink(ls->path);
    ls->path[0] = '\0';
}
