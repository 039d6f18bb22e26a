/* test_config.c: the daemon's YAML configuration: guide 001's file, defaults, and every kind of
 * mistake refused with the file, the line, the key and what is allowed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <gpuctl/gpuctl.h>

#include "config/config.h"
#include "util/addr.h"
#include "util/duration.h"

static char path[64];

/* Writes text to a temporary file and loads it over the defaults. */
static int load(const char *text, struct config *c, char *msg, size_t len)
{
    FILE *f;
    int fd;

    snprintf(path, sizeof(path), "/tmp/gpuctl-config-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    config_defaults(c);
    msg[0] = '\0';
    {
        int rc = config_load(c, path, msg, len);
        unlink(path);
        return rc;
    }
}

/* Loads text and expects it refused with a message that contains want. */
static void refused(const char *text, const char *want)
{
    struct config c;
    char msg[1024];

    assert_int_equal(load(text, &c, msg, sizeof(msg)), GPUCTL_EINVAL);
    if (!strstr(msg, want))
        fail_msg("message '%s' lacks '%s'", msg, want);
    assert_non_null(strstr(msg, path)); /* names the file */
}

static void guide_001s_file_loads(void **state)
{
    static const char guide[] = "gpu_resource:\n"
                                "  gpu: \"nvidia.com/gpu\"\n"
                                "  nvidia: \"nvidia.com/gpu\"\n"
                                "  amd: \"amd.com/gpu\"\n"
                                "  intel: \"intel.com/gpu\"\n"
                                "  npu: \"huawei.com/npu\"\n"
                                "default_gpu_resource_name: \"nvidia.com/gpu\"\n"
                                "gpu_memory_specs:\n"
                                "  T4: 16.0\n"
                                "  V100: 32.0\n"
                                "  A100: 80.0\n"
                                "monitor_update_interval: 30\n"
                                "resource_change_threshold: 0.05\n"
                                "log_level: \"INFO\"\n";
    struct config c;
    char msg[512];

    (void)state;
    assert_int_equal(load(guide, &c, msg, sizeof(msg)), 0);
    assert_int_equal(c.n_resources, 5);
    assert_string_equal(c.gpu_resource[2].vendor, "amd");
    assert_string_equal(c.gpu_resource[4].resource, "huawei.com/npu");
    assert_int_equal(c.n_specs, 3); /* the file's map replaces the defaults */
    assert_string_equal(c.gpu_memory_specs[1].model, "V100");
    assert_true(c.gpu_memory_specs[1].memory_gb == 32.0);
    assert_true(c.monitor_update_interval == 30.0);
    assert_true(c.resource_change_threshold == 0.05);
    assert_int_equal(c.log_level, LOG_INFO);
}

static void defaults_are_documented_ones(void **state)
{
    struct config c;

    (void)state;
    config_defaults(&c);
    assert_true(c.monitor_update_interval == 1.0);
    assert_true(c.resource_change_threshold == 0.05);
    assert_true(c.history == 3600.0);
    assert_true(c.health.recovery_hold == 300.0);
    assert_true(xid_listed(&c.health.unhealthy, 79));
    assert_true(xid_listed(&c.health.unhealthy, 48));
    assert_true(xid_listed(&c.health.degraded, 94));
    assert_true(xid_listed(&c.health.ignored, 13));
    assert_false(xid_listed(&c.health.unhealthy, 13));
    assert_int_equal(c.n_listen, 0);
    assert_string_equal(c.state_dir, "");
}

static void gpuctl_keys_load(void **state)
{
    struct config c;
    char msg[512];

    (void)state;
    assert_int_equal(load("listen:\n  - 127.0.0.1:8000\n  - unix:/run/x.sock\n"
                          "state_dir: /var/lib/x\n"
                          "history: 2h\n"
                          "admin_group: wheel\n"
                          "tokens:\n"
                          "  - token: 0123456789abcdef0123\n"
                          "    user: ops\n"
                          "    admin: yes\n"
                          "health:\n"
                          "  unhealthy_xids: [79]\n"
                          "  recovery_hold: 10m\n"
                          "  slowdown_events: 3\n"
                          "  slowdown_window: 1m\n",
                          &c, msg, sizeof(msg)),
                     0);
    assert_int_equal(c.n_listen, 2);
    assert_string_equal(c.listen[1], "unix:/run/x.sock");
    assert_string_equal(c.state_dir, "/var/lib/x");
    assert_true(c.history == 7200.0);
    assert_int_equal(c.n_tokens, 1);
    assert_true(c.tokens[0].admin);
    assert_string_equal(c.tokens[0].user, "ops");
    assert_int_equal(c.health.unhealthy.n, 1);
    assert_true(c.health.recovery_hold == 600.0);
    assert_int_equal(c.health.slowdown_events, 3);
    assert_true(c.health.slowdown_window == 60.0);
    assert_true(xid_listed(&c.health.degraded, 94)); /* lists not given keep their defaults */
}

static void empty_file_keeps_defaults(void **state)
{
    struct config c;
    char msg[512];

    (void)state;
    assert_int_equal(load("", &c, msg, sizeof(msg)), 0);
    assert_true(c.monitor_update_interval == 1.0);
    assert_int_equal(load("# only a comment\n", &c, msg, sizeof(msg)), 0);
}

static void mistakes_name_line_key_and_what_is_allowed(void **state)
{
    (void)state;
    refused("log_level: INFO\ncolour: blue\n",
            ":2: unknown key 'colour' in the configuration; the keys are gpu_resource, ");
    refused("health:\n  hold: 5s\n",
            ":2: unknown key 'hold' in health; the keys are unhealthy_xids");
    refused("monitor_update_interval: fast\n", ":1: monitor_update_interval must be a number of "
                                               "seconds");
    refused("monitor_update_interval: 0\n", "from 0.05s to 3600s");
    refused("resource_change_threshold: 2\n", ":1: resource_change_threshold must be a number "
                                              "from 0 to 1, got '2'");
    refused("resource_change_threshold: nan\n", "resource_change_threshold must be a number");
    refused("log_level: LOUD\n", "log_level must be DEBUG, INFO, WARNING or ERROR, got 'LOUD'");
    refused("gpu_memory_specs:\n  V100: lots\n", ":2: gpu_memory_specs.V100 must be the model's "
                                                 "memory in GB");
    refused("gpu_memory_specs: [V100]\n", "gpu_memory_specs must be a mapping");
    refused("tokens:\n  - token: short\n", ":2: tokens: 'token' must be token (16 to 127");
    refused("tokens:\n  - user: bob\n", "tokens: an entry has no token");
    refused("health:\n  unhealthy_xids: [79, 1000]\n", ":2: unhealthy_xids must hold up to 64 XID "
                                                       "numbers from 1 to 999, got '1000'");
    refused("health:\n  slowdown_events: 2.5\n", "slowdown_events must be a whole number");
    refused("listen: {a: b}\n", "listen must be an address or a list of them");
    refused("history: 2d\n", "history must be");
    refused("listen:\n  - 127.0.0.1:8000\n  - 127.0.0.1\n",
            ":3: listen: '127.0.0.1' is not an address to listen on; use HOST:PORT");
    refused("listen: unix:run/gpuctl.sock\n", "listen: 'run/gpuctl.sock': a unix socket path "
                                              "must be absolute");
    refused("state_dir: \"\"\n", "state_dir must be an absolute path");
    refused("state_dir: var/lib\n", ":1: state_dir must be an absolute path");
    refused("state_dir: ~\n", ":1: state_dir must be an absolute path (under 512 characters), "
                              "got 'nothing'");
    refused("default_gpu_resource_name:\n", "default_gpu_resource_name must be a text");
    refused("resource_change_threshold: 0x1p-4\n", "resource_change_threshold must be a number");
    refused("health:\n  slowdown_events: 300\n", "slowdown_events must be a whole number from 1 "
                                                 "to 256");
    refused("monitor_update_interval: 50ms\nhistory: 1d\n",
            "history (86400s) over monitor_update_interval (0.05s) is 1728000 samples per GPU");
}

static void keys_given_twice_and_second_documents_are_refused(void **state)
{
    (void)state;
    refused("tokens:\n  - token: 0123456789abcdef\nlog_level: info\ntokens: []\n",
            ":4: 'tokens' is given twice (first at line 1); give it once");
    refused("health:\n  recovery_hold: 1m\n  recovery_hold: 2m\n",
            ":3: 'recovery_hold' is given twice (first at line 2)");
    refused("gpu_memory_specs:\n  V100: 32\n  V100: 16\n", ":3: 'V100' is given twice");
    refused("tokens:\n  - token: 0123456789abcdef\n    token: fedcba9876543210\n",
            ":3: 'token' is given twice");
    refused("log_level: info\n---\ncolour: blue\n", "more than one YAML document");
}

static void broken_yaml_is_refused(void **state)
{
    struct config c;
    char msg[512];

    (void)state;
    assert_int_equal(load("listen: [127.0.0.1:8000\n", &c, msg, sizeof(msg)), GPUCTL_EINVAL);
    assert_non_null(strstr(msg, "not YAML"));
    assert_int_equal(load("- a\n- b\n", &c, msg, sizeof(msg)), GPUCTL_EINVAL);
    assert_non_null(strstr(msg, "must be a mapping"));
    config_defaults(&c);
    assert_int_equal(config_load(&c, "/nonexistent/gpuctl.yaml", msg, sizeof(msg)), GPUCTL_ENOENT);
    assert_non_null(strstr(msg, "/nonexistent/gpuctl.yaml: cannot read"));
}

static void durations_take_units(void **state)
{
    double s;

    (void)state;
    assert_int_equal(duration_parse("300", &s), 0);
    assert_true(s == 300);
    assert_int_equal(duration_parse("1.5s", &s), 0);
    assert_true(s == 1.5);
    assert_int_equal(duration_parse("500ms", &s), 0);
    assert_true(s == 0.5);
    assert_int_equal(duration_parse("5m", &s), 0);
    assert_true(s == 300);
    assert_int_equal(duration_parse("1h", &s), 0);
    assert_true(s == 3600);
    assert_int_equal(duration_parse("7d", &s), 0);
    assert_true(s == 604800);
    assert_int_equal(duration_parse("", &s), GPUCTL_EINVAL);
    assert_int_equal(duration_parse("-1", &s), GPUCTL_EINVAL);
    assert_int_equal(duration_parse("5 min", &s), GPUCTL_EINVAL);
    assert_int_equal(duration_parse("0x10", &s), GPUCTL_EINVAL);
    assert_int_equal(duration_parse("1e3", &s), GPUCTL_EINVAL);
    assert_int_equal(duration_parse("inf", &s), GPUCTL_EINVAL);
}

static void addresses_parse(void **state)
{
    struct addr a;
    char msg[256];

    (void)state;
    assert_int_equal(addr_parse("127.0.0.1:8000", &a, msg, sizeof(msg)), 0);
    assert_false(a.is_unix);
    assert_string_equal(a.host, "127.0.0.1");
    assert_string_equal(a.port, "8000");
    assert_int_equal(addr_parse("[::1]:0", &a, msg, sizeof(msg)), 0);
    assert_string_equal(a.host, "::1");
    assert_string_equal(a.port, "0");
    assert_int_equal(addr_parse("unix:/run/gpuctl/gpuctl.sock", &a, msg, sizeof(msg)), 0);
    assert_true(a.is_unix);
    assert_string_equal(a.path, "/run/gpuctl/gpuctl.sock");
    assert_int_equal(addr_parse("/tmp/x.sock", &a, msg, sizeof(msg)), 0);
    assert_true(a.is_unix);
    assert_int_equal(addr_parse("localhost:http", &a, msg, sizeof(msg)), GPUCTL_EINVAL);
    assert_int_equal(addr_parse("127.0.0.1:65536", &a, msg, sizeof(msg)), GPUCTL_EINVAL);
    assert_int_equal(addr_parse(":8000", &a, msg, sizeof(msg)), GPUCTL_EINVAL);
    assert_int_equal(addr_parse("::1:8000", &a, msg, sizeof(msg)), GPUCTL_EINVAL);
    assert_int_equal(addr_parse("[::1]8000", &a, msg, sizeof(msg)), GPUCTL_EINVAL);
    assert_non_null(strstr(msg, "use HOST:PORT"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(guide_001s_file_loads),
        cmocka_unit_test(defaults_are_documented_ones),
        cmocka_unit_test(gpuctl_keys_load),
        cmocka_unit_test(empty_file_keeps_defaults),
        cmocka_unit_test(mistakes_name_line_key_and_what_is_allowed),
        cmocka_unit_test(keys_given_twice_and_second_documents_are_refused),
        cmocka_unit_test(broken_yaml_is_refused),
        cmocka_unit_test(durations_take_units),
        cmocka_unit_test(addresses_parse),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
