#!/usr/bin/env bash
# machine.sh: prints a Markdown description of this machine for benchmark result files.
set -u
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "- cpu: ${cpu:-unknown}, $(nproc) cores online"
echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "- kernel: $(uname -sr), $(. /etc/os-release && echo "$PRETTY_NAME")"
echo "- compiler: $(cc --version | head -1)"
echo "- gpuctl: $(git -C "$(dirname "$0")/.." describe --always --dirty 2>/dev/null || echo unknown)"
