# A torch that prints a banner on stdout without a newline while importing, as some plugins do.
import os
import sys
sys.stdout.write("loading CUDA plugins... ")
sys.stdout.flush()
os.write(1, b"[plugin] ok ")
from fakelib import torch_module
torch_module(globals(), "2.14.0+cu126", cuda="12.6", driver_cuda=12040,
             devices=[("NVIDIA A100 80GB PCIe", (8, 0))],
             arch_list=["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"])
