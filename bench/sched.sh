#!/usr/bin/env bash
# sched.sh: the scheduler's speed. (1) Allocate + release pairs per second through gpuctl serve's
# REST API on its unix socket (bench_sched_rest: 8 threads, one connection each) on the 8-GPU
# fake NVML, every commit fsynced (the ledger's SQLite WAL, synchronous=FULL), the daemon pinned
# to 2 cores; then the same with the state directory on tmpfs (/dev/shm), where fsync costs
# nothing. (2) Placement decisions in process (bench_sched_place) with 10,000 queued
# allocations on 64 fake GPUs. Writes bench/results/sched-<date>.md. Targets: >= 2,000 pairs/s
# on 2 cores; <= 100 us per decision.
#
#   bench/sched.sh [RUNS] [SECONDS]   (default 5 runs of 10 s; part 2 does RUNS runs as well)
# GPUCTL_BENCH_DISK: where the on-disk state directories go (default /var/tmp; not tmpfs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
secs=${2:-10}
build="$root/build-bench"
threads=8
decisions=200
disk=${GPUCTL_BENCH_DISK:-/var/tmp}
for tool in taskset curl python3; do
    command -v "$tool" >/dev/null || { echo "sched.sh: needs $tool" >&2; exit 1; }
done

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j --target gpuctl gpuctl-serve fake_nvml bench_sched_rest \
    bench_sched_place >/dev/null

# The daemon gets cores 0 and 1; the client the others, when there are any.
ncpu=$(nproc)
daemon_cpus=0,1
client_cpus="2-$((ncpu - 1))"
cores="the daemon on cores $daemon_cpus (taskset), the client on cores $client_cpus"
if [ "$ncpu" -lt 4 ]; then
    client_cpus="0-$((ncpu - 1))"
    cores="the daemon on cores $daemon_cpus (taskset); **this machine has $ncpu cores, so the"
    cores+=" client shares them with the daemon**, which has less than the 2 cores the target"
    cores+=" assumes"
fi

tmp=$(mktemp -d)
dirs=("$tmp")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "${dirs[@]}"
}
trap cleanup EXIT

export LD_LIBRARY_PATH="$build/fake-nvml/current"
export FAKE_NVML_FIXTURE="$root/tests/fixtures/nvml/gpu8-mixed.json"
export GPUCTL_SYSFS_ROOT="$root/tests/fixtures/sysfs/none"
unset GPUCTL_PROCFS_ROOT

# thread_list PID: one line per thread of PID: its id, name and CPU nanoseconds (schedstat).
thread_list() {
    for t in /proc/"$1"/task/*; do
        echo "${t##*/} $(cat "$t/comm") $(cut -d' ' -f1 "$t/schedstat")"
    done
}

# cpu BEFORE AFTER SECONDS: the daemon's CPU between two threads listings, all threads and the
# scheduler's, and its busiest thread's share of a core.
cpu() {
    python3 - "$@" <<'PY'
import sys
def read(path): return {l.split()[0]: (l.split()[1], int(l.split()[2])) for l in open(path)}
a, b = read(sys.argv[1]), read(sys.argv[2])
d = {t: (n, ns - a.get(t, (n, 0))[1]) for t, (n, ns) in b.items()}
busy = max(d.values(), key=lambda x: x[1])
print(f"daemon_ns={sum(ns for _, ns in d.values())} "
      f"sched_ns={sum(ns for n, ns in d.values() if n == 'gpuctl-sched')} "
      f"busiest={busy[0]} busiest_pct={busy[1] / float(sys.argv[3]) / 1e7:.0f}")
PY
}

# rest LABEL PARENT: a daemon with its state under PARENT, a warm-up second, then $runs runs of
# the client; appends a row to $rest_rows and the checks to $checks.
rest_rows=""
checks=""
rest() {
    local dir fs pid line warm open counts
    dir=$(mktemp -d -p "$2" gpuctl-sched.XXXXXX)
    dirs+=("$dir")
    fs=$(df --output=fstype "$dir" | tail -1)
    taskset -c "$daemon_cpus" "$build/gpuctl" serve --procfs-root /proc \
        --listen "unix:$dir/s.sock" --state-dir "$dir/state" 2>"$dir/stderr" &
    pids+=("$!")
    for _ in $(seq 100); do [ -f "$dir/state/serve.json" ] && break; sleep 0.05; done
    pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' \
        "$dir/state/serve.json")
    warm=$(taskset -c "$client_cpus" "$build/bench_sched_rest" "$dir/s.sock" "$threads" 1 || true)
    for _ in $(seq "$runs"); do
        thread_list "$pid" >"$dir/before"
        line=$(taskset -c "$client_cpus" "$build/bench_sched_rest" "$dir/s.sock" "$threads" \
            "$secs" || true)
        thread_list "$pid" >"$dir/after"
        echo "$line $(cpu "$dir/before" "$dir/after" "$secs")" >>"$dir/runs.txt"
    done
    open=$(curl -s --unix-socket "$dir/s.sock" http://localhost/api/v1/gpu/allocations |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)["allocations"]))')
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    counts=$(python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(", ".join(f"{n:,} {s}" for s, n in db.execute(
    "SELECT state, count(*) FROM allocations GROUP BY state ORDER BY state")))' \
        "$dir/state/gpuctl.db")
    rest_rows+=$(python3 - "$1 ($fs)" "$dir/runs.txt" <<'PY'
import statistics, sys
rows = [dict(kv.split("=") for kv in l.split()) for l in open(sys.argv[2]) if "pairs=" in l]
def col(k): return sorted(float(r[k]) for r in rows)
rate, p50, p99 = col("pairs_per_s"), col("p50_ms"), col("p99_ms")
cpu = sorted(float(r["daemon_ns"]) / float(r["pairs"]) / 1e3 for r in rows)
sched = sorted(float(r["sched_ns"]) / float(r["pairs"]) / 1e3 for r in rows)
errors = sum(int(r["errors"]) for r in rows)
busy = sorted(float(r["busiest_pct"]) for r in rows)
print(f"| {sys.argv[1]} | {len(rows)} | {statistics.median(rate):,.0f} | "
      f"{rate[0]:,.0f} - {rate[-1]:,.0f} | {statistics.median(p50):.2f} | "
      f"{statistics.median(p99):.2f} | {p99[0]:.2f} - {p99[-1]:.2f} | "
      f"{statistics.median(cpu):.0f} ({statistics.median(sched):.0f}) | "
      f"{rows[0]['busiest']}, {statistics.median(busy):.0f}% | {errors} |")
PY
    )$'\n'
    echo "$warm" >>"$dir/runs.txt"
    checks+="- $1 ($fs): $(python3 - "$dir/runs.txt" <<'PY'
import sys
rows = [dict(kv.split("=") for kv in l.split()) for l in open(sys.argv[1]) if "pairs=" in l]
print(f"{sum(int(r['pairs']) for r in rows):,} pairs made by the client (its warm-up second "
      f"included), {sum(int(r['errors']) for r in rows)} errors;", end="")
PY
) the ledger holds $counts; \`GET /api/v1/gpu/allocations\` lists $open open."$'\n'
}

rest "disk" "$disk"
rest "tmpfs" /dev/shm

# Part 2, pinned like the daemon: on disk every case; on tmpfs the cheap ones again.
place() {
    local dir
    dir=$(mktemp -d -p "$1" gpuctl-place.XXXXXX)
    dirs+=("$dir")
    echo "fs=$(df --output=fstype "$dir" | tail -1)"
    taskset -c "$daemon_cpus" "$build/bench_sched_place" \
        "$build/fake-nvml/current/libnvidia-ml.so.1" "$dir" "$runs" "$decisions" "$decisions" \
        10000 "$2"
}
{
    place "$disk" ABCE
    place /dev/shm ABE
} >"$tmp/place.txt"
disk_fs=$(df --output=fstype "$disk" | tail -1)

place_rows=$(python3 - "$tmp/place.txt" <<'PY'
import statistics, sys
runs, parts, fs = {}, {}, None
for line in open(sys.argv[1]):
    if line.startswith("fs="):
        fs = line.strip()[3:]
        continue
    r = dict(kv.split("=") for kv in line.split())
    if r["what"] == "parts":
        parts.setdefault(r["case"], []).append(r)
    else:
        runs.setdefault((fs, r["case"], r["what"]), []).append(r)
what = {"pass": "steady pass (nothing fits)", "decision": "release + grant (2 commits)",
        "grant": "decision: the pass that grants (1 commit)",
        "release": "release, empty queue (1 commit)", "commit": "one ledger commit alone",
        "aftercommit": "one ledger commit right after another, as the grant's"}
cases = {"A": "A: one request", "B": "B: a mix of 8 requests", "C": "C: 10,000 memory sizes",
         "empty": "empty queue"}
med = {}
for (fs, case, w), rs in runs.items():
    def col(k): return sorted(float(r[k]) for r in rs)
    m, p, c = col("wall_median_us"), col("wall_p99_us"), col("cpu_median_us")
    t = statistics.median(col("thread_cpu_us"))
    n = int(rs[0]["n"])
    med[(fs, case, w)] = (statistics.median(m), statistics.median(c))
    grants = sum(int(r["grants"]) for r in rs)
    g = f"{grants} of {n * len(rs)}" if w in ("decision", "grant") else "-"
    print(f"| {fs} | {cases[case]} | {'0' if case == 'empty' else '10,000'} | {what[w]} "
          f"| {len(rs)} x {n} | {statistics.median(m):,.1f} | {m[0]:,.1f} - {m[-1]:,.1f} "
          f"| {statistics.median(p):,.1f} | {p[0]:,.1f} - {p[-1]:,.1f} "
          f"| {statistics.median(c):,.1f} "
          f"| {t:,.1f} | {g} |")
print()
for fs in sorted({k[0] for k in med}):
    for case in "ABC":
        d = med.get((fs, case, "grant"))
        commit = med.get((fs, case, "aftercommit"))
        if d is None or commit is None:
            continue
        print(f"- {fs}, case {case}: the decision without its commit = {d[0]:,.1f} - "
              f"{commit[0]:,.1f} = **{d[0] - commit[0]:,.1f} us** wall, "
              f"{d[1] - commit[1]:,.1f} us CPU (the steady pass alone: "
              f"{med[(fs, case, 'pass')][0]:,.1f} us)")
print()
print("Splits of a pass (hot loops under the lock, means; medians over all runs):")
print()
print("| case | policy_place(), 64 GPUs, none fits | sched_allow() | one size_format() "
      "| one sched_same_shape() | a walk over the open allocations (after 2 ms idle) |")
print("| --- | --- | --- | --- | --- | --- |")
for case, rs in sorted(parts.items()):
    def m(k): return statistics.median(float(r[k]) for r in rs)
    print(f"| {cases[case]} | {m('place_us'):.1f} us | {m('allow_us'):.2f} us "
          f"| {m('size_format_ns'):.0f} ns | {m('same_shape_ns'):.1f} ns "
          f"| {m('walk_open_us'):.0f} us ({int(m('open')):,}) |")
PY
)

out="$root/bench/results/sched-$(date -u +%Y-%m-%d).md"
{
    echo "# The scheduler: allocations through REST, and placement with 10,000 queued"
    echo
    echo "Release build. Targets: >= 2,000 allocate + release pairs per second through REST on"
    echo "2 cores, every commit durable; <= 100 us per placement decision with 10,000 queued"
    echo "requests and 64 GPUs. Figures are medians over runs, then the range of the runs'"
    echo "figures. The on-disk state directories are under $disk ($disk_fs); tmpfs is /dev/shm."
    echo
    "$root/bench/machine.sh"
    echo
    echo "## 1. Allocate + release pairs through REST"
    echo
    echo "\`gpuctl serve --procfs-root /proc --listen unix:DIR/s.sock --state-dir DIR/state\` on"
    echo "tests/fixtures/nvml/gpu8-mixed.json, default configuration; $cores."
    echo "\`bench_sched_rest SOCKET $threads $secs\` (bench/sched_rest.c): $threads threads, one"
    echo "connection each, looping POST /api/v1/gpu/allocate {\"kind\": \"other\","
    echo "\"memory_gb\": 0.01, \"wait\": 0} (200, allocation_id read) then POST"
    echo "/api/v1/gpu/release {\"allocation_id\": N} (200). Each pair is two ledger commits, each"
    echo "fsynced (WAL, synchronous=FULL) on disk. $runs runs of $secs s after a warm-up second;"
    echo "latency is of a whole pair. Daemon CPU from /proc/PID/task/*/schedstat, in brackets its"
    echo "gpuctl-sched thread's (the pass it runs after every change); the busiest thread's median"
    echo "share of one core over the runs."
    echo
    echo "| state directory | runs | median pairs/s | range | median p50 ms | median p99 ms | range | daemon CPU us per pair (sched thread) | busiest thread, % of a core | errors |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    printf '%s' "$rest_rows"
    echo
    echo "Checks, after each daemon's runs:"
    echo
    printf '%s' "$checks"
    echo
    echo "## 2. Placement decisions with 10,000 queued on 64 GPUs"
    echo
    echo "\`bench_sched_place FAKE_NVML DIR $runs $decisions $decisions 10000\`"
    echo "(bench/sched_place.c), pinned to cores $daemon_cpus: in one process, 64 fake A100 80GB"
    echo "(the fixture of tests/e2e/harness.c), the daemon's monitor (1 s samples) and a scheduler"
    echo "(spread) over a fresh ledger in DIR for each run and case. Every GPU is filled to its"
    echo "training limit (64 allocations of 8 GB; in case B also its inference limit, 3 per GPU),"
    echo "then 10,000 requests that wait for ever are queued: A all the same (training, 1 GPU,"
    echo "4 GB); B eight kinds of request (training 1 GPU 4/8/16/40 GB, 2 GPUs 16/40 GB,"
    echo "inference 2/8 GB: three shapes, as the pass counts them, memory aside); C each asking its"
    echo "own memory (1 GPU, training; 20 calls a run: the worst case when the pass's shapes still"
    echo "counted memory). A pass may start more than one request (\"grants\" counts them all)."
    echo "Timed, wall and the calling thread's CPU:"
    echo
    echo "- steady pass: lock, sched_pass(), unlock, when nothing can be placed (what every"
    echo "  request and every 250 ms tick pays);"
    echo "- release + grant: sched_release() of an active allocation, whose pass grants the head"
    echo "  of the queue on the GPU it frees: two fsynced commits (the release, the grant)"
    echo "  included; what a client's release costs end to end;"
    echo "- decision: an active allocation ends (its commit not timed), then the pass that places"
    echo "  the head of the queue on the GPU it freed, with the grant's one commit; every other"
    echo "  time, in its place, one ledger write alone right after the end's commit, so that the"
    echo "  decision's own work is the difference of two figures taken in the same state;"
    echo "- release on an empty queue: the same with no queue (one commit), and one ledger write"
    echo "  alone (an active allocation written again)."
    echo
    echo "Before each call the benchmark pauses 2 ms and waits for the scheduler's own thread,"
    echo "which runs another pass after every change (its CPU per call is the \"sched thread\""
    echo "column): each call finds the caches as a request after an idle moment does, which on"
    echo "this machine costs a commit several times its back-to-back time."
    echo
    echo "| ledger on | case | queued | measure | runs x calls | median us | range of run medians | median p99 us | range | CPU median us | sched thread CPU us per call | grants |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    printf '%s\n' "$place_rows"
} >"$out"
cat "$out"
