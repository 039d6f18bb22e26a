from fakelib import tensorflow_module
tensorflow_module(globals(), "2.20.0", build_cuda="12.5.1", gpus=1)
