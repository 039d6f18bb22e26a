from fakelib import jax_module
jax_module(globals(), "0.8.1", gpu_kinds=["NVIDIA A100 80GB PCIe"])
