/* compat.h: which NVIDIA driver runs which CUDA, and which framework wheel runs on which driver
 * and GPU. The facts are data, in one file (cuda_data.c); this header says how to ask them. */
#ifndef GPUCTL_DOCTOR_COMPAT_H
#define GPUCTL_DOCTOR_COMPAT_H

#include <stdbool.h>
#include <stddef.h>

/* CUDA versions are written as the driver API writes them: 1000 * major + 10 * minor (13000 is
 * 13.0, 12080 is 12.8). */

/* A CUDA toolkit release and the driver its GA release needs (NVIDIA's release notes, table 3).
 */
struct cuda_release {
    int cuda;
    const char *linux_driver;
    const char *windows_driver; /* NULL: NVIDIA gives none (13.1 on no longer bundles it) */
};

/* A CUDA major version and the oldest driver that runs programs built with any of its minor
 * releases (minor-version compatibility, table 2). */
struct cuda_major {
    int major;
    const char *linux_driver;
    const char *windows_driver;
};

/* One PyTorch wheel variant of one release: "2.14" built for cu130 with these architectures. */
struct torch_wheel {
    const char *release; /* "2.14": every 2.14.x */
    const char *tag;     /* "cu130"; index https://download.pytorch.org/whl/<tag> */
    int cuda;
    const char *archs; /* compute capabilities, "7.5 8.0 ... 12.0+PTX" (+PTX: also the PTX) */
};

/* A pip extra that installs another framework's GPU build for one CUDA major. */
struct framework_gpu_wheel {
    const char *framework; /* "jax", "tensorflow" */
    int cuda_major;
    const char *requirement; /* "jax[cuda13]" */
};

extern const struct cuda_release cuda_releases[]; /* oldest first, ends with {0} */
extern const struct cuda_major cuda_majors[];     /* oldest first, ends with {0} */
extern const struct torch_wheel torch_wheels[];   /* newest release first, each release's
                                                     variants newest CUDA first; ends with {0} */
extern const struct framework_gpu_wheel framework_gpu_wheels[]; /* newest first; ends {0} */
extern const char torch_index_url[];           /* "https://download.pytorch.org/whl/" */
extern const char *const torch_vendor_index[]; /* by enum gpuctl_vendor: AMD's and Intel's
                                                  wheel index ("rocm6.4", "xpu"); NVIDIA NULL */

/* Compares dotted version numbers ("581.29" and "580.65.06") field by field as numbers; a
 * missing field counts as 0. Returns <0, 0 or >0. */
int compat_version_compare(const char *a, const char *b);

/* Parses "12.4" (torch.version.cuda, TensorFlow's cuda_version) into 12040. Returns 0 when s is
 * NULL or not a version. */
int compat_cuda_parse(const char *s);

/* Writes 12040 as "12.4". */
void compat_cuda_format(int cuda, char *buf, size_t len);

/* The oldest driver that runs programs built for CUDA `cuda` (its major's minor-version
 * compatibility floor), for Windows drivers (WSL reports those) or Linux ones; NULL when the
 * table does not know that major. */
const char *compat_driver_floor(int cuda, bool windows);

/* The highest CUDA a driver version runs, from the toolkit table, for when NVML cannot say.
 * Returns 0 when the driver is older than every release in the table or unparsable. */
int compat_cuda_of_driver(const char *driver, bool windows);

/* Whether a driver that runs CUDA up to driver_cuda runs a program built for wheel_cuda: a newer
 * major always does, the same major does through minor-version compatibility. */
bool compat_driver_runs(int driver_cuda, int wheel_cuda);

/* Whether code built for `archs` runs on a GPU of compute capability major.minor. archs is
 * either a table string ("7.5 8.6 12.0+PTX") or torch.cuda.get_arch_list()'s names joined by
 * spaces ("sm_75 sm_86 compute_90"). A cubin runs on the same major with an equal or higher
 * minor; an arch-specific one ("sm_90a") only on that capability; PTX on any equal or higher
 * capability. */
bool compat_arch_runs(const char *archs, int major, int minor);

/* The table's row for an installed torch ("2.5.1+cu121", "12.1"), or NULL. */
const struct torch_wheel *compat_torch_installed(const char *version, int cuda);

/* The wheel to install for GPUs of the n compute capabilities ccs (10 * major + minor, 86 for
 * 8.6) on a driver that runs CUDA up to driver_cuda: from the newest release that has one that
 * runs them all, the newest variant whose CUDA the driver runs fully, else one it runs through
 * minor-version compatibility. NULL when none does (the driver is too old for every wheel with
 * these architectures, or no wheel has them all). */
const struct torch_wheel *compat_torch_pick(int driver_cuda, const int *ccs, size_t n);

/* The newest wheel, of any release, that runs all of ccs (whatever the driver), or NULL: what a
 * driver upgrade would make possible. */
const struct torch_wheel *compat_torch_newest(const int *ccs, size_t n);

/* The pip requirement for framework's GPU build on a driver that runs CUDA up to driver_cuda, or
 * NULL when the driver is too old for every one. */
const char *compat_framework_gpu_wheel(const char *framework, int driver_cuda);

#endif
