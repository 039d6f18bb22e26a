#!/usr/bin/env bash
# tune.sh: gpuctl tune's batch-size search against PyTorch Lightning's `power` and `binsearch`
# modes on 20 synthetic curves (fit limits and peaks log-uniform over 8 to 4096): trials used and
# throughput lost against the best size; then the wall time of whole `gpuctl tune` runs against
# the fake trainer and the fake NVML. Writes bench/results/tune-<date>.md.
# Targets (issue 7): no more trials than `power`, and <= 2% throughput lost.
#
#   bench/tune.sh [RUNS]      (default 11 timed runs of gpuctl tune)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-11}
build="$root/build-tune-bench"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target bench_tune_sim gpuctl gpuctl-client fake_nvml fake_trainer \
    >/dev/null
sim=$("$build/bench_tune_sim")
totals=$(grep '^totals:' <<<"$sim")
get() { sed -n "s/.* $1=\([0-9.\/]*\).*/\1/p" <<<" $totals"; }

# Whole runs: the fits-300, peak-128 curve of the tests, straight on the fake A100.
export LD_LIBRARY_PATH="$build/fake-nvml/current"
export FAKE_NVML_FIXTURE="$root/tests/fixtures/nvml/gpu1.json"
export GPUCTL_PROCFS_ROOT="$root/tests/fixtures/procfs/workstation"
export GPUCTL_SYSFS_ROOT="$root/tests/fixtures/sysfs/none"
times=()
for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$build/gpuctl" tune --json -- "$build/tests/fake_trainer" --batch '{}' --fit 300 \
        --peak 128 --fall 256 >"$build/tune.json" 2>/dev/null
    end=$(date +%s%N)
    times+=("$(( (end - start) / 1000 ))")
done
trials=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["trials"]))' \
    "$build/tune.json")
stats=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {
    printf "%.1f %.1f %.1f %.1f %.1f", a[int((NR+1)/2)]/1000, a[1]/1000, a[int(NR/4)+1]/1000,
        a[int(3*NR/4)+1]/1000, a[NR]/1000 }')
read -r med min p25 p75 max <<<"$stats"

out="$root/bench/results/tune-$(date -u +%Y-%m-%d).md"
{
    echo "# gpuctl tune: trials and throughput lost on 20 synthetic curves"
    echo
    echo "bench/tune.sh runs bench/tune_sim.c: gpuctl tune's search (src/tune/search.c, the code"
    echo "the command runs) and PyTorch Lightning's \`scale_batch_size\` modes, written from"
    echo "batch_size_scaling.py (\`power\`: double until the first OOM; \`binsearch\`: then bisect to"
    echo "1 and take 5% off), on the same 20 curves (tests/fakes/trainer/curve.h): memory fits up"
    echo "to a limit; throughput rises as b/(b + peak/8) to its peak, stays flat to where it falls,"
    echo "then falls as sqrt(fall/b). Limits and peaks are drawn log-uniform over 8 to 4096 with a"
    echo "fixed seed. All three start at 1 (Lightning's default init_val is 2: one trial fewer) and"
    echo "stop at 4096. \"Lost\" is 1 - throughput(chosen) / the best throughput of any size that"
    echo "fits; for gpuctl, in brackets, against the best size on its grid (any size below 64,"
    echo "multiples of 8 from 64 up, the sizes it recommends). Simulated trials take no time, so"
    echo "these figures do not vary between runs."
    echo
    "$root/bench/machine.sh"
    echo "- lscpu:"
    echo
    echo '```'
    lscpu | head -n 12
    echo '```'
    echo
    grep '^|' <<<"$sim"
    echo
    echo "Totals: gpuctl tune $(get gpuctl) trials, power $(get power), binsearch $(get binsearch)."
    echo "Throughput lost, mean: gpuctl tune $(get mean_lost_gpuctl)%, power"
    echo "$(get mean_lost_power)%, binsearch $(get mean_lost_binsearch)%; gpuctl tune's worst"
    echo "$(get worst_lost)% ($(get worst_lost_grid)% against its grid). gpuctl tune used no more"
    echo "trials than power on $(get curves_within_power) curves."
    echo
    echo "## Whole runs"
    echo
    echo "\`gpuctl tune --json\` against the fake trainer (fits 300, peak 128, falls after 256) on"
    echo "the fake A100 (Release build, no daemon): $trials trials per run, $runs runs."
    echo
    echo "| median ms | min | p25 | p75 | max |"
    echo "| --- | --- | --- | --- | --- |"
    echo "| $med | $min | $p25 | $p75 | $max |"
} >"$out"
cat "$out"
