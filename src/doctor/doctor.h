/* doctor.h: `gpuctl doctor`'s checks: why this machine's GPU is not used, and the exact fix.
 *
 * doctor_run() looks at the machine in order (hardware on PCI, drivers, device files, the
 * driver's CUDA, variables and containers that hide GPUs), asks each Python interpreter what its
 * frameworks see (probe.c), and diagnoses what it found (frameworks.c). Each step appends
 * checks to a report; printing is the command's job (cmd_doctor.c). */
#ifndef GPUCTL_DOCTOR_DOCTOR_H
#define GPUCTL_DOCTOR_DOCTOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include <gpuctl/gpuctl.h>

enum doctor_status {
    DOCTOR_OK,   /* ✓ */
    DOCTOR_WARN, /* ! works, with advice */
    DOCTOR_FAIL, /* ✗ the GPU will not be used until this is fixed */
    DOCTOR_SKIP, /* - nothing to check (a framework that is not installed) */
};

/* "ok", "warn", "fail", "skip". */
const char *doctor_status_name(enum doctor_status s);

struct doctor_check {
    char id[24];      /* "pci", "driver.nvidia", "torch" ... */
    char python[256]; /* the interpreter a framework check is about; "" for the others */
    enum doctor_status status;
    char finding[768]; /* what was found, one or more sentences */
    char fix[1024];    /* the exact fix; "" when there is nothing to do */
};

#define DOCTOR_MAX_CHECKS 96

struct doctor_report {
    size_t n;
    struct doctor_check checks[DOCTOR_MAX_CHECKS];
};

/* Appends a check and returns it (id and status set, the rest empty); past DOCTOR_MAX_CHECKS it
 * returns a scratch check that is not kept. */
struct doctor_check *doctor_add(struct doctor_report *r, const char *id, enum doctor_status st);

#define DOCTOR_MAX_PCI     32
#define DOCTOR_MAX_PYTHONS 8

/* A display controller of a GPU vendor on the PCI bus, bound to a driver or not. */
struct doctor_pci {
    char addr[16]; /* "0000:01:00.0" */
    enum gpuctl_vendor vendor;
    unsigned vendor_id, device_id, class_code;
    char driver[32];  /* the bound kernel module; "" when none */
    char render[16];  /* its DRM render node, "renderD128"; "" when none */
    int nvidia_minor; /* /dev/nvidiaN; -1 when unknown */
    char name[96];    /* from the driver when it answers; "" otherwise */
};

/* What the checks learn of the machine, for the checks after them. */
struct doctor_machine {
    const char *sysfs_root, *procfs_root, *dev_root;
    struct doctor_pci pci[DOCTOR_MAX_PCI];
    size_t npci;
    bool wsl;                  /* Windows Subsystem for Linux 2: GPUs through /dev/dxg, no PCI */
    char container[32];        /* "docker", "podman", "kubernetes" ...; "" when not in one */
    struct gpuctl *all;        /* every device, masks ignored (NULL when it could not be read) */
    struct gpuctl *seen;       /* the devices programs see after CUDA_VISIBLE_DEVICES and friends */
    const char *nvidia_driver; /* "581.29"; NULL when NVML did not answer */
    char module_version[32];   /* the nvidia kernel module's, from procfs; "" when unknown */
    int ccs[16];               /* compute capabilities (86 for 8.6) of the NVIDIA GPUs programs
                                  see (all when a mask hides every one) */
    size_t nccs;
    int driver_cuda;        /* the highest CUDA the NVIDIA driver runs; 0: unknown, none */
    bool gpu_works[4];      /* by enum gpuctl_vendor: a GPU of that vendor is usable */
    bool hidden[4];         /* by vendor: a variable hides every one of its GPUs */
    char hidden_by[4][160]; /* "CUDA_VISIBLE_DEVICES=\"\"" */
};

struct doctor_options {
    struct gpuctl_options open;              /* sysfs, procfs roots and the NVML library */
    const char *dev_root;                    /* NULL: GPUCTL_DEV_ROOT, else "/dev" */
    const char *pythons[DOCTOR_MAX_PYTHONS]; /* --python; none: python3 (else python) on PATH */
    size_t npythons;
    double timeout_s; /* per interpreter */
};

/* Runs every check into r. Returns 0, or GPUCTL_ENOMEM. */
int doctor_run(const struct doctor_options *o, struct doctor_report *r);

/* hardware.c: the hardware, driver and visibility checks; fills m. */
void doctor_check_hardware(struct doctor_machine *m, struct doctor_report *r);

/* Whether every GPU of vendor v that the drivers list is integrated (an iGPU is not what
 * frameworks should be built for, nor a reason to fail). */
bool doctor_only_integrated(const struct doctor_machine *m, enum gpuctl_vendor v);

/* Writes the architectures of m->ccs as "sm_61 and sm_120". */
void doctor_ccs_text(const struct doctor_machine *m, char *out, size_t len);

/* Explains why a device file cannot be opened from its mode, owner and group, and the caller's
 * uid and groups: the group to join, or that only its owner may. Writes "" when the bits let the
 * caller read and write it (something else refused: an ACL, a security module). */
void doctor_explain_access(unsigned mode, unsigned owner, unsigned group, const char *group_name,
                           unsigned uid, const unsigned *groups, size_t ngroups, char *out,
                           size_t len);

/* frameworks.c: the checks of one interpreter's report (see probe.h), and advice per GPU. */
struct probe_result;
void doctor_check_python(const struct doctor_machine *m, const struct probe_result *p,
                         struct doctor_report *r);
void doctor_check_memory(const struct doctor_machine *m, struct doctor_report *r);

#endif
