#!/usr/bin/env bash
# info.sh: times `gpuctl info --json` on the 8-GPU fake machine and writes the median and spread
# to bench/results/info-<date>.md. Target (issue 2): median <= 5 ms.
#
#   bench/info.sh [RUNS]      (default 1000 runs after 50 warm-up runs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-1000}
build="$root/build-bench"
command -v hyperfine >/dev/null || { echo "info.sh: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j >/dev/null

export LD_LIBRARY_PATH="$build/fake-nvml/current"
export FAKE_NVML_FIXTURE="$root/tests/fixtures/nvml/gpu8-mixed.json"
export GPUCTL_PROCFS_ROOT="$root/tests/fixtures/procfs/workstation"
"$build/gpuctl" info --json >/dev/null # fails loudly if the setup is wrong

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
hyperfine -N --warmup 50 --runs "$runs" --export-json "$tmp/info.json" \
    "$build/gpuctl info --json" "$build/gpuctl select" >/dev/null

# Median and spread (min, p25, p75, p95, max) in ms from hyperfine's raw times.
stats() {
    python3 - "$tmp/info.json" <<'PY'
import json, sys, statistics
for r in json.load(open(sys.argv[1]))["results"]:
    t = sorted(x * 1000 for x in r["times"])
    q = lambda p: t[min(len(t) - 1, int(p * (len(t) - 1) + 0.5))]
    cmd = r["command"].replace(sys.argv[1].rsplit("/", 1)[0], "")
    print(f"| `{cmd.split('/')[-1]}` | {len(t)} | {statistics.median(t):.3f} | {t[0]:.3f} | "
          f"{q(0.25):.3f} | {q(0.75):.3f} | {q(0.95):.3f} | {t[-1]:.3f} |")
PY
}

out="$root/bench/results/info-$(date -u +%Y-%m-%d).md"
{
    echo "# gpuctl info --json on the 8-GPU fake NVML"
    echo
    echo "Wall time per run of the Release build against tests/fixtures/nvml/gpu8-mixed.json"
    echo "(8 GPUs, 5 processes, procfs fixture), measured with hyperfine -N (no shell),"
    echo "50 warm-up runs. Target: median <= 5 ms."
    echo
    "$root/bench/machine.sh"
    echo
    echo "| command | runs | median ms | min | p25 | p75 | p95 | max |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
    stats
} >"$out"
cat "$out"
