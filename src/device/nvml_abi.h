/* nvml_abi.h: the part of NVML's binary interface gpuctl calls, declared without nvml.h.
 *
 * Layouts and constants follow NVML API 13 (CUDA 13); the asserts pin the LP64 sizes and offsets
 * that NVIDIA's header gives, so a mistake here fails the build rather than a GPU. */
#ifndef GPUCTL_DEVICE_NVML_ABI_H
#define GPUCTL_DEVICE_NVML_ABI_H

#include <assert.h>
#include <stddef.h>

/* nvmlReturn_t values gpuctl distinguishes. */
enum nvml_return {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4,
    NVML_ERROR_NOT_FOUND = 6,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_TIMEOUT = 10,
    NVML_ERROR_LIBRARY_NOT_FOUND = 12,
    NVML_ERROR_FUNCTION_NOT_FOUND = 13,
    NVML_ERROR_GPU_IS_LOST = 15,
    NVML_ERROR_RESET_REQUIRED = 16,
    NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
    NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
    NVML_ERROR_UNKNOWN = 999,
};

/* Buffer sizes NVML documents as sufficient. */
#define NVML_DEVICE_NAME_V2_BUFFER_SIZE        96
#define NVML_DEVICE_UUID_V2_BUFFER_SIZE        96
#define NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80
#define NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE   80

/* usedGpuMemory when the driver cannot say (no permission, WDDM). */
#define NVML_VALUE_NOT_AVAILABLE 0xffffffffffffffffull

/* nvmlClockType_t, nvmlTemperatureSensors_t */
#define NVML_CLOCK_SM        1
#define NVML_CLOCK_MEM       2
#define NVML_TEMPERATURE_GPU 0

/* nvmlDevice_t is an opaque pointer. */
struct nvml_device;

/* nvmlPciInfo_t */
struct nvml_pci_info {
    char bus_id_legacy[16];
    unsigned domain;
    unsigned bus;
    unsigned device;
    unsigned pci_device_id; /* device << 16 | vendor */
    unsigned pci_subsystem_id;
    char bus_id[32]; /* "%08X:%02X:%02X.0" */
};
static_assert(sizeof(struct nvml_pci_info) == 68, "nvmlPciInfo_t is 68 bytes");
static_assert(offsetof(struct nvml_pci_info, bus_id) == 36, "nvmlPciInfo_t.busId at 36");

/* nvmlMemory_t (v1): used includes memory reserved by the driver. */
struct nvml_memory {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
};
static_assert(sizeof(struct nvml_memory) == 24, "nvmlMemory_t is 24 bytes");

/* nvmlMemory_v2_t: used excludes reserved. */
struct nvml_memory_v2 {
    unsigned version;
    unsigned long long total;
    unsigned long long reserved;
    unsigned long long free;
    unsigned long long used;
};
static_assert(sizeof(struct nvml_memory_v2) == 40, "nvmlMemory_v2_t is 40 bytes");
#define NVML_MEMORY_V2_VERSION                                                                     \
    (unsigned)(sizeof(struct nvml_memory_v2) | (2u << 24)) /* 0x02000028 */

/* nvmlUtilization_t */
struct nvml_utilization {
    unsigned gpu;
    unsigned memory;
};

/* nvmlTemperature_v1_t, for nvmlDeviceGetTemperatureV */
struct nvml_temperature {
    unsigned version;
    int sensor_type;
    int temperature;
};
static_assert(sizeof(struct nvml_temperature) == 12, "nvmlTemperature_v1_t is 12 bytes");
#define NVML_TEMPERATURE_V1_VERSION (unsigned)(sizeof(struct nvml_temperature) | (1u << 24))

/* Process entries. Every layout starts with pid at 0 and usedGpuMemory at 8; they differ in
 * stride: 16 bytes for the plain entry point (nvmlProcessInfo_v1_t), 24 for _v2 and _v3
 * (nvmlProcessInfo_t), and 32 for _v3 on some R530/R535 drivers that write
 * usedGpuCcProtectedMemory as well. */
struct nvml_process_info {
    unsigned pid;
    unsigned long long used_gpu_memory;
    unsigned gpu_instance_id;
    unsigned compute_instance_id;
};
static_assert(sizeof(struct nvml_process_info) == 24, "nvmlProcessInfo_t is 24 bytes");
static_assert(offsetof(struct nvml_process_info, used_gpu_memory) == 8, "usedGpuMemory at 8");

/* nvmlEventData_t */
struct nvml_event_data {
    struct nvml_device *device;
    unsigned long long event_type;
    unsigned long long event_data; /* the Xid for XidCriticalError */
    unsigned gpu_instance_id;
    unsigned compute_instance_id;
};
static_assert(sizeof(struct nvml_event_data) == 32, "nvmlEventData_t is 32 bytes");

/* nvmlEventType bits */
#define NVML_EVENT_SINGLE_BIT_ECC 0x1ull
#define NVML_EVENT_DOUBLE_BIT_ECC 0x2ull
#define NVML_EVENT_XID_CRITICAL   0x8ull

/* nvmlMemoryErrorType_t, nvmlEccCounterType_t */
#define NVML_MEMORY_ERROR_CORRECTED   0
#define NVML_MEMORY_ERROR_UNCORRECTED 1
#define NVML_VOLATILE_ECC             0

/* nvmlGpuTopologyLevel_t: the closest PCIe ancestor two GPUs share. gpuctl's link levels
 * (enum gpuctl_link_level) take the same values. */
#define NVML_TOPOLOGY_INTERNAL   0  /* the same board */
#define NVML_TOPOLOGY_SINGLE     10 /* one PCIe switch */
#define NVML_TOPOLOGY_MULTIPLE   20 /* several PCIe switches */
#define NVML_TOPOLOGY_HOSTBRIDGE 30
#define NVML_TOPOLOGY_NODE       40 /* host bridges of one CPU (NUMA node) */
#define NVML_TOPOLOGY_SYSTEM     50 /* across CPUs */

/* nvmlGpuP2PCapsIndex_t, nvmlGpuP2PStatus_t */
#define NVML_P2P_CAPS_INDEX_NVLINK 2
#define NVML_P2P_STATUS_OK         0

#define NVML_PROCESS_V1_STRIDE 16
#define NVML_PROCESS_V2_STRIDE 24

#define NVML_PROCESS_CC_STRIDE 32

#endif
