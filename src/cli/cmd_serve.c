/* cmd_serve.c: `gpuctl serve`: the daemon: configuration, monitor, HTTP server, signals. */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/events.h"
#include "api/identity.h"
#include "api/render.h"
#include "api/server.h"
#include "cli/cli.h"
#include "config/config.h"
#include "monitor/monitor.h"
#include "sched/sched.h"
#include "store/store.h"
#include "util/banned.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/notify.h"
#include "util/str.h"

static const char usage[] =
    "usage: gpuctl serve [--config FILE] [--listen ADDR]... [--state-dir DIR]\n"
    "\n"
    "Runs the daemon: samples every GPU each interval, keeps their history and health, and\n"
    "answers the REST API, /metrics and the event stream (docs/api.md).\n"
    "\n"
    "  --config FILE     YAML configuration (docs/config.md); default /etc/gpuctl/config.yaml\n"
    "                    when it exists\n"
    "  --listen ADDR     listen here instead of the config's addresses; repeatable:\n"
    "                    unix:PATH, 127.0.0.1:8000, [::1]:8000. Default: the unix socket\n"
    "                    /run/gpuctl/gpuctl.sock (root) or $XDG_RUNTIME_DIR/gpuctl.sock\n"
    "  --state-dir DIR   where the database and serve.json go; default /var/lib/gpuctl (root)\n"
    "                    or ~/.local/state/gpuctl\n"
    "exit status: 0 stopped by SIGTERM or SIGINT, 1 failure, 2 bad configuration or option\n";

enum { OPT_CONFIG = OPT_FIRST_COMMAND, OPT_LISTEN, OPT_STATE_DIR };

#define SYSTEM_CONFIG "/etc/gpuctl/config.yaml"
#define STOP_MS       300 /* how long a stop waits for a device read in progress */

/* Everything the daemon runs, in the order it starts; stopped in reverse. */
struct daemon {
    struct config cfg;
    bool has_admin_gid;
    gid_t admin_gid;
    struct gpuctl *g;
    struct store *store;
    struct feed *feed;
    struct events_ctx events;
    struct monitor *monitor;
    struct sched *sched;
    struct server *server;
    char serve_json[600];
};

/* The unix socket to listen on when nothing says otherwise. */
static void default_socket(char *out, size_t len)
{
    const char *runtime = getenv("XDG_RUNTIME_DIR");

    if (geteuid() == 0)
        snprintf(out, len, "unix:/run/gpuctl/gpuctl.sock");
    else if (runtime && runtime[0] == '/')
        snprintf(out, len, "unix:%s/gpuctl.sock", runtime);
    else
        snprintf(out, len, "unix:/tmp/gpuctl-%u/gpuctl.sock", (unsigned)geteuid());
}

static void default_state_dir(char *out, size_t len)
{
    const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

    if (geteuid() == 0)
        snprintf(out, len, "/var/lib/gpuctl");
    else if (state && state[0] == '/')
        snprintf(out, len, "%s/gpuctl", state);
    else
        snprintf(out, len, "%s/.local/state/gpuctl", home && *home ? home : "/tmp");
}

/* Loads the configuration: the file given, else the system one if it exists. */
static int load_config(struct cli *c, struct daemon *d, const char *path)
{
    char msg[1024];
    int rc;

    config_defaults(&d->cfg);
    if (!path && access(SYSTEM_CONFIG, F_OK) == 0)
        path = SYSTEM_CONFIG;
    if (!path)
        return CLI_OK;
    rc = config_load(&d->cfg, path, msg, sizeof(msg));
    if (rc)
        return cli_fail(c, rc == GPUCTL_ENOENT ? CLI_FAILURE : CLI_USAGE, "%s", msg);
    log_info("configuration from %s", path);
    return CLI_OK;
}

/* Resolves admin_group to a group id: an unknown group stops the daemon. */
static int resolve_admin_group(struct cli *c, struct daemon *d)
{
    if (!d->cfg.admin_group[0])
        return CLI_OK;
    if (!identity_group(d->cfg.admin_group, &d->admin_gid))
        return cli_fail(c, CLI_USAGE, "admin_group '%s' is not a group on this machine",
                        d->cfg.admin_group);
    d->has_admin_gid = true;
    return CLI_OK;
}

static int parse_options(struct cli *c, struct daemon *d, int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"state-dir", required_argument, NULL, OPT_STATE_DIR},
        CLI_COMMON_OPTIONS,
    };
    const char *config = NULL, *state_dir = NULL, *listen[CONFIG_MAX_LISTEN];
    size_t nlisten = 0;
    int opt, rc;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == OPT_CONFIG)
            config = optarg;
        else if (opt == OPT_STATE_DIR)
            state_dir = optarg;
        else if (opt == OPT_LISTEN && nlisten < CONFIG_MAX_LISTEN)
            listen[nlisten++] = optarg;
        else if (opt == OPT_LISTEN)
            return cli_fail(c, CLI_USAGE, "at most %d --listen addresses", CONFIG_MAX_LISTEN);
        else if ((rc = cli_common_option(c, opt, optarg)) != -2)
            return rc < 0 ? CLI_USAGE : rc;
    }
    if (optind < argc)
        return cli_fail(c, CLI_USAGE, "unexpected argument '%s'", argv[optind]);
    rc = load_config(c, d, config);
    if (rc != CLI_OK)
        return rc;
    if (nlisten)
        d->cfg.n_listen = nlisten;
    for (size_t i = 0; i < nlisten; i++)
        str_copy(d->cfg.listen[i], listen[i], sizeof(d->cfg.listen[i]));
    if (state_dir)
        str_copy(d->cfg.state_dir, state_dir, sizeof(d->cfg.state_dir));
    return -2;
}

/* Fills in what neither the command line nor the file said. */
static void apply_defaults(struct cli *c, struct daemon *d)
{
    if (d->cfg.n_listen == 0) {
        default_socket(d->cfg.listen[0], sizeof(d->cfg.listen[0]));
        d->cfg.n_listen = 1;
    }
    if (!d->cfg.state_dir[0])
        default_state_dir(d->cfg.state_dir, sizeof(d->cfg.state_dir));
    if (!c->log_level_set && !getenv("GPUCTL_LOG_LEVEL"))
        log_set_level(d->cfg.log_level);
}

/* Writes <state_dir>/serve.json: the daemon's pid and the addresses it really listens on (a
 * port 0 resolved), for clients and tests. Replaced atomically. */
static void write_serve_json(struct daemon *d)
{
    json_t *addrs = json_array(), *o;
    char tmp[640];

    for (size_t i = 0; i < server_listener_count(d->server); i++)
        json_array_append_new(addrs, json_string(server_listener(d->server, i)->shown));
    o = json_pack("{s:i, s:s, s:o, s:o}", "pid", (int)getpid(), "version", gpuctl_version(),
                  "listen", addrs, "started", render_time(clock_wall_ms()));
    snprintf(d->serve_json, sizeof(d->serve_json), "%s/serve.json", d->cfg.state_dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", d->serve_json);
    if (!o || json_dump_file(o, tmp, JSON_INDENT(2)) != 0 || rename(tmp, d->serve_json) != 0) {
        log_warn("cannot write %s: %s", d->serve_json, strerror(errno));
        d->serve_json[0] = '\0';
    }
    json_decref(o);
}

static int start_monitor(struct cli *c, struct daemon *d)
{
    struct monitor_listener listener = {events_changed, &d->events};
    char msg[512];
    int rc;

    rc = store_open(d->cfg.state_dir, &d->store, msg, sizeof(msg));
    if (rc)
        return cli_fail(c, CLI_FAILURE, "%s", msg);
    d->feed = feed_new();
    if (!d->feed)
        return cli_fail(c, CLI_FAILURE, "out of memory");
    d->events = (struct events_ctx){d->feed, &d->cfg};
    rc = monitor_start(&d->cfg, d->g, d->store, &listener, &d->monitor);
    if (rc)
        return cli_fail(c, CLI_FAILURE, "cannot start sampling: %s", gpuctl_strerror(rc));
    return CLI_OK;
}

static int start_sched(struct cli *c, struct daemon *d)
{
    const char *procfs = c->open.procfs_root ? c->open.procfs_root : getenv("GPUCTL_PROCFS_ROOT");
    struct sched_options o = {&d->cfg,
                              d->store,
                              d->monitor,
                              d->g,
                              procfs && *procfs ? procfs : "/proc",
                              d->cfg.state_dir,
                              d->cfg.scheduler.pack ? SCHED_PACK : SCHED_SPREAD,
                              (unsigned)(d->cfg.scheduler.cancel_grace * 1000.0)};
    char msg[512];
    int rc = sched_open(&o, &d->sched, msg, sizeof(msg));

    if (rc)
        return cli_fail(c, CLI_FAILURE, "cannot start the scheduler: %s", msg);
    return CLI_OK;
}

static int start(struct cli *c, struct daemon *d)
{
    struct server_options so = {&d->cfg, NULL, NULL, NULL, d->has_admin_gid, d->admin_gid, 0};
    char msg[1024];
    int rc;

    c->open.flags |= GPUCTL_OPEN_NO_MASKS | GPUCTL_OPEN_LINKS; /* every GPU; the scheduler's */
    rc = cli_open(c, &d->g);
    if (rc == CLI_OK)
        rc = start_monitor(c, d);
    if (rc == CLI_OK)
        rc = start_sched(c, d);
    if (rc != CLI_OK)
        return rc;
    so.monitor = d->monitor;
    so.sched = d->sched;
    so.feed = d->feed;
    rc = server_start(&so, &d->server, msg, sizeof(msg));
    if (rc)
        return cli_fail(c, rc == GPUCTL_EINVAL ? CLI_USAGE : CLI_FAILURE, "%s", msg);
    write_serve_json(d);
    return CLI_OK;
}

/* Stops everything, in reverse. A driver call that hangs past STOP_MS is left behind: the
 * process exits at once, having removed its socket (server_stop) and serve.json. */
static void stop(struct daemon *d)
{
    server_stop(d->server);
    sched_close(d->sched); /* tasks keep running: the next daemon adopts them */
    if (!monitor_stop(d->monitor, STOP_MS)) {
        if (d->serve_json[0])
            unlink(d->serve_json);
        fflush(stderr);
        _exit(CLI_OK);
    }
    feed_close(d->feed);
    store_close(d->store);
    gpuctl_free(d->g);
    if (d->serve_json[0])
        unlink(d->serve_json);
}

/* Waits for SIGTERM or SIGINT (blocked in every thread, so they arrive here). */
static void wait_for_signal(const sigset_t *set)
{
    int sig = 0;

    for (;;) {
        if (sigwait(set, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        log_warn("SIGHUP: the configuration is read at start only; restart to change it");
    }
    log_info("%s: stopping", strsignal(sig));
}

int cmd_serve_daemon(struct cli *c, int argc, char **argv)
{
    struct daemon *d = calloc(1, sizeof(*d));
    sigset_t set;
    int rc;

    c->usage = usage;
    if (!d)
        return cli_fail(c, CLI_FAILURE, "out of memory");
    rc = parse_options(c, d, argc, argv);
    if (rc != -2)
        goto out;
    apply_defaults(c, d);
    rc = resolve_admin_group(c, d);
    if (rc != CLI_OK)
        goto out;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread starts */
    signal(SIGPIPE, SIG_IGN);
    rc = start(c, d);
    if (rc == CLI_OK) {
        notify_service_manager("READY=1"); /* systemd's Type=notify */
        log_info("gpuctl %s serving %zu GPUs", gpuctl_version(), gpuctl_gpu_count(d->g));
        wait_for_signal(&set);
        notify_service_manager("STOPPING=1");
    }
    stop(d);
out:
    free(d);
    return rc;
}
