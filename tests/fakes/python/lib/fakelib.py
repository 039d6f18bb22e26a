"""fakelib.py: the parts of torch, tensorflow and jax that gpuctl doctor's probe reads, answering
as the real packages do (their return values, their warnings, CUDA_VISIBLE_DEVICES), set up by
each fake install's __init__.py with what that install would say."""
import os
import types
import warnings

DRIVER_TOO_OLD = ("CUDA initialization: The NVIDIA driver on your system is too old (found version "
                  "{found}). Please update your GPU driver by downloading and installing a new "
                  "version from the URL: http://www.nvidia.com/Download/index.aspx Alternatively, "
                  "go to: https://pytorch.org to install a PyTorch version that has been compiled "
                  "with your version of the CUDA driver.")


def visible(devices):
    """The devices left by CUDA_VISIBLE_DEVICES (indices only; empty hides all)."""
    mask = os.environ.get("CUDA_VISIBLE_DEVICES")
    if mask is None:
        return devices
    out = []
    for entry in mask.split(","):
        entry = entry.strip()
        if entry.startswith(("MIG-", "GPU-")) and devices:
            out.append(devices[0])  # a UUID (a MIG instance): one device, here the first
            continue
        if not entry.isdigit() or int(entry) >= len(devices):
            break  # the CUDA runtime stops at the first invalid entry
        out.append(devices[int(entry)])
    return out


def torch_module(ns, version, cuda=None, hip=None, driver_cuda=None, devices=(), arch_list=()):
    """Fills a fake torch package's namespace. driver_cuda: what the driver runs (1000 * major +
    10 * minor); devices: [(name, (major, minor))]."""
    devices = list(devices)

    def usable():
        if cuda is None and hip is None:
            return []
        wheel = int(cuda.split(".")[0]) * 1000 if cuda else 0
        if driver_cuda is not None and driver_cuda // 1000 < wheel // 1000:
            warnings.warn(DRIVER_TOO_OLD.format(found=driver_cuda), UserWarning)
            return []
        return visible(devices)

    def need(i):
        d = usable()
        if cuda is None and hip is None:
            raise AssertionError("Torch not compiled with CUDA enabled")
        if i >= len(d):
            raise RuntimeError("CUDA error: invalid device ordinal")
        return d[i]

    ns["__version__"] = version
    ns["version"] = types.SimpleNamespace(cuda=cuda, hip=hip, __version__=version)
    ns["cuda"] = types.SimpleNamespace(
        is_available=lambda: len(usable()) > 0,
        device_count=lambda: len(usable()),
        get_device_capability=lambda i=0: need(i)[1],
        get_device_name=lambda i=0: need(i)[0],
        get_arch_list=lambda: list(arch_list) if usable() else [])
    ns["xpu"] = types.SimpleNamespace(is_available=lambda: False)


class PhysicalDevice:
    def __init__(self, name, device_type):
        self.name, self.device_type = name, device_type


def tensorflow_module(ns, version, build_cuda=None, gpus=0):
    """A fake tensorflow: its GPU list honours CUDA_VISIBLE_DEVICES."""
    def list_physical_devices(kind=None):
        out = [PhysicalDevice("/physical_device:CPU:0", "CPU")]
        shown = visible(list(range(gpus)))
        out += [PhysicalDevice(f"/physical_device:GPU:{i}", "GPU") for i in range(len(shown))]
        return [d for d in out if kind is None or d.device_type == kind]

    info = {"is_cuda_build": build_cuda is not None, "is_rocm_build": False}
    if build_cuda:
        info.update(cuda_version=build_cuda, cudnn_version="9")
    ns["__version__"] = version
    ns["config"] = types.SimpleNamespace(list_physical_devices=list_physical_devices)
    ns["sysconfig"] = types.SimpleNamespace(get_build_info=lambda: dict(info))


class Device:
    def __init__(self, platform, kind, i):
        self.platform, self.device_kind, self.id = platform, kind, i


def jax_module(ns, version, gpu_kinds=()):
    """A fake jax: GPUs when its CUDA plugin would find them, else the CPU."""
    def devices():
        shown = visible(list(gpu_kinds))
        if shown:
            return [Device("gpu", kind, i) for i, kind in enumerate(shown)]
        return [Device("cpu", "cpu", 0)]

    ns["__version__"] = version
    ns["devices"] = devices
    ns["default_backend"] = lambda: devices()[0].platform
