/* oom_messages.h: what each framework writes to stderr when it runs out of memory, as printed
 * (research notes §D), keyed by the fake trainer's --oom style. The unit test of the classifier
 * reads the same table, so every style the trainer can print is one gpuctl must recognize. */
#ifndef GPUCTL_TESTS_OOM_MESSAGES_H
#define GPUCTL_TESTS_OOM_MESSAGES_H

#include <stdbool.h>

static const struct oom_message {
    const char *style;
    const char *text;   /* the end of a traceback, several lines */
    const char *source; /* what gpuctl must call it */
    bool probable;
} oom_messages[] = {
    {"pytorch",
     "Traceback (most recent call last):\n"
     "  File \"train.py\", line 88, in <module>\n"
     "    loss.backward()\n"
     "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total "
     "capacity of 79.15 GiB of which 1.06 GiB is free. Of the allocated memory 75.20 GiB is "
     "allocated by PyTorch, and 1.30 GiB is reserved by PyTorch but unallocated. If reserved but "
     "unallocated memory is large try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True "
     "to avoid fragmentation.  See documentation for Memory Management  "
     "(https://pytorch.org/docs/stable/notes/cuda.html#environment-variables)\n",
     "PyTorch CUDA allocator", false},
    {"pytorch-old",
     "Traceback (most recent call last):\n"
     "  File \"train.py\", line 88, in <module>\n"
     "RuntimeError: CUDA out of memory. Tried to allocate 20.00 MiB (GPU 0; 3.82 GiB total "
     "capacity; 2.49 GiB already allocated; 9.19 MiB free; 2.62 GiB reserved in total by "
     "PyTorch)\n",
     "PyTorch CUDA allocator", false},
    {"cuda",
     "RuntimeError: CUDA error: out of memory\n"
     "CUDA kernel errors might be asynchronously reported at some other API call, so the "
     "stacktrace below might be incorrect.\n",
     "CUDA runtime", false},
    {"hip", "torch.OutOfMemoryError: HIP out of memory. Tried to allocate 1.00 GiB.\n",
     "PyTorch ROCm allocator", false},
    {"cublas",
     "RuntimeError: CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling "
     "`cublasCreate(handle)`\n",
     "cuBLAS", false},
    {"cudnn-alloc", "RuntimeError: cuDNN error: CUDNN_STATUS_ALLOC_FAILED\n", "cuDNN", false},
    {"cudnn",
     "RuntimeError: cuDNN error: CUDNN_STATUS_NOT_SUPPORTED. This error may appear if you "
     "passed in a non-contiguous input.\n",
     "cuDNN", true},
    {"cudnn-engine", "RuntimeError: GET was unable to find an engine to execute this computation\n",
     "cuDNN", true},
    {"tf",
     "tensorflow.python.framework.errors_impl.ResourceExhaustedError: Graph execution error:\n"
     "OOM when allocating tensor with shape[256,64,112,112] and type float on "
     "/job:localhost/replica:0/task:0/device:GPU:0 by allocator GPU_0_bfc\n"
     "\t [[{{node conv2d/Conv2D}}]]\n",
     "TensorFlow", false},
    {"jax",
     "jaxlib.xla_extension.XlaRuntimeError: RESOURCE_EXHAUSTED: Out of memory while trying to "
     "allocate 21034545152 bytes.\n",
     "JAX/XLA", false},
    {"jax-new",
     "jax.errors.JaxRuntimeError: RESOURCE_EXHAUSTED: Out of memory while trying to allocate "
     "19.59GiB.\n",
     "JAX/XLA", false},
    {"mps",
     "RuntimeError: MPS backend out of memory (MPS allocated: 17.45 GB, other allocations: 1.20 "
     "GB, max allowed: 18.13 GB). Tried to allocate 1.00 GB on private pool. Use "
     "PYTORCH_MPS_HIGH_WATERMARK_RATIO=0.0 to disable upper limit for memory allocations (may "
     "cause system failure).\n",
     "PyTorch MPS allocator", false},
    {"cpu",
     "RuntimeError: [enforce fail at alloc_cpu.cpp:114] data. DefaultCPUAllocator: not enough "
     "memory: you tried to allocate 8589934592 bytes.\n",
     "PyTorch CPU allocator", false},
};

#endif
