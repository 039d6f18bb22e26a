# probe.py: what gpuctl doctor asks one Python interpreter. Prints one JSON object per line as it
# goes, flushed, so that when an import hangs gpuctl knows which one: {"begin": NAME} before a
# framework is imported, then its report. Uses only the standard library, runs on Python >= 3.6.
import json
import os
import sys
import warnings

# The report goes to a copy of stdout; fd 1 becomes stderr, so that whatever a framework prints
# while importing (a banner without a newline) cannot break a report line.
REPORT = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr
# Listing JAX's devices must not take 75% of every GPU from the jobs running on them.
os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"


def emit(obj):
    REPORT.write(json.dumps(obj) + "\n")
    REPORT.flush()


def installed(name):
    try:
        import importlib.util
        return importlib.util.find_spec(name) is not None
    except Exception:  # a broken package can fail even to be found
        return True


def dist_version(name):
    try:
        from importlib import metadata
        return metadata.version(name)
    except Exception:
        return None


def error_text(exc):
    return ("%s: %s" % (type(exc).__name__, exc))[:400]


def probe_torch(report):
    import torch
    report["imported"] = True
    report["version"] = torch.__version__
    report["cuda"] = getattr(torch.version, "cuda", None)
    report["hip"] = getattr(torch.version, "hip", None)
    report["torchvision"] = dist_version("torchvision")
    report["torchaudio"] = dist_version("torchaudio")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report["available"] = bool(torch.cuda.is_available())
        report["device_count"] = torch.cuda.device_count() if report["available"] else 0
        devices = []
        for i in range(report["device_count"]):
            major, minor = torch.cuda.get_device_capability(i)
            devices.append({"name": torch.cuda.get_device_name(i), "capability": [major, minor]})
        report["devices"] = devices
        report["arch_list"] = list(torch.cuda.get_arch_list()) if report["available"] else []
    report["warnings"] = [str(w.message)[:400] for w in caught]
    xpu = getattr(torch, "xpu", None)
    report["xpu_available"] = bool(xpu.is_available()) if xpu is not None else False


def probe_tensorflow(report):
    import tensorflow as tf
    report["imported"] = True
    report["version"] = tf.__version__
    report["gpus"] = [d.name for d in tf.config.list_physical_devices("GPU")]
    try:
        info = tf.sysconfig.get_build_info()
        report["cuda"] = info.get("cuda_version")
        report["cuda_build"] = bool(info.get("is_cuda_build", False))
        report["rocm_build"] = bool(info.get("is_rocm_build", False))
    except Exception:
        report["cuda"], report["cuda_build"], report["rocm_build"] = None, False, False


def probe_jax(report):
    import jax
    report["imported"] = True
    report["version"] = jax.__version__
    report["backend"] = jax.default_backend()
    report["devices"] = [{"platform": d.platform, "kind": getattr(d, "device_kind", "")}
                         for d in jax.devices()]


FRAMEWORKS = [("torch", probe_torch), ("tensorflow", probe_tensorflow), ("jax", probe_jax)]


def main():
    emit({"python": sys.version.split()[0], "executable": sys.executable, "prefix": sys.prefix})
    for name, probe in FRAMEWORKS:
        report = {"framework": name, "installed": installed(name)}
        if report["installed"]:
            emit({"begin": name})
            try:
                probe(report)
            except BaseException as exc:  # SystemExit from a broken import counts too
                report["error"] = error_text(exc)
        emit(report)
    emit({"end": True})


main()
os._exit(0)  # threads or helpers a framework started must not keep the interpreter alive
