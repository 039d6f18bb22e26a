/* gpuctl.h: the public C API of libgpuctl: list this machine's GPUs, pick one, advise a precision.
 */
#ifndef GPUCTL_GPUCTL_H
#define GPUCTL_GPUCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(GPUCTL_BUILDING)
#define GPUCTL_EXTERN __attribute__((visibility("default")))
#else
#define GPUCTL_EXTERN
#endif

/*
 * Errors. Every function that can fail returns 0 or one of these negative codes; results travel
 * through out-parameters. gpuctl_strerror() and gpuctl_err_name() never return NULL.
 */
#define GPUCTL_ERRNO_MAP(XX)                                                                       \
    XX(EINVAL, -1, "invalid argument")                                                             \
    XX(ENOMEM, -2, "out of memory")                                                                \
    XX(ENODEV, -3, "no device fits the request")                                                   \
    XX(ENOENT, -4, "not found")                                                                    \
    XX(EIO, -5, "input/output error")                                                              \
    XX(ENOLIB, -6, "library not available")                                                        \
    XX(ERANGE, -7, "value out of range")                                                           \
    XX(EPERM, -8, "permission denied")

enum gpuctl_err {
#define GPUCTL_ERR_ENUM(name, value, msg) GPUCTL_##name = (value),
    GPUCTL_ERRNO_MAP(GPUCTL_ERR_ENUM)
#undef GPUCTL_ERR_ENUM
};

GPUCTL_EXTERN const char *gpuctl_strerror(int err);
GPUCTL_EXTERN const char *gpuctl_err_name(int err);
GPUCTL_EXTERN const char *gpuctl_version(void);

enum gpuctl_vendor {
    GPUCTL_VENDOR_NVIDIA,
    GPUCTL_VENDOR_AMD,
    GPUCTL_VENDOR_INTEL,
    GPUCTL_VENDOR_CPU,
};

/* "nvidia", "amd", "intel", "cpu". */
GPUCTL_EXTERN const char *gpuctl_vendor_name(enum gpuctl_vendor v);

/* Whether a device can be used at all. A device that is not OK reports no metrics. */
enum gpuctl_device_state {
    GPUCTL_STATE_OK,
    GPUCTL_STATE_LOST,         /* the driver says the GPU is lost (fell off the bus, XID 79) */
    GPUCTL_STATE_INACCESSIBLE, /* this user may not open it */
    GPUCTL_STATE_ERROR,        /* any other failure; state_message says which */
};

/* "ok", "lost", "inaccessible", "error". */
GPUCTL_EXTERN const char *gpuctl_state_name(enum gpuctl_device_state s);

/*
 * One bit per metric in struct gpuctl_device.valid. A metric whose bit is clear could not be
 * read (not supported, no permission, garbage): show it as missing, never as 0.
 */
enum gpuctl_metric {
    GPUCTL_M_COMPUTE_CAPABILITY,
    GPUCTL_M_MEMORY_TOTAL,
    GPUCTL_M_MEMORY_USED,
    GPUCTL_M_MEMORY_FREE,
    GPUCTL_M_MEMORY_RESERVED,
    GPUCTL_M_UTIL_GPU,
    GPUCTL_M_UTIL_MEMORY,
    GPUCTL_M_TEMPERATURE,
    GPUCTL_M_POWER_DRAW,
    GPUCTL_M_POWER_LIMIT,
    GPUCTL_M_CLOCK_SM,
    GPUCTL_M_CLOCK_MEM,
    GPUCTL_M_CLOCK_SM_MAX,
    GPUCTL_M_CLOCK_MEM_MAX,
    GPUCTL_M_FAN,
    GPUCTL_M_THROTTLE,
    GPUCTL_M_MIG,
    GPUCTL_M_PROCESSES,
    GPUCTL_M_CPU_CORES,
    GPUCTL_M_CPU_THREADS,
    GPUCTL_M_TEMPERATURE_JUNCTION,
    GPUCTL_M_FAN_RPM,
    GPUCTL_M_INTEGRATED,
    GPUCTL_M_ECC,   /* ecc_corrected, ecc_uncorrected */
    GPUCTL_M_REMAP, /* remap_pending, remap_failed */
    GPUCTL_M_COUNT
};

/* Bits of struct gpuctl_process.type. */
#define GPUCTL_PROC_COMPUTE  0x1u
#define GPUCTL_PROC_GRAPHICS 0x2u

/* A process using a GPU. Strings are "" when unknown (the process left, or /proc hides it). */
struct gpuctl_process {
    int pid;                /* NVIDIA: in the host's PID namespace; others: in gpuctl's */
    unsigned type;          /* GPUCTL_PROC_* bits; 0 when unknown */
    bool used_memory_valid; /* false when the driver does not say */
    uint64_t used_memory_bytes;
    bool utilization_valid; /* AMD and Intel, from the second refresh on */
    unsigned utilization_percent;
    char user[64];
    char command[256];
};

/* Bits of struct gpuctl_device.throttle_reasons (NVML's clock event reasons, same values). */
#define GPUCTL_THROTTLE_GPU_IDLE            0x1ull
#define GPUCTL_THROTTLE_APPLICATIONS_CLOCKS 0x2ull
#define GPUCTL_THROTTLE_SW_POWER_CAP        0x4ull
#define GPUCTL_THROTTLE_HW_SLOWDOWN         0x8ull
#define GPUCTL_THROTTLE_SYNC_BOOST          0x10ull
#define GPUCTL_THROTTLE_SW_THERMAL          0x20ull
#define GPUCTL_THROTTLE_HW_THERMAL          0x40ull
#define GPUCTL_THROTTLE_HW_POWER_BRAKE      0x80ull
#define GPUCTL_THROTTLE_DISPLAY_CLOCKS      0x100ull

/*
 * A device as every vendor's backend reports it. Strings are "" when unknown; numeric metrics
 * count only when their GPUCTL_M_* bit is set in `valid` (see gpuctl_device_has()).
 */
struct gpuctl_device {
    enum gpuctl_vendor vendor;
    int index;           /* N in "cuda:N" after masks; -1 for the CPU */
    int physical_index;  /* index among this vendor's GPUs in its runtime's order with no mask
                            (PCI order; Intel: discrete first); -1 for the CPU */
    char device[32];     /* "cuda:0" (NVIDIA; AMD as PyTorch on ROCm names it), "rocm:0" (AMD
                            beside NVIDIA), "xpu:0" (Intel), "cpu" */
    char name[96];       /* "NVIDIA H100 80GB HBM3" */
    char arch[16];       /* "sm_90", "gfx1100"; "" when unknown */
    char uuid[96];       /* "GPU-5d7b..." */
    char pci_bus_id[32]; /* "0000:18:00.0" */
    enum gpuctl_device_state state;
    char state_message[160];

    uint64_t valid; /* 1 << enum gpuctl_metric */
    int cc_major, cc_minor;
    uint64_t memory_total_bytes;
    uint64_t memory_used_bytes; /* used by allocations; excludes reserved where the driver says */
    uint64_t memory_free_bytes;
    uint64_t memory_reserved_bytes; /* taken by the driver and firmware */
    unsigned utilization_gpu_percent;
    unsigned utilization_memory_percent;
    int temperature_c;          /* NVIDIA: the GPU sensor; AMD: edge, else junction */
    int temperature_junction_c; /* AMD: the hottest spot */
    unsigned power_draw_mw;
    unsigned power_limit_mw;
    unsigned clock_sm_mhz, clock_mem_mhz;
    unsigned clock_sm_max_mhz, clock_mem_max_mhz;
    unsigned fan_percent;
    unsigned fan_rpm;
    uint64_t throttle_reasons; /* GPUCTL_THROTTLE_* bits */
    bool mig_enabled;
    bool integrated;          /* shares the CPU's memory (an iGPU) */
    uint64_t ecc_corrected;   /* volatile (since the driver loaded) single-bit errors */
    uint64_t ecc_uncorrected; /* volatile double-bit errors */
    bool remap_pending;       /* a row remapping waits for a GPU reset */
    bool remap_failed;        /* a row could not be remapped: the memory is failing */
    unsigned cpu_cores;       /* CPU device: physical cores */
    unsigned cpu_threads;     /* CPU device: logical CPUs */

    size_t process_count; /* valid with GPUCTL_M_PROCESSES */
    struct gpuctl_process *processes;
};

static inline bool gpuctl_device_has(const struct gpuctl_device *d, enum gpuctl_metric m)
{
    return (d->valid >> m) & 1u;
}

/* What one backend (vendor) found, for explaining an empty or partial list. */
struct gpuctl_backend_status {
    const char *name;      /* "nvidia", "cpu" */
    bool available;        /* the backend's library or driver answered */
    unsigned found;        /* devices found before masks */
    unsigned visible;      /* devices left after masks */
    bool mask_unsupported; /* a mask names devices gpuctl cannot list (MIG instances): the list
                              is not what programs see */
    bool processes_hidden; /* some processes could not be read (other users' without root), so
                              process lists and the utilization summed from them are partial or
                              unknown */
    bool order_differs;    /* programs may number these GPUs otherwise than gpuctl's PCI order
                              (CUDA_DEVICE_ORDER is not PCI_BUS_ID and the models differ): indices
                              are ambiguous, UUIDs are not */
    char message[320];     /* why unavailable, or what a mask did; "" when nothing to say */
};

#define GPUCTL_MAX_BACKENDS 8

struct gpuctl_system {
    char hostname[256];
    char driver_version[81]; /* NVIDIA driver; "" without one */
    char nvml_version[81];   /* "" without NVML */
    int cuda_driver_version; /* highest CUDA the driver runs, 12040 = 12.4; 0 when unknown */
    size_t backend_count;
    struct gpuctl_backend_status backends[GPUCTL_MAX_BACKENDS];
};

/* Flags for struct gpuctl_options.flags. */
#define GPUCTL_OPEN_NO_PROCESSES 0x1u /* skip the per-process lists (cheaper) */
#define GPUCTL_OPEN_NO_MASKS     0x2u /* ignore CUDA_VISIBLE_DEVICES and friends */
#define GPUCTL_OPEN_LINKS        0x4u /* learn how the GPUs are joined (gpuctl_link()) */

/*
 * Where hardware is read from. A NULL root falls back to its environment variable, then to the
 * system path: sysfs_root GPUCTL_SYSFS_ROOT or "/sys", procfs_root GPUCTL_PROCFS_ROOT or "/proc",
 * nvml_library GPUCTL_NVML_LIBRARY or "libnvidia-ml.so.1" (found by the dynamic loader, so
 * LD_LIBRARY_PATH applies).
 */
struct gpuctl_options {
    const char *sysfs_root;
    const char *procfs_root;
    const char *nvml_library;
    unsigned flags;
};

/* A snapshot of this machine's devices: GPUs in vendor then PCI order, then the CPU. */
struct gpuctl;

/*
 * Finds every device and reads its metrics once. A vendor without a driver is not an error: its
 * backend status says why. Returns 0 and sets *out (free with gpuctl_free()), or GPUCTL_ENOMEM.
 * opts may be NULL.
 */
GPUCTL_EXTERN int gpuctl_new(const struct gpuctl_options *opts, struct gpuctl **out);

/* Re-reads the dynamic metrics of every device. Pointers to devices stay valid; their process
 * arrays are replaced. Returns 0 or GPUCTL_ENOMEM. */
GPUCTL_EXTERN int gpuctl_refresh(struct gpuctl *g);

/* Releases everything gpuctl_new() made. gpuctl_free(NULL) does nothing. */
GPUCTL_EXTERN void gpuctl_free(struct gpuctl *g);

GPUCTL_EXTERN const struct gpuctl_system *gpuctl_system(const struct gpuctl *g);

/* Number of devices, the CPU included. */
GPUCTL_EXTERN size_t gpuctl_device_count(const struct gpuctl *g);

/* The i-th device (0 <= i < count), or NULL. Owned by g. */
GPUCTL_EXTERN const struct gpuctl_device *gpuctl_device_at(const struct gpuctl *g, size_t i);

/* Number of GPUs (devices other than the CPU). */
GPUCTL_EXTERN size_t gpuctl_gpu_count(const struct gpuctl *g);

/*
 * Finds a device by its spec: "cuda:N", "cpu", a UUID or an unambiguous UUID prefix ("GPU-5d7b").
 * "cuda" and "auto" name no single device and are refused here (see gpuctl_select()). Returns 0
 * and sets *out; GPUCTL_EINVAL when the spec is malformed, GPUCTL_ERANGE when an index is out
 * of range, GPUCTL_ENOENT when no UUID matches. On failure `msg` (may be NULL) receives a
 * sentence naming what exists, for example "device index 7 is out of range: this machine has
 * 2 GPUs (cuda:0, cuda:1)".
 */
GPUCTL_EXTERN int gpuctl_device_find(const struct gpuctl *g, const char *spec,
                                     const struct gpuctl_device **out, char *msg, size_t msg_len);

/* How closely two devices are joined, lower is closer: NVML's topology levels, with NVLink put
 * between the board and one PCIe switch. */
enum gpuctl_link_level {
    GPUCTL_LINK_UNKNOWN = -1,       /* different vendors, the CPU, or the driver cannot tell */
    GPUCTL_LINK_BOARD = 0,          /* the same board (a dual-GPU card), or the same device */
    GPUCTL_LINK_NVLINK = 5,         /* joined by NVLink */
    GPUCTL_LINK_PCIE_SWITCH = 10,   /* behind one PCIe switch */
    GPUCTL_LINK_PCIE_SWITCHES = 20, /* behind several PCIe switches, short of the host bridge */
    GPUCTL_LINK_HOST_BRIDGE = 30,   /* behind one PCIe host bridge */
    GPUCTL_LINK_NUMA_NODE = 40,     /* behind host bridges of one CPU (NUMA node) */
    GPUCTL_LINK_SYSTEM = 50,        /* across CPUs (QPI, UPI, Infinity Fabric) */
};

/* "board", "nvlink", "pcie-switch", "pcie-switches", "host-bridge", "numa-node", "system";
 * "unknown" for GPUCTL_LINK_UNKNOWN or any other value. */
GPUCTL_EXTERN const char *gpuctl_link_name(int level);

/*
 * How closely the devices at positions a and b (gpuctl_device_at() order) are joined: a
 * GPUCTL_LINK_* level, the same for (b, a); GPUCTL_LINK_BOARD (0) when a == b. Returns
 * GPUCTL_LINK_UNKNOWN (-1) when a or b is out of range, when the two come from different
 * backends or one is the CPU, when the backend cannot tell (today only NVIDIA's can; an old
 * driver, a vGPU), for a GPU that was lost or could not be opened when g was made, and for
 * every pair when g was opened without GPUCTL_OPEN_LINKS. With that flag gpuctl_new() asks the
 * driver once (NVIDIA: two NVML calls per pair of GPUs), so that commands that do not need it
 * do not pay for it; the answers never change after: gpuctl_link() may be called from any
 * thread, also while another thread calls gpuctl_refresh() on the same g.
 */
GPUCTL_EXTERN int gpuctl_link(const struct gpuctl *g, size_t a, size_t b);

/* Precision names follow PyTorch Lightning's `precision` argument. */
enum gpuctl_precision {
    GPUCTL_PRECISION_UNKNOWN,
    GPUCTL_PRECISION_32_TRUE,
    GPUCTL_PRECISION_16_MIXED,
    GPUCTL_PRECISION_BF16_MIXED,
};

struct gpuctl_precision_advice {
    enum gpuctl_precision precision;
    bool tf32;          /* TF32 matmuls available (torch.backends.cuda.matmul.allow_tf32) */
    const char *reason; /* a static sentence: why this precision */
};

/* "32-true", "16-mixed", "bf16-mixed"; NULL for GPUCTL_PRECISION_UNKNOWN. */
GPUCTL_EXTERN const char *gpuctl_precision_name(enum gpuctl_precision p);

/* Advises the training precision for a device from its vendor and compute capability. Always
 * fills *out; precision is GPUCTL_PRECISION_UNKNOWN when the device cannot tell (a lost GPU). */
GPUCTL_EXTERN void gpuctl_precision_advise(const struct gpuctl_device *d,
                                           struct gpuctl_precision_advice *out);

#define GPUCTL_UTIL_ANY   (-1)
#define GPUCTL_MAX_SELECT 64

/* What gpuctl_select() looks for. Zero-initialize, then set what matters; count 0 means 1. */
struct gpuctl_select_request {
    unsigned count;                 /* GPUs wanted */
    const char *device;             /* "auto" (or NULL), "cuda", "cuda:N", "cpu", a UUID (prefix) */
    uint64_t min_free_memory_bytes; /* 0: any */
    int max_utilization_percent;    /* GPUCTL_UTIL_ANY (-1): any */
    bool has_max_utilization;       /* set together with max_utilization_percent */
    const char *type;               /* case-insensitive substring of the model name; NULL: any */
};

/* A GPU that did not fit, and the constraints it failed ("free memory 3.20 GiB < 8.00 GiB"). */
struct gpuctl_rejection {
    const struct gpuctl_device *device;
    char reason[224];
};

struct gpuctl_selection {
    size_t count;
    const struct gpuctl_device *devices[GPUCTL_MAX_SELECT]; /* best first */
    size_t rejected_total;                                  /* GPUs considered that failed */
    size_t rejected_count; /* of which the first GPUCTL_MAX_SELECT are listed here */
    struct gpuctl_rejection rejected[GPUCTL_MAX_SELECT];
    char message[8192]; /* on failure: what was wrong, or which constraint failed on which GPU */
};

/*
 * Picks devices for a request. GPUs are ranked by most free memory, then lowest utilization,
 * then the higher index (GPU 0 stays free when all else is equal). "auto" means the best GPUs,
 * or the CPU on a machine without GPUs; "cpu" means the CPU.
 *
 * Returns 0 with sel filled; GPUCTL_EINVAL for a request that cannot make sense here (unknown
 * device, a count larger than the GPUs there are when there are some, GPU constraints on the
 * CPU): sel->message
 * names what exists; GPUCTL_ENODEV when fewer devices fit than asked, or there are no GPUs at
 * all, or a mask names devices gpuctl cannot list: sel->message says which constraint failed on
 * which GPU, or why there is none.
 */
GPUCTL_EXTERN int gpuctl_select(const struct gpuctl *g, const struct gpuctl_select_request *req,
                                struct gpuctl_selection *sel);

/* Something the hardware reported between refreshes. */
enum gpuctl_event_type {
    GPUCTL_EVENT_XID,       /* an NVIDIA Xid error; data is its number */
    GPUCTL_EVENT_ECC_DBE,   /* a double-bit (uncorrectable) memory error */
    GPUCTL_EVENT_ECC_SBE,   /* a single-bit (corrected) memory error */
    GPUCTL_EVENT_GPUS_LOST, /* the driver lost a GPU it cannot name (device is SIZE_MAX) */
};

struct gpuctl_event {
    enum gpuctl_event_type type;
    size_t device; /* its position in gpuctl_device_at() order; SIZE_MAX when unknown */
    unsigned long long data;
};

/*
 * Waits up to timeout_ms for the next hardware event of any device (today: NVIDIA's XID and ECC
 * events; only events from the first call on are delivered, never older ones). Returns 0 with
 * *ev filled; GPUCTL_ENOENT when the time passed without one; GPUCTL_ENOLIB when no device can
 * report events (then it returns at once); GPUCTL_EIO when the driver failed the wait. After
 * GPUCTL_EIO or a GPUCTL_EVENT_GPUS_LOST event, which also return at once, pause before waiting
 * again. One thread may wait while another calls gpuctl_refresh() on the same g.
 */
GPUCTL_EXTERN int gpuctl_wait_event(struct gpuctl *g, unsigned timeout_ms, struct gpuctl_event *ev);

/*
 * The device a program should use when it does not care which, and at what precision: the best
 * usable GPU as gpuctl_select() ranks them, else the CPU. Sets *out (never NULL: the CPU is
 * always there) and fills *advice (may be NULL).
 */
GPUCTL_EXTERN void gpuctl_recommend(const struct gpuctl *g, const struct gpuctl_device **out,
                                    struct gpuctl_precision_advice *advice);

#ifdef __cplusplus
}
#endif

#endif /* GPUCTL_GPUCTL_H */
