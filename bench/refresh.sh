#!/usr/bin/env bash
# refresh.sh: CPU time of one refresh pass over the mixed machine (NVIDIA through the fake NVML,
# an AMD RX 7900 XTX, an Intel Arc A770 and an Intel iGPU) with 32 extra processes holding DRM
# fds (20 other fds each), and proof that /proc is scanned once per pass for all devices.
# Writes bench/results/refresh-<date>.md. Target (issue 3): <= 200 us per device.
#
#   bench/refresh.sh [PASSES]      (default 2000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
passes=${1:-2000}
build="$root/build-bench"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j --target gpuctl bench_refresh fake_nvml >/dev/null
python3 "$root/tests/fixtures/make_fixtures.py" --out "$tmp" --procs 32
nprocs=$(find "$tmp/procfs/mixed" -mindepth 1 -maxdepth 1 -name '[0-9]*' | wc -l)
nfds=$(find "$tmp/procfs/mixed" -path '*/fd/*' | wc -l)


export LD_LIBRARY_PATH="$build/fake-nvml/current"
export FAKE_NVML_FIXTURE="$root/tests/fixtures/nvml/gpu1.json"
result=$("$build/bench_refresh" "$tmp/sysfs/mixed" "$tmp/procfs/mixed" "$passes")
get() { grep "kind=$1 " <<<"$result" | sed -n "s/.*$2=\([0-9.]*\).*/\1/p"; }
row() {
    printf "| %s | %s | %s | %s | %s | %s | %s | %.1f us |\n" "$2" "$(get "$1" passes)" \
        "$(get "$1" median_us)" "$(get "$1" p25_us)" "$(get "$1" p75_us)" "$(get "$1" p95_us)" \
        "$(get "$1" min_us)" "$(echo "$(get "$1" median_us) / $(get "$1" devices)" | bc -l)"
}

# One `gpuctl info` is two passes' worth of reads at most (new + refresh share one scan); count
# the fd directories it opens: once per process means one scan for all three DRM GPUs.
scans="not measured (strace missing)"
if command -v strace >/dev/null; then
    opened=$(strace -f -e trace=openat -o "$tmp/trace" "$build/gpuctl" \
        --sysfs-root "$tmp/sysfs/mixed" --procfs-root "$tmp/procfs/mixed" info --json >/dev/null \
        && grep -c '/fd", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY\|[0-9]/fd", O_RDONLY' "$tmp/trace" || true)
    scans="$opened fd directories opened by one \`gpuctl info\` for $nprocs processes"
fi

out="$root/bench/results/refresh-$(date -u +%Y-%m-%d).md"
{
    echo "# One refresh pass over the mixed machine"
    echo
    echo "CPU time (CLOCK_PROCESS_CPUTIME_ID) of gpuctl_refresh() in the Release build, $passes"
    echo "passes after 20 warm-up passes. The machine: 1 NVIDIA GPU (fake NVML, gpu1.json), an AMD"
    echo "RX 7900 XTX, an Intel Arc A770 and an Intel UHD 770 from sysfs, and $nprocs processes"
    echo "($nfds fds, of which 36 DRM clients) in procfs: $(get incremental devices) devices, of"
    echo "which $(get incremental gpus) GPUs. Target: <= 200 us per device."
    echo
    echo "A pass lists every process's fds; it asks the kernel (readlink) only about fds that are"
    echo "new or were DRM fds last pass, except every 10th pass, which asks about every fd"
    echo "(src/device/fdset.h says why)."
    echo
    "$root/bench/machine.sh"
    echo
    echo "| pass | passes | median us | p25 | p75 | p95 | min | median per device |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
    row incremental "incremental (9 of 10)"
    row full "full (1 of 10)"
    echo
    echo "/proc scans: $scans."

} >"$out"
cat "$out"
