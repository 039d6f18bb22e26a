/* test_api.c: the pieces of the REST API that need no server: route patterns, GPU model names,
 * error bodies and the Prometheus text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/http.h"
#include "api/metrics.h"
#include "api/render.h"
#include "util/str.h"
#include "util/notify.h"

static void routes_match_whole_segments(void **state)
{
    long index;

    (void)state;
    assert_true(route_match("/health", "/health", &index));
    assert_int_equal(index, -1);
    assert_false(route_match("/health", "/healthz", &index));
    assert_false(route_match("/health", "/health/", &index));
    assert_false(route_match("/api/v1/gpu/health", "/api/v1/gpu", &index));
    assert_true(
        route_match("/api/v1/gpu/health/{index}/reset", "/api/v1/gpu/health/12/reset", &index));
    assert_int_equal(index, 12);
    assert_true(
        route_match("/api/v1/gpu/health/{index}/reset", "/api/v1/gpu/health/x/reset", &index));
    assert_int_equal(index, -1); /* the handler says why */
    assert_true(
        route_match("/api/v1/gpu/health/{index}/reset", "/api/v1/gpu/health/01/reset", &index));
    assert_int_equal(index, -1);
    assert_false(
        route_match("/api/v1/gpu/health/{index}/reset", "/api/v1/gpu/health//reset", &index) &&
        index >= 0);
    assert_false(
        route_match("/api/v1/gpu/health/{index}/reset", "/api/v1/gpu/health/1/reset/x", &index));
}

static void every_route_is_in_the_table_once(void **state)
{
    (void)state;
    for (size_t i = 0; i < route_count; i++)
        for (size_t k = i + 1; k < route_count; k++)
            assert_false(strcmp(routes[i].pattern, routes[k].pattern) == 0 &&
                         strcmp(routes[i].method, routes[k].method) == 0);
    assert_int_equal(route_count, 25);
}

static void models_match_as_people_write_them(void **state)
{
    (void)state;
    assert_true(str_model_in("RTX3090", "NVIDIA GeForce RTX 3090"));
    assert_true(str_model_in("H100", "NVIDIA H100 80GB HBM3"));
    assert_true(str_model_in("h100", "NVIDIA H100 80GB HBM3"));
    assert_true(str_model_in("A100", "NVIDIA A100-SXM4-40GB"));
    assert_true(str_model_in("V100", "Tesla V100-SXM2-32GB"));
    assert_true(str_model_in("T4", "Tesla T4"));
    assert_false(str_model_in("A40", "NVIDIA RTX A4000"));
    assert_false(str_model_in("A10", "NVIDIA A100-SXM4-40GB"));
    assert_false(str_model_in("T4", "NVIDIA RTX T400"));
    assert_false(str_model_in("", "Tesla T4"));
}

static void gpu_types_come_from_the_specs(void **state)
{
    struct config cfg;
    struct gpuctl_device d = {0};
    char type[96];

    (void)state;
    config_defaults(&cfg);
    snprintf(d.name, sizeof(d.name), "NVIDIA GeForce RTX 4090");
    render_gpu_type(&cfg, &d, type, sizeof(type));
    assert_string_equal(type, "RTX4090");
    snprintf(d.name, sizeof(d.name), "NVIDIA L40S");
    render_gpu_type(&cfg, &d, type, sizeof(type));
    assert_string_equal(type, "L40S");
    snprintf(d.name, sizeof(d.name), "AMD Radeon RX 7900 XTX");
    render_gpu_type(&cfg, &d, type, sizeof(type));
    assert_string_equal(type, "Radeon RX 7900 XTX");
}

static void errors_have_one_shape(void **state)
{
    struct reply rp = {0};
    json_t *j;

    (void)state;
    reply_error(&rp, 404, "no GPU %d", 9);
    assert_int_equal(rp.status, 404);
    j = json_loads(rp.body.data, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                        "not_found");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "message")),
                        "no GPU 9");
    json_decref(j);
    reply_gpuctl_error(&rp, GPUCTL_EINVAL, "bad");
    assert_int_equal(rp.status, 400);
    reply_gpuctl_error(&rp, GPUCTL_ERANGE, "far");
    assert_int_equal(rp.status, 404);
    reply_gpuctl_error(&rp, GPUCTL_ENOMEM, "full");
    assert_int_equal(rp.status, 503);
    buf_release(&rp.body);
}

/* A snapshot of one GPU with an awkward name and a CPU, by hand. */
static struct snapshot *two_devices(void)
{
    struct snapshot *s = calloc(1, sizeof(*s));

    s->n = 2;
    s->taken_ms = 1700000000000;
    s->devs = calloc(2, sizeof(*s->devs));
    s->health = calloc(2, sizeof(*s->health));
    snprintf(s->devs[0].name, sizeof(s->devs[0].name), "GPU \"quoted\" \\ back\nslash");
    snprintf(s->devs[0].device, sizeof(s->devs[0].device), "cuda:0");
    s->devs[0].memory_used_bytes = 123;
    s->devs[0].valid = 1ull << GPUCTL_M_MEMORY_USED;
    s->devs[1].vendor = GPUCTL_VENDOR_CPU;
    atomic_init(&s->refs, 1);
    return s;
}

static void metrics_escape_labels_and_leave_out_the_unknown(void **state)
{
    struct snapshot *s = two_devices();
    struct buf b = BUF_INIT;

    (void)state;
    metrics_gpus(&b, s);
    assert_non_null(strstr(b.data, "model=\"GPU \\\"quoted\\\" \\\\ back\\nslash\""));
    assert_non_null(strstr(b.data, "gpuctl_gpu_memory_used_bytes{gpu=\"0\""));
    assert_non_null(strstr(b.data, "} 123\n"));
    assert_null(strstr(b.data, "gpuctl_gpu_temperature_celsius{")); /* not valid: no series */
    assert_non_null(strstr(b.data, "# TYPE gpuctl_gpu_temperature_celsius gauge\n"));
    assert_null(strstr(b.data, "gpu=\"1\"")); /* the CPU is not a GPU */
    buf_release(&b);
    snapshot_unref(s);
}

static void readiness_reaches_the_service_manager(void **state)
{
    char dir[] = "/tmp/gpuctl-notify-XXXXXX", path[64], got[64] = "";
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    (void)state;
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(notify_service_manager("READY=1"), 1); /* not run by systemd */
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/notify", dir);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_int_equal(notify_service_manager("READY=1"), 0);
    assert_int_equal(recv(fd, got, sizeof(got) - 1, 0), 7);
    assert_string_equal(got, "READY=1");
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    assert_int_equal(notify_service_manager("READY=1"), -1);
    unsetenv("NOTIFY_SOCKET");
    close(fd);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes_match_whole_segments),
        cmocka_unit_test(every_route_is_in_the_table_once),
        cmocka_unit_test(models_match_as_people_write_them),
        cmocka_unit_test(gpu_types_come_from_the_specs),
        cmocka_unit_test(errors_have_one_shape),
        cmocka_unit_test(metrics_escape_labels_and_leave_out_the_unknown),
        cmocka_unit_test(readiness_reaches_the_service_manager),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
