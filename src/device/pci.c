/* pci.c: PCI addresses. */
#include "device/pci.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <gpuctl/gpuctl.h>

#include "util/banned.h"

/* Reads 1 to max_digits hex digits at *p; returns false when there are none or too many. */
static bool hex_field(const char **p, int max_digits, unsigned *out)
{
    unsigned v = 0;
    int n = 0;

    for (; isxdigit((unsigned char)**p); (*p)++, n++) {
        if (n == max_digits)
            return false;
        v = v * 16 + (unsigned)(isdigit((unsigned char)**p)
                                    ? **p - '0'
                                    : tolower((unsigned char)**p) - 'a' + 10);
    }
    *out = v;
    return n > 0;
}

int pci_parse(const char *s, struct pci_addr *out)
{
    unsigned f[4] = {0, 0, 0, 0};
    const char *p = s;
    bool with_domain = strchr(s, ':') != strrchr(s, ':');

    memset(out, 0, sizeof(*out));
    if (with_domain && !(hex_field(&p, 8, &f[0]) && *p++ == ':'))
        return GPUCTL_EINVAL;
    if (!(hex_field(&p, 2, &f[1]) && *p++ == ':' && hex_field(&p, 2, &f[2]) && *p++ == '.' &&
          hex_field(&p, 1, &f[3]) && *p == '\0'))
        return GPUCTL_EINVAL;
    if (f[2] > 0x1f || f[3] > 7)
        return GPUCTL_EINVAL;
    *out = (struct pci_addr){
        .known = true, .domain = f[0], .bus = f[1], .device = f[2], .function = f[3]};
    return 0;
}

void pci_format(const struct pci_addr *a, char *buf, size_t len)
{
    if (!a->known) {
        if (len)
            buf[0] = '\0';
        return;
    }
    snprintf(buf, len, "%04x:%02x:%02x.%x", a->domain, a->bus, a->device, a->function);
}

static int cmp_u(unsigned x, unsigned y)
{
    return (x > y) - (x < y);
}

int pci_compare(const struct pci_addr *a, const struct pci_addr *b)
{
    const unsigned ka[] = {a->domain, a->bus, a->device, a->function};
    const unsigned kb[] = {b->domain, b->bus, b->device, b->function};

    if (a->known != b->known)
        return a->known ? -1 : 1;
    if (!a->known)
        return 0;
    for (size_t i = 0; i < sizeof(ka) / sizeof(ka[0]); i++) {
        int c = cmp_u(ka[i], kb[i]);
        if (c)
            return c;
    }
    return 0;
}
