/* test_env.c: the environment a program gets for its GPUs: each runtime's mask, the settings of
 * its framework, the precision advice, torchrun's variables, and the shell lines that set them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include <gpuctl/gpuctl.h>

#include "task/env.h"

#define GiB (1ull << 30)

static struct env_gpu gpu(enum gpuctl_vendor vendor, int index, const char *uuid)
{
    struct env_gpu g;

    memset(&g, 0, sizeof(g));
    g.vendor = vendor;
    g.physical_index = index;
    snprintf(g.uuid, sizeof(g.uuid), "%s", uuid);
    return g;
}

/* No framework, no precision, no distributed work. */
static struct env_options plain(void)
{
    return (struct env_options){.framework = FRAMEWORK_NONE, .rank = -1};
}

/* env[name] as text; "(null)" for a JSON null, "(absent)" when it is not there. */
static const char *var(const json_t *env, const char *name)
{
    const json_t *v = json_object_get(env, name);

    if (!v)
        return "(absent)";
    if (json_is_null(v))
        return "(null)";
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static void nvidia_gpus_go_by_physical_index_and_hide_the_others(void **state)
{
    struct env_gpu g[] = {gpu(GPUCTL_VENDOR_NVIDIA, 2, "GPU-bbbb"),
                          gpu(GPUCTL_VENDOR_NVIDIA, 0, "GPU-aaaa")};
    struct env_options o = plain();
    json_t *env = env_compose(g, 2, &o);

    (void)state;
    assert_non_null(env);
    assert_string_equal(var(env, "CUDA_VISIBLE_DEVICES"), "2,0");
    assert_string_equal(var(env, "ROCR_VISIBLE_DEVICES"), ""); /* hides AMD GPUs */
    assert_string_equal(var(env, "ZE_AFFINITY_MASK"), "(absent)");
    assert_string_equal(var(env, "HIP_VISIBLE_DEVICES"), "(absent)");
    assert_string_equal(var(env, "CUDA_DEVICE_ORDER"), "PCI_BUS_ID");
    assert_string_equal(var(env, "GPUCTL_GPUS"), "GPU-bbbb,GPU-aaaa");
    assert_string_equal(var(env, "GPUCTL_PRECISION"), "(absent)");
    assert_string_equal(var(env, "MASTER_ADDR"), "(absent)");
    assert_string_equal(var(env, "RANK"), "(absent)");
    assert_string_equal(var(env, "PYTORCH_CUDA_ALLOC_CONF"), "(absent)");
    assert_string_equal(var(env, "TF_FORCE_GPU_ALLOW_GROWTH"), "(absent)");
    assert_string_equal(var(env, "XLA_PYTHON_CLIENT_PREALLOCATE"), "(absent)");
    json_decref(env);
}

static void uuids_name_gpus_when_asked_and_a_slot_is_no_uuid(void **state)
{
    struct env_gpu g[] = {
        gpu(GPUCTL_VENDOR_NVIDIA, 1, "GPU-5d7b1c2e"), gpu(GPUCTL_VENDOR_NVIDIA, 3, ""),
        gpu(GPUCTL_VENDOR_AMD, 0, "GPU-a1b2c3d4"), gpu(GPUCTL_VENDOR_AMD, 2, "0000:c3:00.0"),
        gpu(GPUCTL_VENDOR_INTEL, 1, "0000:03:00.0")};
    struct env_options o = plain();
    json_t *env;

    (void)state;
    o.use_uuids = true;
    env = env_compose(g, 5, &o);
    assert_non_null(env);
    assert_string_equal(var(env, "CUDA_VISIBLE_DEVICES"), "GPU-5d7b1c2e,3");
    assert_string_equal(var(env, "ROCR_VISIBLE_DEVICES"), "GPU-a1b2c3d4,2");
    assert_string_equal(var(env, "ZE_AFFINITY_MASK"), "1"); /* Level Zero takes indices only */
    json_decref(env);
}

static void amd_gpus_unset_the_masks_hip_would_narrow_them_by(void **state)
{
    struct env_gpu g[] = {gpu(GPUCTL_VENDOR_AMD, 1, "GPU-a1"), gpu(GPUCTL_VENDOR_AMD, 3, "GPU-a3")};
    struct env_options o = plain();
    json_t *env = env_compose(g, 2, &o);

    (void)state;
    assert_non_null(env);
    assert_string_equal(var(env, "ROCR_VISIBLE_DEVICES"), "1,3");
    assert_string_equal(var(env, "HIP_VISIBLE_DEVICES"), "(null)");
    assert_string_equal(var(env, "CUDA_VISIBLE_DEVICES"), "(null)");
    assert_string_equal(var(env, "ZE_AFFINITY_MASK"), "(absent)");
    assert_string_equal(var(env, "GPUCTL_GPUS"), "GPU-a1,GPU-a3");
    json_decref(env);
}

static void nvidia_and_amd_gpus_each_get_their_own_mask(void **state)
{
    struct env_gpu g[] = {gpu(GPUCTL_VENDOR_NVIDIA, 0, "GPU-n0"),
                          gpu(GPUCTL_VENDOR_AMD, 1, "GPU-a1")};
    struct env_options o = plain();
    json_t *env = env_compose(g, 2, &o);

    (void)state;
    assert_non_null(env);
    assert_string_equal(var(env, "CUDA_VISIBLE_DEVICES"), "0");
    assert_string_equal(var(env, "ROCR_VISIBLE_DEVICES"), "1");
    assert_string_equal(var(env, "HIP_VISIBLE_DEVICES"), "(null)");
    json_decref(env);
}

static void intel_gpus_set_level_zeros_mask_only_when_given(void **state)
{
    struct env_gpu g[] = {gpu(GPUCTL_VENDOR_INTEL, 0, "0000:03:00.0"),
                          gpu(GPUCTL_VENDOR_INTEL, 1, "0000:04:00.0")};
    struct env_options o = plain();
    json_t *env = env_compose(g, 2, &o);

    (void)state;
    assert_non_null(env);
    assert_string_equal(var(env, "ZE_AFFINITY_MASK"), "0,1");
    assert_string_equal(var(env, "CUDA_VISIBLE_DEVICES"), "");
    assert_string_equal(var(env, "ROCR_VISIBLE_DEVICES"), "");
    assert_string_equal(var(env, "HIP_VISIBLE_DEVICES"), "(absent)");
    json_decref(env);
}

static void the_cpu_hides_every_gpu(void **state)
{
    struct env_options o = plain();
    json_t *env = env_compose(NULL, 0, &o);

    (void)state;
    assert_non_null(env);
    assert_string_equal(var(env, "CUDA_VISIBLE_DEVICES"), "");
    assert_string_equal(var(env, "ROCR_VISIBLE_DEVICES"), "");
    /* An empty ZE_AFFINITY_MASK would hide nothing, so it is left alone. */
    assert_string_equal(var(env, "ZE_AFFINITY_MASK"), "(absent)");
    assert_string_equal(var(env, "HIP_VISIBLE_DEVICES"), "(absent)");
    assert_string_equal(var(env, "CUDA_DEVICE_ORDER"), "PCI_BUS_ID");
    assert_string_equal(var(env, "GPUCTL_GPUS"), "");
    json_decref(env);
}

static void torch_and_tf_grow_their_memory_as_they_need(void **state)
{
    struct env_gpu g[] = {gpu(GPUCTL_VENDOR_NVIDIA, 0, "GPU-0")};
    struct env_options o = plain();
    json_t *env;

    (void)state;
    o.framework = FRAMEWORK_TORCH;
    env = env_compose(g, 1, &o);
    assert_string_equal(var(env, "PYTORCH_CUDA_ALLOC_CONF"), "expandable_segments:True");
    assert_string_equal(var(env, "TF_FORCE_GPU_ALLOW_GROWTH"), "(absent)");
    json_decref(env);
    o.framework = FRAMEWORK_TF;
    env = env_compose(g, 1, &o);
    assert_string_equal(var(env, "TF_FORCE_GPU_ALLOW_GROWTH"), "true");
    assert_string_equal(var(env, "PYTORCH_CUDA_ALLOC_CONF"), "(absent)");
    assert_string_equal(var(env, "XLA_PYTHON_CLIENT_PREALLOCATE"), "(absent)");
    json_decref(env);
}

/* XLA_PYTHON_CLIENT_MEM_FRACTION for JAX on g (n) with the option fraction. */
static char *jax_share(const struct env_gpu *g, size_t n, double fraction)
{
    static char out[32];
    struct env_options o = plain();
    json_t *env;

    o.framework = FRAMEWORK_JAX;
    o.fraction = fraction;
    env = env_compose(g, n, &o);
    assert_non_null(env);
    assert_string_equal(var(env, "XLA_PYTHON_CLIENT_PREALLOCATE"), "false");
    snprintf(out, sizeof(out), "%s", var(env, "XLA_PYTHON_CLIENT_MEM_FRACTION"));
    json_decref(env);
    return out;
}

static void jax_takes_its_reservation_not_the_whole_gpu(void **state)
{
    struct env_gpu g[] = {gpu(GPUCTL_VENDOR_NVIDIA, 0, "GPU-0"),
                          gpu(GPUCTL_VENDOR_NVIDIA, 1, "GPU-1")};

    (void)state;
    g[0].total = 80 * GiB;
    g[0].memory = 20 * GiB;
    assert_string_equal(jax_share(g, 1, 0), "0.25");
    /* Two GPUs: the share of the one it fills most, so that it fits on both. */
    g[1].total = 40 * GiB;
    g[1].memory = 20 * GiB;
    assert_string_equal(jax_share(g, 2, 0), "0.50");
    /* The request's fraction wins over the reservation. */
    assert_string_equal(jax_share(g, 2, 0.3), "0.30");
    /* Never more than all of it. */
    g[0].memory = 90 * GiB;
    assert_string_equal(jax_share(g, 1, 0), "1.00");
}

static void jax_without_a_reservation_or_known_size_sets_no_fraction(void **state)
{
    struct env_gpu g[] = {gpu(GPUCTL_VENDOR_NVIDIA, 0, "GPU-0")};

    (void)state;
    g[0].total = 80 * GiB;
    assert_string_equal(jax_share(g, 1, 0), "(absent)");
    g[0].total = 0;
    g[0].memory = 8 * GiB;
    assert_string_equal(jax_share(g, 1, 0), "(absent)");
    assert_string_equal(jax_share(NULL, 0, 0), "(absent)");
}

static void the_precision_advice_is_passed_on(void **state)
{
    struct env_gpu g[] = {gpu(GPUCTL_VENDOR_NVIDIA, 0, "GPU-0")};
    struct env_options o = plain();
    json_t *env;

    (void)state;
    o.precision = "bf16-mixed";
    env = env_compose(g, 1, &o);
    assert_string_equal(var(env, "GPUCTL_PRECISION"), "bf16-mixed");
    json_decref(env);
}

static void distributed_work_gets_torchruns_variables(void **state)
{
    struct env_gpu g[] = {gpu(GPUCTL_VENDOR_NVIDIA, 0, "GPU-0"),
                          gpu(GPUCTL_VENDOR_NVIDIA, 1, "GPU-1")};
    struct env_options o = plain();
    json_t *env;

    (void)state;
    o.distributed = true;
    o.master_port = 29400;
    env = env_compose(g, 2, &o);
    assert_string_equal(var(env, "MASTER_ADDR"), "127.0.0.1");
    assert_string_equal(var(env, "MASTER_PORT"), "29400");
    assert_string_equal(var(env, "WORLD_SIZE"), "2");
    assert_string_equal(var(env, "LOCAL_WORLD_SIZE"), "2");
    assert_string_equal(var(env, "RANK"), "(absent)"); /* torchrun gives each process its own */
    assert_string_equal(var(env, "LOCAL_RANK"), "(absent)");
    json_decref(env);
    /* One process per GPU: each is told its rank. */
    o.rank = 1;
    env = env_compose(g, 2, &o);
    assert_string_equal(var(env, "RANK"), "1");
    assert_string_equal(var(env, "LOCAL_RANK"), "1");
    json_decref(env);
    /* A rank alone is distributed work too; rank 0 is a rank. */
    o.distributed = false;
    o.rank = 0;
    env = env_compose(g, 2, &o);
    assert_string_equal(var(env, "MASTER_ADDR"), "127.0.0.1");
    assert_string_equal(var(env, "RANK"), "0");
    assert_string_equal(var(env, "LOCAL_RANK"), "0");
    json_decref(env);
}

static void distributed_work_on_the_cpu_is_a_world_of_one(void **state)
{
    struct env_options o = plain();
    json_t *env;
    int port;

    (void)state;
    o.distributed = true; /* master_port 0: a free one */
    env = env_compose(NULL, 0, &o);
    assert_string_equal(var(env, "WORLD_SIZE"), "1");
    assert_string_equal(var(env, "LOCAL_WORLD_SIZE"), "1");
    port = atoi(var(env, "MASTER_PORT"));
    assert_in_range(port, 1, 65535);
    json_decref(env);
}

static void a_free_port_can_be_bound_on_the_loopback(void **state)
{
    int port = env_free_port();
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    (void)state;
    assert_in_range(port, 1, 65535);
    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
}

static struct gpuctl_device nvidia(int major, int minor)
{
    struct gpuctl_device d;

    memset(&d, 0, sizeof(d));
    d.vendor = GPUCTL_VENDOR_NVIDIA;
    d.cc_major = major;
    d.cc_minor = minor;
    d.valid = 1u << GPUCTL_M_COMPUTE_CAPABILITY;
    return d;
}

static struct gpuctl_device other(enum gpuctl_vendor vendor, const char *arch)
{
    struct gpuctl_device d;

    memset(&d, 0, sizeof(d));
    d.vendor = vendor;
    snprintf(d.arch, sizeof(d.arch), "%s", arch);
    return d;
}

static void bf16_only_when_every_device_takes_it(void **state)
{
    struct gpuctl_device a100 = nvidia(8, 0), h100 = nvidia(9, 0), v100 = nvidia(7, 0);
    struct gpuctl_device p100 = nvidia(6, 0), mi250 = other(GPUCTL_VENDOR_AMD, "gfx90a");
    struct gpuctl_device rdna2 = other(GPUCTL_VENDOR_AMD, "gfx1030");
    struct gpuctl_device arc = other(GPUCTL_VENDOR_INTEL, "");
    const struct gpuctl_device *devs[3];

    (void)state;
    devs[0] = &a100;
    devs[1] = &h100;
    assert_string_equal(env_precision(devs, 2), "bf16-mixed");
    devs[1] = &v100;
    assert_string_equal(env_precision(devs, 2), "16-mixed");
    devs[2] = &p100;
    assert_string_equal(env_precision(devs, 3), "32-true");
    devs[0] = &mi250;
    devs[1] = &arc;
    assert_string_equal(env_precision(devs, 2), "bf16-mixed");
    devs[1] = &rdna2;
    assert_string_equal(env_precision(devs, 2), "16-mixed");
    assert_string_equal(env_precision(devs, 0), "32-true"); /* the CPU */
}

static void a_device_that_cannot_tell_counts_as_full_precision(void **state)
{
    struct gpuctl_device a100 = nvidia(8, 0), lost = nvidia(8, 0), nocc = nvidia(8, 0);
    const struct gpuctl_device *devs[2] = {&a100, &lost};

    (void)state;
    lost.state = GPUCTL_STATE_LOST;
    assert_string_equal(env_precision(devs, 2), "32-true");
    nocc.valid = 0;
    devs[1] = &nocc;
    assert_string_equal(env_precision(devs, 2), "32-true");
}

/* env_print_shell's lines for env, in a static buffer. */
static const char *shell(const json_t *env)
{
    static char out[1024];
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    env_print_shell(env, f);
    assert_int_equal(fclose(f), 0);
    snprintf(out, sizeof(out), "%s", text);
    free(text);
    return out;
}

static void shell_lines_quote_every_value_and_unset_nulls(void **state)
{
    json_t *env = json_pack("{s:s, s:s, s:n, s:s, s:s}", "A", "plain", "B", "it's $HOME; `ls`", "C",
                            "D", "", "E", "a\\b \"c\"");

    (void)state;
    assert_non_null(env);
    assert_string_equal(shell(env), "export A='plain'\n"
                                    "export B='it'\\''s $HOME; `ls`'\n"
                                    "unset C\n"
                                    "export D=''\n"
                                    "export E='a\\b \"c\"'\n");
    json_decref(env);
    env = json_object();
    assert_string_equal(shell(env), "");
    json_decref(env);
}

static void an_amd_environment_reads_as_shell_lines(void **state)
{
    struct env_gpu g[] = {gpu(GPUCTL_VENDOR_AMD, 0, "GPU-a0")};
    struct env_options o = plain();
    json_t *env = env_compose(g, 1, &o);

    (void)state;
    assert_string_equal(shell(env), "unset CUDA_VISIBLE_DEVICES\n"
                                    "export ROCR_VISIBLE_DEVICES='0'\n"
                                    "unset HIP_VISIBLE_DEVICES\n"
                                    "export CUDA_DEVICE_ORDER='PCI_BUS_ID'\n"
                                    "export GPUCTL_GPUS='GPU-a0'\n");
    json_decref(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nvidia_gpus_go_by_physical_index_and_hide_the_others),
        cmocka_unit_test(uuids_name_gpus_when_asked_and_a_slot_is_no_uuid),
        cmocka_unit_test(amd_gpus_unset_the_masks_hip_would_narrow_them_by),
        cmocka_unit_test(nvidia_and_amd_gpus_each_get_their_own_mask),
        cmocka_unit_test(intel_gpus_set_level_zeros_mask_only_when_given),
        cmocka_unit_test(the_cpu_hides_every_gpu),
        cmocka_unit_test(torch_and_tf_grow_their_memory_as_they_need),
        cmocka_unit_test(jax_takes_its_reservation_not_the_whole_gpu),
        cmocka_unit_test(jax_without_a_reservation_or_known_size_sets_no_fraction),
        cmocka_unit_test(the_precision_advice_is_passed_on),
        cmocka_unit_test(distributed_work_gets_torchruns_variables),
        cmocka_unit_test(distributed_work_on_the_cpu_is_a_world_of_one),
        cmocka_unit_test(a_free_port_can_be_bound_on_the_loopback),
        cmocka_unit_test(bf16_only_when_every_device_takes_it),
        cmocka_unit_test(a_device_that_cannot_tell_counts_as_full_precision),
        cmocka_unit_test(shell_lines_quote_every_value_and_unset_nulls),
        cmocka_unit_test(an_amd_environment_reads_as_shell_lines),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
