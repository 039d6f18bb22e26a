/* identical.h: fixtures for the fake NVML of many identical GPUs, written by the tests and the
 * benchmarks that need more GPUs than the checked-in machines have. */
#ifndef GPUCTL_FAKE_NVML_IDENTICAL_H
#define GPUCTL_FAKE_NVML_IDENTICAL_H

/* Writes a fixture of n A100s with 80 GB and nothing running (differing in UUID and PCI
 * address) to path. Returns 0, or -1 when it cannot. */
int fake_nvml_write_identical(const char *path, unsigned n);

#endif
