from fakelib import torch_module
torch_module(globals(), "2.5.1+cpu")
