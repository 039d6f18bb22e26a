#!/usr/bin/env bash
# api.sh: gpuctl serve on the 8-GPU fake NVML: requests/s and p99 latency of
# GET /api/v2/resources/gpu and GET /metrics over loopback (wrk), the sampler's CPU at the
# default 1 s interval, and the daemon's RSS holding a full history ring for 8 GPUs. Writes
# bench/results/api-<date>.md. Targets (issue 4), on 2 cores: >= 20,000 requests/s and
# p99 <= 5 ms; RSS <= 16 MB; sampler <= 1% of a core.
#
#   bench/api.sh [RUNS] [SECONDS]   (default 5 runs of 10 s per endpoint and load)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
secs=${2:-10}
build="$root/build-bench"
command -v wrk >/dev/null || { echo "api.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j >/dev/null

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

export LD_LIBRARY_PATH="$build/fake-nvml/current"
export FAKE_NVML_FIXTURE="$root/tests/fixtures/nvml/gpu8-mixed.json"
export GPUCTL_PROCFS_ROOT="$root/tests/fixtures/procfs/workstation"
export GPUCTL_SYSFS_ROOT="$root/tests/fixtures/sysfs/none"

# start NAME CONFIG: starts a daemon on 127.0.0.1:0; sets $pid and $addr.
start() {
    local dir="$tmp/$1"
    mkdir -p "$dir"
    printf '%s' "$2" >"$dir/config.yaml"
    "$build/gpuctl" serve --config "$dir/config.yaml" --listen 127.0.0.1:0 \
        --state-dir "$dir/state" 2>"$dir/stderr" &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 100); do [ -f "$dir/state/serve.json" ] && break; sleep 0.05; done
    addr=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listen"][0])' \
        "$dir/state/serve.json")
}

# thread_ns PID NAME: CPU nanoseconds the named thread (or all threads, "*") has used.
thread_ns() {
    local total=0
    for t in /proc/"$1"/task/*; do
        if [ "$2" = "*" ] || [ "$(cat "$t/comm")" = "$2" ]; then
            total=$((total + $(cut -d' ' -f1 "$t/schedstat")))
        fi
    done
    echo "$total"
}

# wrk_runs PATH THREADS CONNS: one line of "req/s p99_ms" per run.
wrk_runs() {
    for _ in $(seq "$runs"); do
        wrk -t"$2" -c"$3" -d"${secs}s" --latency "http://$addr$1" | python3 -c '
import re, sys
text = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
v, unit = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", text).groups()
print(rps, float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit])'
    done
}

# summarize LABEL < "rps p99" lines: a Markdown row with medians and ranges.
summarize() {
    python3 -c '
import statistics, sys
rows = [tuple(map(float, l.split())) for l in sys.stdin if l.strip()]
r = sorted(x[0] for x in rows); p = sorted(x[1] for x in rows)
print(f"| {sys.argv[1]} | {len(rows)} | {statistics.median(r):,.0f} | {r[0]:,.0f} - {r[-1]:,.0f} "
      f"| {statistics.median(p):.2f} | {p[0]:.2f} - {p[-1]:.2f} |")' "$1"
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# 1. Throughput and latency, default configuration (1 s interval).
start main "log_level: warn
"
main_pid=$pid
curl -sf "http://$addr/metrics" >/dev/null
bytes_res=$(curl -s "http://$addr/api/v2/resources/gpu" | wc -c)
bytes_met=$(curl -s "http://$addr/metrics" | wc -c)
rows=""
for path in /api/v2/resources/gpu /metrics; do
    for load in "2 32" "1 8"; do
        set -- $load
        rows+=$(wrk_runs "$path" "$1" "$2" | summarize "\`GET $path\`, wrk -t$1 -c$2")$'\n'
    done
done
rss_after_load=$(rss_kb "$main_pid")

# 2. The sampler's CPU at 1 s, idle otherwise.
idle=${GPUCTL_BENCH_IDLE:-60}
s0=$(thread_ns "$main_pid" gpuctl-sampler); e0=$(thread_ns "$main_pid" gpuctl-events)
a0=$(thread_ns "$main_pid" "*"); m0=$(curl -s "http://$addr/metrics")
sleep "$idle"
s1=$(thread_ns "$main_pid" gpuctl-sampler); e1=$(thread_ns "$main_pid" gpuctl-events)
a1=$(thread_ns "$main_pid" "*"); m1=$(curl -s "http://$addr/metrics")
sampler_stats=$(python3 - "$m0" "$m1" <<'PY'
import re, sys
def get(text, name):
    return float(re.search(rf"^{name} (\S+)$", text, re.M).group(1))
m0, m1 = sys.argv[1], sys.argv[2]
n = get(m1, "gpuctl_sampler_duration_seconds_count") - get(m0, "gpuctl_sampler_duration_seconds_count")
s = get(m1, "gpuctl_sampler_duration_seconds_sum") - get(m0, "gpuctl_sampler_duration_seconds_sum")
print(f"{int(n)} {s / n * 1e6:.0f}")
PY
)
read -r samples per_sample_us <<<"$sampler_stats"
pct() { python3 -c "print(f'{($2 - $1) / ($idle * 1e9) * 100:.3f}')" ; }
sampler_pct=$(pct "$s0" "$s1"); events_pct=$(pct "$e0" "$e1"); all_pct=$(pct "$a0" "$a1")

# 3. RSS with a full ring: 3600 samples per device, as 1 h at 1 s holds, filled at 50 ms.
start ring "monitor_update_interval: 50ms
history: 180s
log_level: warn
"
ring_pid=$pid
sleep "${GPUCTL_BENCH_FILL:-185}"
for path in /api/v2/resources/gpu /metrics /api/v1/gpu/monitoring?window=1h; do
    wrk -t2 -c32 -d5s "http://$addr$path" >/dev/null
done
ring_samples=$(curl -s "http://$addr/api/v1/gpu/monitoring?window=1h" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["devices"][0]["window"]["samples"])')
ring_rss=$(rss_kb "$ring_pid"); ring_hwm=$(hwm_kb "$ring_pid")

out="$root/bench/results/api-$(date -u +%Y-%m-%d).md"
{
    echo "# gpuctl serve on the 8-GPU fake NVML"
    echo
    echo "Release build; the daemon serves tests/fixtures/nvml/gpu8-mixed.json (8 GPUs) on"
    echo "127.0.0.1 with the default configuration (1 s samples, 1 h history). wrk runs on the"
    echo "same machine: **client and daemon share its $(nproc) cores**, so the daemon has less"
    echo "than the 2 cores the targets assume. Each row: $runs runs of $secs s; medians, then the"
    echo "range over runs. Targets (issue 4): >= 20,000 requests/s and p99 <= 5 ms; RSS <= 16 MB"
    echo "holding a full hour of history for 8 GPUs; sampler <= 1% of a core at 1 s."
    echo
    "$root/bench/machine.sh"
    echo
    echo "## Throughput and latency"
    echo
    echo "Answers: /api/v2/resources/gpu $bytes_res bytes (reused until the next sample),"
    echo "/metrics $bytes_met bytes (GPU families rendered once per sample, daemon families per"
    echo "request)."
    echo
    echo "| request, load | runs | median requests/s | range | median p99 ms | range |"
    echo "| --- | --- | --- | --- | --- | --- |"
    printf '%s' "$rows"
    echo
    echo "## Sampler CPU at 1 s (idle daemon, ${idle} s)"
    echo
    echo "CPU time from /proc/PID/task/TID/schedstat of the named threads."
    echo
    echo "| thread | % of one core |"
    echo "| --- | --- |"
    echo "| gpuctl-sampler (reads 8 GPUs, health, snapshot, history) | $sampler_pct |"
    echo "| gpuctl-events (NVML event wait; the fake polls every 10 ms where the real library blocks) | $events_pct |"
    echo "| whole daemon | $all_pct |"
    echo
    echo "$samples samples; $per_sample_us us of wall time per sample (gpuctl_sampler_duration_seconds)."
    echo
    echo "## Memory"
    echo
    echo "| daemon | VmRSS | VmHWM |"
    echo "| --- | --- | --- |"
    echo "| default config, after the load above (ring not full) | $((rss_after_load / 1024)).$(((rss_after_load % 1024) * 10 / 1024)) MiB | $(( $(hwm_kb "$main_pid") / 1024 )) MiB |"
    echo "| full ring: $ring_samples samples per GPU in its 1 h window (the ring holds 3600, 1 h at 1 s, filled at 50 ms for 180 s; the rest are the SQLite minute before it), then 15 s of load | $((ring_rss / 1024)).$(((ring_rss % 1024) * 10 / 1024)) MiB | $((ring_hwm / 1024)).$(((ring_hwm % 1024) * 10 / 1024)) MiB |"
} >"$out"
cat "$out"
