#!/usr/bin/env bash
# gpu-check.sh: on a machine with NVIDIA GPUs, compares what `gpuctl info --json` reads with what
# nvidia-smi reads, GPU by GPU, and times both. Writes bench/results/gpu-check-<date>-<gpu>.md
# (or into OUTDIR) and exits 1 when an identity field (UUID, name, total memory) disagrees.
#
#   bench/gpu-check.sh [GPUCTL_BINARY] [OUTDIR] [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
gpuctl=${1:-$root/build/gpuctl}
outdir=${2:-$root/bench/results}
runs=${3:-50}
query=index,uuid,name,memory.total,memory.used,utilization.gpu,temperature.gpu,power.draw

command -v nvidia-smi >/dev/null || { echo "gpu-check.sh: no nvidia-smi on this machine" >&2; exit 2; }
command -v python3 >/dev/null || { echo "gpu-check.sh: needs python3" >&2; exit 2; }
[ -x "$gpuctl" ] || { echo "gpu-check.sh: build gpuctl first ($gpuctl)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Readings taken back to back, so the live values (utilization, power) are close in time.
nvidia-smi --query-gpu=$query --format=csv,noheader,nounits >"$tmp/smi.csv"
"$gpuctl" info --json >"$tmp/gpuctl.json"

# Wall time of N runs each, in ms, one per line ($EPOCHREALTIME: no clock process per run).
time_runs() {
    local out=$1
    shift
    for _ in $(seq "$runs"); do
        local t0=${EPOCHREALTIME/./} t1
        "$@" >/dev/null
        t1=${EPOCHREALTIME/./}
        printf '%d.%03d\n' $(((t1 - t0) / 1000)) $(((t1 - t0) % 1000))
    done >"$out"
}
time_runs "$tmp/t_smi" nvidia-smi --query-gpu=$query --format=csv,noheader,nounits
time_runs "$tmp/t_info" "$gpuctl" info --json
time_runs "$tmp/t_info_np" "$gpuctl" info --json --no-processes
time_runs "$tmp/t_select" "$gpuctl" select

gpu=$(head -1 "$tmp/smi.csv" | cut -d, -f3 | sed 's/^ *//; s/ /-/g')
mkdir -p "$outdir"
out="$outdir/gpu-check-$(date -u +%Y-%m-%d)-${gpu:-gpu}.md"

status=0
python3 - "$tmp" "$runs" >"$out" <<'PY' || status=$?
import json, statistics, sys, subprocess, os
tmp, runs = sys.argv[1], int(sys.argv[2])
smi = [[c.strip() for c in line.split(",")] for line in open(f"{tmp}/smi.csv") if line.strip()]
info = json.load(open(f"{tmp}/gpuctl.json"))
by_uuid = {d["uuid"]: d for d in info["devices"] if d["uuid"]}
MiB = 1 << 20
bad = 0

def num(s):
    try:
        return float(s)
    except ValueError:
        return None  # "[N/A]", "[Not Supported]"

print("# gpuctl info --json against nvidia-smi on a real GPU\n")
print(f"- date: {subprocess.run(['date', '-u', '+%Y-%m-%dT%H:%MZ'], capture_output=True, text=True).stdout.strip()}")
print(f"- driver {info.get('driver_version')}, CUDA {info.get('cuda_driver_version')}, NVML {info.get('nvml_version')}")
print(f"- host: {info.get('hostname')}, {os.cpu_count()} CPUs")
print(f"- {len(smi)} GPU(s) by nvidia-smi, {len(by_uuid)} by gpuctl\n")
print("| GPU | field | nvidia-smi | gpuctl | agrees |")
print("| --- | --- | --- | --- | --- |")
for idx, uuid, name, total, used, util, temp, power in smi:
    d = by_uuid.get(uuid)
    if d is None:
        print(f"| {idx} | uuid | {uuid} | missing | NO |")
        bad += 1
        continue
    rows = [
        ("uuid", uuid, d["uuid"], uuid == d["uuid"], True),
        ("name", name, d["name"], name == d["name"], True),
        ("memory.total MiB", total, d["memory_total_bytes"] // MiB,
         num(total) == d["memory_total_bytes"] // MiB, True),
        # nvidia-smi's used may or may not include the driver's reserved part; allow either.
        ("memory.used MiB", used,
         f"{d['memory_used_bytes'] // MiB} (+{(d['memory_reserved_bytes'] or 0) // MiB} reserved)",
         num(used) is not None and min(abs(num(used) - d["memory_used_bytes"] / MiB),
             abs(num(used) - (d["memory_used_bytes"] + (d["memory_reserved_bytes"] or 0)) / MiB)) <= 64,
         False),
        ("utilization.gpu %", util, d["utilization_gpu_percent"],
         num(util) is None and d["utilization_gpu_percent"] is None or
         d["utilization_gpu_percent"] is not None and num(util) is not None and abs(num(util) - d["utilization_gpu_percent"]) <= 10, False),
        ("temperature.gpu C", temp, d["temperature_c"],
         num(temp) is None and d["temperature_c"] is None or
         d["temperature_c"] is not None and num(temp) is not None and abs(num(temp) - d["temperature_c"]) <= 3, False),
        ("power.draw W", power, d["power_draw_w"],
         num(power) is None and d["power_draw_w"] is None or
         d["power_draw_w"] is not None and num(power) is not None and abs(num(power) - d["power_draw_w"]) <= max(10, 0.1 * num(power)), False),
    ]
    for field, a, b, ok, exact in rows:
        print(f"| {idx} | {field} | {a} | {b} | {'yes' if ok else ('NO' if exact else 'differs (live value)')} |")
        if exact and not ok:
            bad += 1

print(f"\n## Time per call ({runs} runs each, ms)\n")
print("| command | median | min | max |")
print("| --- | --- | --- | --- |")
for label, f in [("nvidia-smi --query-gpu=... --format=csv", "t_smi"),
                 ("gpuctl info --json", "t_info"),
                 ("gpuctl info --json --no-processes", "t_info_np"),
                 ("gpuctl select", "t_select")]:
    t = sorted(float(x) for x in open(f"{tmp}/{f}") if x.strip())
    print(f"| `{label}` | {statistics.median(t):.2f} | {t[0]:.2f} | {t[-1]:.2f} |")
print(f"\nidentity mismatches: {bad}")
sys.exit(1 if bad else 0)
PY
cat "$out"
exit $status
