/* links.c: how closely the registry's devices are joined: one matrix, filled once per backend. */
#include "device/links.h"

#include <stdlib.h>
#include <string.h>

#include <gpuctl/gpuctl.h>

#include "util/banned.h"

int8_t *links_new(size_t n)
{
    int8_t *m = NULL;

    if (n > 0 && n > SIZE_MAX / n)
        return NULL;
    m = malloc(n * n + 1);
    if (!m)
        return NULL;
    memset(m, GPUCTL_LINK_UNKNOWN, n * n);
    for (size_t i = 0; i < n; i++)
        m[i * n + i] = GPUCTL_LINK_BOARD;
    return m;
}

void links_fill(int8_t *m, const struct devslot *v, size_t n, const struct backend *be, void *state)
{
    if (!be->link)
        return;
    for (size_t i = 0; i < n; i++) {
        if (v[i].be != be)
            continue;
        for (size_t j = i + 1; j < n; j++) {
            int level;
            if (v[j].be != be)
                continue;
            level = be->link(state, &v[i], &v[j]);
            if (level < GPUCTL_LINK_UNKNOWN || level > INT8_MAX)
                level = GPUCTL_LINK_UNKNOWN;
            m[i * n + j] = m[j * n + i] = (int8_t)level;
        }
    }
}

const char *gpuctl_link_name(int level)
{
    static const struct {
        int level;
        const char *name;
    } names[] = {
        {GPUCTL_LINK_BOARD, "board"},
        {GPUCTL_LINK_NVLINK, "nvlink"},
        {GPUCTL_LINK_PCIE_SWITCH, "pcie-switch"},
        {GPUCTL_LINK_PCIE_SWITCHES, "pcie-switches"},
        {GPUCTL_LINK_HOST_BRIDGE, "host-bridge"},
        {GPUCTL_LINK_NUMA_NODE, "numa-node"},
        {GPUCTL_LINK_SYSTEM, "system"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].level == level)
            return names[i].name;
    return "unknown";
}
