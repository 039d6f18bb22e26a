/* oom.c: out-of-memory messages as one table (research notes §D; docs/tune.md lists them). */
#include "tune/oom.h"

#include <string.h>

#include "util/banned.h"

static const struct oom_rule {
    const char *text; /* a substring of the line, case-sensitive as the frameworks print it */
    struct oom_match match;
} rules[] = {
    /* PyTorch's caching allocator, old ("(GPU 0; X total capacity ...)") and new ("GPU 0 has a
     * total capacity of ...") formats alike. */
    {"CUDA out of memory.", {"PyTorch CUDA allocator", false}},
    {"HIP out of memory.", {"PyTorch ROCm allocator", false}},
    {"XPU out of memory.", {"PyTorch XPU allocator", false}},
    {"MPS backend out of memory", {"PyTorch MPS allocator", false}},
    {"DefaultCPUAllocator: can't allocate memory", {"PyTorch CPU allocator", false}},
    {"DefaultCPUAllocator: not enough memory", {"PyTorch CPU allocator", false}},
    /* The exception types, for a message cut short; after the allocators' own texts, which
     * name the device. */
    {"torch.cuda.OutOfMemoryError", {"PyTorch CUDA allocator", false}},
    {"torch.OutOfMemoryError", {"PyTorch allocator", false}},
    {"CUDA error: out of memory", {"CUDA runtime", false}},
    {"CUBLAS_STATUS_ALLOC_FAILED", {"cuBLAS", false}},
    {"CUDNN_STATUS_ALLOC_FAILED", {"cuDNN", false}},
    {"OOM when allocating tensor", {"TensorFlow", false}},
    {"RESOURCE_EXHAUSTED: Out of memory", {"JAX/XLA", false}},
    {"Out of memory while trying to allocate", {"JAX/XLA", false}},
    {"FATAL ERROR :: MODULE:PT_DEVMEM Allocation failed", {"Habana HPU", false}},
    /* Often memory in disguise (pytorch#4107, #17774); a smaller size tells. */
    {"CUDNN_STATUS_NOT_SUPPORTED", {"cuDNN", true}},
    {"CUDNN_STATUS_EXECUTION_FAILED", {"cuDNN", true}},
    {"Unable to find a valid cuDNN algorithm", {"cuDNN", true}},
    {"GET was unable to find an engine to execute this computation", {"cuDNN", true}},
    {"ResourceExhaustedError", {"TensorFlow", true}},
};

const struct oom_match oom_host_killer = {"killed by SIGKILL (the host's out-of-memory killer?)",
                                          true};

bool oom_scan_line(const char *line, struct oom_match *m)
{
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        if (!strstr(line, rules[i].text))
            continue;
        if (!m->source || (m->probable && !rules[i].match.probable))
            *m = rules[i].match;
        return true;
    }
    return false;
}
