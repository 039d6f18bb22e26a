from fakelib import torch_module
torch_module(globals(), "2.5.1+cu121", cuda="12.1", driver_cuda=11040,
             devices=[("Tesla T4", (7, 5))],
             arch_list=["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"])
