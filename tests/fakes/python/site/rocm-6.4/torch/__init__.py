from fakelib import torch_module
# torch 2.9.0+rocm6.4 on an RX 7900 XTX: ROCm answers through the torch.cuda API, as on ROCm.
torch_module(globals(), "2.9.0+rocm6.4", hip="6.4.43482", devices=[("AMD Radeon RX 7900 XTX", (11, 0))],
             arch_list=["gfx900", "gfx906", "gfx908", "gfx90a", "gfx942", "gfx1030", "gfx1100"])
