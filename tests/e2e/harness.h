/* harness.h: run the built gpuctl against a fake machine and capture what it says. */
#ifndef GPUCTL_TESTS_HARNESS_H
#define GPUCTL_TESTS_HARNESS_H

#include <jansson.h>

struct run {
    int status; /* exit status, or 128 + signal */
    char *out;
    char *err;
};

/*
 * Runs gpuctl with args (NULL-terminated) in a clean environment holding PATH, the sanitizer
 * options of this process, and:
 *   LD_LIBRARY_PATH=<fake NVML dir>/current, FAKE_NVML_FIXTURE=<fixtures>/nvml/<machine>.json
 *   (machine may also be an absolute path to a fixture), GPUCTL_PROCFS_ROOT=<fixtures>/procfs/
 *   workstation, GPUCTL_SYSFS_ROOT=<fixtures>/sysfs/none (no AMD or Intel GPU)
 * then the "NAME=VALUE" entries of env (NULL-terminated; may be NULL), which override those.
 * Fails the test when gpuctl cannot be started.
 */
void run_gpuctl(struct run *r, const char *machine, const char *const *env,
                const char *const *args);

/* As run_gpuctl(), with gpuctl's stdout going to the file at path (r->out stays empty). */
void run_gpuctl_to(struct run *r, const char *path, const char *machine, const char *const *env,
                   const char *const *args);

/* Writes a fixture of n identical GPUs (differing in UUID and PCI address) to path. */
void write_identical_gpus(const char *path, unsigned n);

/* Parses r->out as JSON, failing the test when it is not. */
json_t *run_json(const struct run *r);

void run_release(struct run *r);

/* A device of an info document by position. */
json_t *info_device(json_t *info, size_t i);

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define ENV(...)  ((const char *const[]){__VA_ARGS__, NULL})

/* Asserts a JSON member is a string equal to want. */
#define assert_json_str(obj, key, want)                                                            \
    assert_string_equal(json_string_value(json_object_get((obj), (key)))                           \
                            ? json_string_value(json_object_get((obj), (key)))                     \
                            : "(not a string)",                                                    \
                        (want))
#define assert_json_int(obj, key, want)                                                            \
    do {                                                                                           \
        assert_true(json_is_integer(json_object_get((obj), (key))));                               \
        assert_int_equal(json_integer_value(json_object_get((obj), (key))), (want));               \
    } while (0)
#define assert_json_null(obj, key) assert_true(json_is_null(json_object_get((obj), (key))))

#endif
