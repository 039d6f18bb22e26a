from fakelib import torch_module
# torch 2.6 + cu124 on an RTX 5090: CUDA answers (with the real "not compatible" warning), but
# no kernel of the build runs on sm_120.
torch_module(globals(), "2.6.0+cu124", cuda="12.4", driver_cuda=12090,
             devices=[("NVIDIA GeForce RTX 5090", (12, 0))],
             arch_list=["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"])
