#!/usr/bin/env bash
# doctor.sh: times `gpuctl doctor --json` on guide 002's laptop (fake NVML, fixture trees): with
# no Python on PATH (the machine's checks alone), with a python3 that has no framework, and with
# fake torch, tensorflow and jax installs (the probe subprocess). Writes medians and spread to
# bench/results/doctor-<date>.md. Target (issue 6): well under a second without frameworks.
#
#   bench/doctor.sh [RUNS]      (default 200 runs after 10 warm-up runs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-200}
build="$root/build-bench"
command -v hyperfine >/dev/null || { echo "doctor.sh: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j --target gpuctl fake_nvml >/dev/null

fx="$root/tests/fixtures"
export LD_LIBRARY_PATH="$build/fake-nvml/current"
export FAKE_NVML_FIXTURE="$fx/nvml/laptop-3050.json"
export GPUCTL_SYSFS_ROOT="$fx/sysfs/laptop-3050" GPUCTL_PROCFS_ROOT="$fx/procfs/laptop-3050"
export GPUCTL_DEV_ROOT="$fx/dev/laptop-3050"
export FAKE_PYTHON_REAL=$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3)
fakes="$root/tests/fakes/python"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/nopython" # a PATH with neither python3 nor python

doctor="$build/gpuctl doctor --json"
hyperfine -N --warmup 10 --runs "$runs" --export-json "$tmp/doctor.json" \
    -n "no Python on PATH" "env PATH=$tmp/nopython $doctor" \
    -n "python3 without frameworks" "env PATH=$fakes:/usr/bin:/bin FAKE_PYTHON_SITE=$fakes/site/empty $doctor" \
    -n "python3 with torch, tensorflow, jax (fakes)" "env PATH=$fakes:/usr/bin:/bin FAKE_PYTHON_SITE=$fakes/site/healthy-a100 $doctor" \
    >/dev/null

stats() {
    python3 - "$tmp/doctor.json" <<'PY'
import json, sys, statistics
for r in json.load(open(sys.argv[1]))["results"]:
    t = sorted(x * 1000 for x in r["times"])
    q = lambda p: t[min(len(t) - 1, int(p * (len(t) - 1) + 0.5))]
    print(f"| {r['command']} | {len(t)} | {statistics.median(t):.1f} | {t[0]:.1f} | "
          f"{q(0.25):.1f} | {q(0.75):.1f} | {q(0.95):.1f} | {t[-1]:.1f} |")
PY
}

out="$root/bench/results/doctor-$(date -u +%Y-%m-%d).md"
{
    echo "# gpuctl doctor on guide 002's laptop"
    echo
    echo "Wall time per run of the Release build, \`gpuctl doctor --json\`, against the fake NVML"
    echo "(tests/fixtures/nvml/laptop-3050.json) and the laptop-3050 sysfs, procfs and /dev trees,"
    echo "measured with hyperfine -N, 10 warm-up runs. The Python rows run the real interpreter"
    echo "($FAKE_PYTHON_REAL, -S) on the fake installs of tests/fakes/python; a real torch import"
    echo "takes 1-3 s more, which is the point of the time limit. Target: well under 1 s without"
    echo "frameworks."
    echo
    "$root/bench/machine.sh"
    echo "- python: $("$FAKE_PYTHON_REAL" --version 2>&1)"
    echo
    echo "| case | runs | median ms | min | p25 | p75 | p95 | max |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
    stats
} >"$out"
cat "$out"
