/* nvml_procs.c: the processes on an NVIDIA GPU, through whichever process-list entry point the
 * driver has, guarding against drivers that write wider entries than their header says. */
#include <stdlib.h>
#include <string.h>

#include "device/backend.h"
#include "device/nvml_api.h"
#include "util/banned.h"

/* More processes than any GPU runs; a larger count from the driver is not believed. */
#define NVML_MAX_PROCESSES 65536u

/* One process-list entry point and the stride of the entries it writes. */
struct proc_variant {
    nvml_proc_fn fn;
    size_t stride;
    bool may_be_cc; /* _v3: some drivers write 32-byte entries; measure */
};

/* Whether the call wrote any byte in [from, to) of a buffer filled with 0xAA. */
static bool wrote_between(const unsigned char *buf, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (buf[i] != 0xAA)
            return true;
    return false;
}

/*
 * The stride of the entries a _v3 call wrote for count processes into buf (room for cap 32-byte
 * entries, filled with 0xAA before the call): 32 when it wrote in [count*24, count*32), else 24.
 * A driver that wrote beyond count*32 (cleared the buffer first) tells nothing that way; then
 * nvitop's rule decides: 32 only for the R530/R535 libraries, which have
 * nvmlDeviceGetConfComputeMemSizeInfo but not yet nvmlDeviceGetRunningProcessDetailList.
 */
static size_t v3_stride(const struct nvml_state *s, const unsigned char *buf, size_t count,
                        size_t cap)
{
    if (wrote_between(buf, count * NVML_PROCESS_CC_STRIDE, cap * NVML_PROCESS_CC_STRIDE))
        return s->api.conf_compute_mem_size_info && !s->api.running_process_detail_list
                   ? NVML_PROCESS_CC_STRIDE
                   : NVML_PROCESS_V2_STRIDE;
    return wrote_between(buf, count * NVML_PROCESS_V2_STRIDE, count * NVML_PROCESS_CC_STRIDE)
               ? NVML_PROCESS_CC_STRIDE
               : NVML_PROCESS_V2_STRIDE;
}

/* Adds entries to the device's process list, merging a pid listed twice. */
static int add_processes(struct gpuctl_device *d, const unsigned char *buf, size_t n, size_t stride,
                         unsigned type)
{
    for (size_t i = 0; i < n; i++) {
        unsigned pid;
        unsigned long long mem;
        struct gpuctl_process *p;

        memcpy(&pid, buf + i * stride, sizeof(pid));
        memcpy(&mem, buf + i * stride + 8, sizeof(mem));
        p = devslot_process(d, (int)pid);
        if (!p)
            return GPUCTL_ENOMEM;
        p->type |= type;
        if (mem != NVML_VALUE_NOT_AVAILABLE &&
            (!p->used_memory_valid || mem > p->used_memory_bytes)) {
            p->used_memory_valid = true;
            p->used_memory_bytes = mem;
        }
    }
    return 0;
}

/*
 * Lists processes through one entry point with NVML's size protocol: ask with no buffer, then
 * with room for twice the count plus five (processes come and go between calls). The buffer
 * always has room for 32-byte entries, so a driver that writes wider entries than its header
 * says cannot overrun it; for _v3 the stride it used is measured from the bytes it wrote.
 * Returns the NVML code; on success the processes are added to d.
 */
static int list_processes(const struct nvml_state *s, const struct proc_variant *v,
                          struct gpuctl_device *d, struct nvml_device *h, unsigned type,
                          int *gp_err)
{
    unsigned count = 0;
    int rc = v->fn(h, &count, NULL);

    *gp_err = 0;
    if (rc == NVML_SUCCESS)
        return rc;
    for (int attempt = 0; attempt < 4 && rc == NVML_ERROR_INSUFFICIENT_SIZE; attempt++) {
        unsigned cap = count < NVML_MAX_PROCESSES ? count * 2 + 5 : NVML_MAX_PROCESSES;
        size_t bytes = (size_t)cap * NVML_PROCESS_CC_STRIDE;
        unsigned char *buf = malloc(bytes);
        size_t stride;

        if (!buf) {
            *gp_err = GPUCTL_ENOMEM;
            return rc;
        }
        memset(buf, 0xAA, bytes);
        count = cap;
        rc = v->fn(h, &count, buf);
        if (rc == NVML_SUCCESS && count > cap)
            rc = NVML_ERROR_UNKNOWN;
        if (rc == NVML_SUCCESS) {
            stride = v->may_be_cc ? v3_stride(s, buf, count, cap) : v->stride;
            *gp_err = add_processes(d, buf, count, stride, type);
        }
        free(buf);
    }
    return rc;
}

/* How reading one kind of process list went. */
enum kind_result {
    KIND_READ,   /* the list was read */
    KIND_NONE,   /* the driver has no such list for this GPU (NOT_SUPPORTED, no entry point) */
    KIND_FAILED, /* it has one but would not give it */
};

/* Reads one kind of process list with the newest entry point the library has. */
static enum kind_result read_process_kind(const struct nvml_state *s, struct gpuctl_device *d,
                                          struct nvml_device *h,
                                          const struct proc_variant *variants, unsigned type,
                                          int *err)
{
    for (size_t i = 0; i < 3; i++) {
        int rc;
        if (!variants[i].fn)
            continue;
        rc = list_processes(s, &variants[i], d, h, type, err);
        if (*err)
            return KIND_FAILED;
        if (rc == NVML_SUCCESS)
            return KIND_READ;
        if (rc == NVML_ERROR_NOT_SUPPORTED)
            return KIND_NONE;
        if (rc != NVML_ERROR_FUNCTION_NOT_FOUND && rc != NVML_ERROR_ARGUMENT_VERSION_MISMATCH) {
            nvml_check(
                s, d, type == GPUCTL_PROC_COMPUTE ? "compute processes" : "graphics processes", rc);
            return KIND_FAILED;
        }
    }
    return KIND_NONE;
}

int nvml_read_processes(const struct nvml_state *s, struct gpuctl_device *d, struct nvml_device *h)
{
    const struct proc_variant compute[3] = {
        {s->api.compute_v3, NVML_PROCESS_V2_STRIDE, true},
        {s->api.compute_v2, NVML_PROCESS_V2_STRIDE, false},
        {s->api.compute_v1, NVML_PROCESS_V1_STRIDE, false},
    };
    const struct proc_variant graphics[3] = {
        {s->api.graphics_v3, NVML_PROCESS_V2_STRIDE, true},
        {s->api.graphics_v2, NVML_PROCESS_V2_STRIDE, false},
        {s->api.graphics_v1, NVML_PROCESS_V1_STRIDE, false},
    };
    enum kind_result c, gr = KIND_NONE;
    int err = 0;

    c = read_process_kind(s, d, h, compute, GPUCTL_PROC_COMPUTE, &err);
    if (!err && d->state == GPUCTL_STATE_OK)
        gr = read_process_kind(s, d, h, graphics, GPUCTL_PROC_GRAPHICS, &err);
    /* A partial list would pass for a complete one: show none unless every list was read. */
    if (c != KIND_FAILED && gr != KIND_FAILED && (c == KIND_READ || gr == KIND_READ) &&
        d->state == GPUCTL_STATE_OK)
        d->valid |= UINT64_C(1) << GPUCTL_M_PROCESSES;
    return err;
}
