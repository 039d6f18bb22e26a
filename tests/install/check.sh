#!/usr/bin/env bash
# check.sh: installs the build into a temporary prefix, builds app.c with
# `pkg-config --cflags --libs gpuctl` from there, and runs it against the fake NVML.
#   check.sh BUILD_DIR FAKE_NVML_DIR FIXTURES [EXTRA_CFLAGS]
set -euo pipefail
build=$1 fake=$2 fixtures=$3 extra=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT

cmake --install "$build" --prefix "$prefix" >/dev/null
[ -f "$prefix/lib/systemd/system/gpuctl.service" ] || { echo "no gpuctl.service installed" >&2; exit 1; }
grep -q '^ExecStart=.*/gpuctl serve$' "$prefix/lib/systemd/system/gpuctl.service"
# gpuctl finds its helper gpuctl-serve in <prefix>/libexec/gpuctl.
[ -x "$prefix/libexec/gpuctl/gpuctl-serve" ] || { echo "no libexec/gpuctl/gpuctl-serve" >&2; exit 1; }
"$prefix/bin/gpuctl" serve --help | grep -q '^usage: gpuctl serve'
pc=$(find "$prefix" -name gpuctl.pc)
[ -n "$pc" ] || { echo "no gpuctl.pc installed" >&2; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
cc -std=c11 -Wall -Werror $extra "$here/app.c" $(pkg-config --cflags --libs gpuctl) -o "$prefix/app"
out=$(LD_LIBRARY_PATH="$(pkg-config --variable=libdir gpuctl):$fake/current" \
      FAKE_NVML_FIXTURE="$fixtures/nvml/gpu2.json" GPUCTL_SYSFS_ROOT="$fixtures/sysfs/none" \
      "$prefix/app")
echo "$out"
[ "$out" = "use cuda:0 at bf16-mixed
8 GiB free on cuda:0" ]
