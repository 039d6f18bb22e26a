/* precision.c: which training precision a device runs best, as one table. */
#include <string.h>

#include <gpuctl/gpuctl.h>

#include "util/banned.h"

/* The first row that matches wins: the vendor, then (NVIDIA) a minimum compute capability
 * (major * 10 + minor), or (AMD) an architecture prefix; -1 and NULL match anything. */
static const struct precision_rule {
    enum gpuctl_vendor vendor;
    int min_cc;
    const char *arch;
    enum gpuctl_precision precision;
    bool tf32;
    const char *reason;
} rules[] = {
    {GPUCTL_VENDOR_NVIDIA, 80, NULL, GPUCTL_PRECISION_BF16_MIXED, true,
     "compute capability 8.0 or newer has bf16 tensor cores and TF32"},
    {GPUCTL_VENDOR_NVIDIA, 70, NULL, GPUCTL_PRECISION_16_MIXED, false,
     "compute capability 7.x has fp16 tensor cores but no bf16"},
    {GPUCTL_VENDOR_NVIDIA, 0, NULL, GPUCTL_PRECISION_32_TRUE, false,
     "compute capability below 7.0 has no tensor cores"},
    {GPUCTL_VENDOR_AMD, -1, "gfx90a", GPUCTL_PRECISION_BF16_MIXED, false,
     "CDNA2 (MI200) has bf16 matrix cores"},
    {GPUCTL_VENDOR_AMD, -1, "gfx94", GPUCTL_PRECISION_BF16_MIXED, false,
     "CDNA3 (MI300) has bf16 matrix cores"},
    {GPUCTL_VENDOR_AMD, -1, "gfx95", GPUCTL_PRECISION_BF16_MIXED, false,
     "CDNA4 (MI350) has bf16 matrix cores"},
    {GPUCTL_VENDOR_AMD, -1, "gfx11", GPUCTL_PRECISION_BF16_MIXED, false,
     "RDNA3 has bf16 WMMA instructions"},
    {GPUCTL_VENDOR_AMD, -1, "gfx12", GPUCTL_PRECISION_BF16_MIXED, false,
     "RDNA4 has bf16 WMMA instructions"},
    {GPUCTL_VENDOR_AMD, -1, NULL, GPUCTL_PRECISION_16_MIXED, false,
     "GCN, CDNA1 and RDNA1/2 GPUs run fp16 well but bf16 slowly"},
    {GPUCTL_VENDOR_INTEL, -1, NULL, GPUCTL_PRECISION_BF16_MIXED, false,
     "Intel Xe GPUs run bf16, PyTorch's default for xpu autocast"},
    {GPUCTL_VENDOR_CPU, -1, NULL, GPUCTL_PRECISION_32_TRUE, false, "CPUs train in full precision"},
};

static const char *const precision_names[] = {
    [GPUCTL_PRECISION_UNKNOWN] = NULL,
    [GPUCTL_PRECISION_32_TRUE] = "32-true",
    [GPUCTL_PRECISION_16_MIXED] = "16-mixed",
    [GPUCTL_PRECISION_BF16_MIXED] = "bf16-mixed",
};

const char *gpuctl_precision_name(enum gpuctl_precision p)
{
    if ((unsigned)p >= sizeof(precision_names) / sizeof(precision_names[0]))
        return NULL;
    return precision_names[p];
}

void gpuctl_precision_advise(const struct gpuctl_device *d, struct gpuctl_precision_advice *out)
{
    bool has_cc = gpuctl_device_has(d, GPUCTL_M_COMPUTE_CAPABILITY);
    int cc = has_cc ? d->cc_major * 10 + d->cc_minor : -1;

    *out = (struct gpuctl_precision_advice){GPUCTL_PRECISION_UNKNOWN, false,
                                            "the device reports no compute capability"};
    if (d->state != GPUCTL_STATE_OK) {
        out->reason = "the device is not usable";
        return;
    }
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        const struct precision_rule *r = &rules[i];
        if (r->vendor != d->vendor || (r->min_cc >= 0 && (!has_cc || cc < r->min_cc)) ||
            (r->arch && strncmp(d->arch, r->arch, strlen(r->arch)) != 0))
            continue;
        *out = (struct gpuctl_precision_advice){r->precision, r->tf32, r->reason};
        return;
    }
}
