/* pci.h: PCI addresses ("0000:3b:00.0") parsed, compared and printed one way for all vendors. */
#ifndef GPUCTL_DEVICE_PCI_H
#define GPUCTL_DEVICE_PCI_H

#include <stdbool.h>
#include <stddef.h>

struct pci_addr {
    bool known;
    unsigned domain, bus, device, function;
};

/* Parses "DDDDDDDD:BB:DD.F" (NVML), "DDDD:BB:DD.F" (sysfs) or "BB:DD.F", any case.
 * Returns 0, or GPUCTL_EINVAL (out is then unknown). */
int pci_parse(const char *s, struct pci_addr *out);

/* Writes the canonical form "0000:3b:00.0" (the kernel's and CUDA's). */
void pci_format(const struct pci_addr *a, char *buf, size_t len);

/* Orders by domain, bus, device, function; unknown addresses sort last. */
int pci_compare(const struct pci_addr *a, const struct pci_addr *b);

#endif
