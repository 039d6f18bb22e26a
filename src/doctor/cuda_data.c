/* cuda_data.c: the compatibility facts gpuctl doctor reasons with, as data. Update this file when
 * NVIDIA or PyTorch publish a release; nothing else needs to change.
 *
 * Sources: NVIDIA CUDA toolkit release notes, tables 2 (minor-version compatibility) and 3
 * (toolkit driver versions); PyTorch RELEASE.md (wheel variants per release, "CUDA Support
 * Matrix") and .ci/manywheel/build_cuda.sh (architectures per variant); JAX and TensorFlow
 * installation guides. Gathered in ../shared/research/tune-and-doctor.md section F. */
#include "doctor/compat.h"

const struct cuda_release cuda_releases[] = {
    {11000, "450.51.05", "451.48"}, {11010, "455.23", "456.38"},
    {11020, "460.27.03", "460.82"}, {11030, "465.19.01", "465.89"},
    {11040, "470.42.01", "471.11"}, {11050, "495.29.05", "496.04"},
    {11060, "510.39.01", "511.23"}, {11070, "515.43.04", "516.01"},
    {11080, "520.61.05", "520.06"}, {12000, "525.60.13", "527.41"},
    {12010, "530.30.02", "531.14"}, {12020, "535.54.03", "536.25"},
    {12030, "545.23.06", "545.84"}, {12040, "550.54.14", "551.61"},
    {12050, "555.42.02", "555.85"}, {12060, "560.28.03", "560.76"},
    {12080, "570.26", "570.65"},    {12090, "575.51.03", "576.02"},
    {13000, "580.65.06", "580.88"}, {13010, "590.44.01", NULL},
    {13020, "595.45.04", NULL},     {0, NULL, NULL},
};

const struct cuda_major cuda_majors[] = {
    {11, "450.80.02", "452.39"},
    {12, "525.60.13", "528.33"},
    {13, "580.65.06", "580.88"},
    {0, NULL, NULL},
};

#define CU118_ARCHS "3.7 5.0 6.0 7.0 7.5 8.0 8.6 9.0"
#define CU12X_ARCHS "5.0 6.0 7.0 7.5 8.0 8.6 9.0"
#define CU128_ARCHS "7.0 7.5 8.0 8.6 9.0 10.0 12.0"
#define CU13X_ARCHS "7.5 8.0 8.6 9.0 10.0 12.0+PTX"

const struct torch_wheel torch_wheels[] = {
    {"2.14", "cu132", 13020, CU13X_ARCHS},
    {"2.14", "cu130", 13000, CU13X_ARCHS},
    {"2.14", "cu126", 12060, CU12X_ARCHS},
    {"2.13", "cu132", 13020, CU13X_ARCHS},
    {"2.13", "cu130", 13000, CU13X_ARCHS},
    {"2.13", "cu126", 12060, CU12X_ARCHS},
    {"2.12", "cu132", 13020, CU13X_ARCHS},
    {"2.12", "cu130", 13000, CU13X_ARCHS},
    {"2.12", "cu126", 12060, CU12X_ARCHS},
    {"2.11", "cu130", 13000, CU13X_ARCHS},
    {"2.11", "cu128", 12080, "7.5 8.0 8.6 9.0 10.0 12.0"}, /* Volta dropped (pytorch#172352) */
    {"2.11", "cu126", 12060, CU12X_ARCHS},
    {"2.10", "cu130", 13000, CU13X_ARCHS},
    {"2.10", "cu128", 12080, CU128_ARCHS},
    {"2.10", "cu126", 12060, CU12X_ARCHS},
    {"2.9", "cu130", 13000, CU13X_ARCHS},
    {"2.9", "cu128", 12080, CU128_ARCHS},
    {"2.9", "cu126", 12060, CU12X_ARCHS},
    {"2.8", "cu129", 12090, "7.0 7.5 8.0 8.6 9.0 10.0 12.0+PTX"},
    {"2.8", "cu128", 12080, CU128_ARCHS},
    {"2.8", "cu126", 12060, CU12X_ARCHS},
    {"2.7", "cu128", 12080, CU128_ARCHS},
    {"2.7", "cu126", 12060, CU12X_ARCHS},
    {"2.7", "cu118", 11080, CU118_ARCHS},
    {"2.6", "cu126", 12060, CU12X_ARCHS},
    {"2.6", "cu124", 12040, CU12X_ARCHS},
    {"2.6", "cu118", 11080, CU118_ARCHS},
    {"2.5", "cu124", 12040, CU12X_ARCHS},
    {"2.5", "cu121", 12010, CU12X_ARCHS},
    {"2.5", "cu118", 11080, CU118_ARCHS},
    {"2.4", "cu124", 12040, CU12X_ARCHS},
    {"2.4", "cu121", 12010, CU12X_ARCHS},
    {"2.4", "cu118", 11080, CU118_ARCHS},
    {NULL, NULL, 0, NULL},
};

const struct framework_gpu_wheel framework_gpu_wheels[] = {
    {"jax", 13, "jax[cuda13]"},
    {"jax", 12, "jax[cuda12]"},
    {"tensorflow", 12, "tensorflow[and-cuda]"},
    {NULL, 0, NULL},
};

const char torch_index_url[] = "https://download.pytorch.org/whl/";

/* The index of each vendor's PyTorch wheels on download.pytorch.org, newest release's. */
const char *const torch_vendor_index[] = {
    [0] = NULL,      /* NVIDIA: chosen from torch_wheels */
    [1] = "rocm6.4", /* AMD: the ROCm variant gpuctl's table last checked (PyTorch 2.9) */
    [2] = "xpu",     /* Intel */
};
