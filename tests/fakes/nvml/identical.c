/* identical.c: see identical.h. */
#include "identical.h"

#include <stdio.h>

#include <jansson.h>

int fake_nvml_write_identical(const char *path, unsigned n)
{
    json_t *devices = json_array(), *fixture;
    int rc;

    for (unsigned i = 0; i < n; i++) {
        char uuid[64], bus[32];
        snprintf(uuid, sizeof(uuid), "GPU-%08x-0000-4000-8000-%012x", i, i);
        snprintf(bus, sizeof(bus), "00000000:%02X:%02X.0", 1 + i / 32, i % 32);
        json_array_append_new(
            devices,
            json_pack("{s:s, s:s, s:s, s:[i,i], s:{s:I, s:I, s:I}, s:{s:i, s:i}, s:[], s:[]}",
                      "name", "NVIDIA A100-SXM4-80GB", "uuid", uuid, "pci_bus_id", bus,
                      "compute_capability", 8, 0, "memory", "total", (json_int_t)85899345920,
                      "reserved", (json_int_t)0, "used", (json_int_t)0, "utilization", "gpu", 0,
                      "memory", 0, "compute_processes", "graphics_processes"));
    }
    fixture = json_pack("{s:s, s:i, s:o}", "driver_version", "550.54.15", "cuda_driver_version",
                        12040, "devices", devices);
    rc = fixture ? json_dump_file(fixture, path, 0) : -1;
    json_decref(fixture);
    return rc == 0 ? 0 : -1;
}
