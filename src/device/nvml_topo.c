/* nvml_topo.c: the NVIDIA backend's interconnect topology: how closely two GPUs are joined. */
#include "device/backend.h"
#include "device/nvml_api.h"
#include "util/banned.h"
#include "util/log.h"

/* Whether NVML's level is one gpuctl knows (they share their values). */
static bool known_level(int level)
{
    switch (level) {
    case NVML_TOPOLOGY_SINGLE:
    case NVML_TOPOLOGY_MULTIPLE:
    case NVML_TOPOLOGY_HOSTBRIDGE:
    case NVML_TOPOLOGY_NODE:
    case NVML_TOPOLOGY_SYSTEM:
        return true;
    default:
        return false;
    }
}

/* Logs a failed topology query; NOT_SUPPORTED is expected (vGPUs, some platforms). */
static void note(const struct nvml_state *s, const struct devslot *a, const struct devslot *b,
                 const char *what, int rc)
{
    if (rc != NVML_ERROR_NOT_SUPPORTED)
        log_debug("%s, %s: %s: NVML: %s (code %d)", a->dev.pci_bus_id, b->dev.pci_bus_id, what,
                  nvml_errstr(s, rc), rc);
}

int nvml_link(void *state, const struct devslot *a, const struct devslot *b)
{
    const struct nvml_state *s = state;
    int level = -1, status = -1, found = NVML_ERROR_FUNCTION_NOT_FOUND, rc;

    if (!a->handle || !b->handle || a->dev.state != GPUCTL_STATE_OK ||
        b->dev.state != GPUCTL_STATE_OK)
        return GPUCTL_LINK_UNKNOWN;
    if (a->handle == b->handle)
        return GPUCTL_LINK_BOARD;
    if (s->api.topology_common_ancestor) {
        found = s->api.topology_common_ancestor(a->handle, b->handle, &level);
        if (found == NVML_SUCCESS && level == NVML_TOPOLOGY_INTERNAL)
            return GPUCTL_LINK_BOARD;
        if (found == NVML_ERROR_GPU_IS_LOST)
            return GPUCTL_LINK_UNKNOWN;
        if (found != NVML_SUCCESS)
            note(s, a, b, "topology common ancestor", found);
    }
    if (s->api.p2p_status) {
        rc = s->api.p2p_status(a->handle, b->handle, NVML_P2P_CAPS_INDEX_NVLINK, &status);
        if (rc == NVML_SUCCESS && status == NVML_P2P_STATUS_OK)
            return GPUCTL_LINK_NVLINK;
        if (rc == NVML_ERROR_GPU_IS_LOST)
            return GPUCTL_LINK_UNKNOWN;
        if (rc != NVML_SUCCESS)
            note(s, a, b, "NVLink P2P status", rc);
    }
    return found == NVML_SUCCESS && known_level(level) ? level : GPUCTL_LINK_UNKNOWN;
}
