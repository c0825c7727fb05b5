#!/usr/bin/env bash
# Rehearses benchmarks/gpu_check.sh on a machine without a GPU, so that a mistake in the script
# costs seconds here instead of the device machine's scarce minutes. "cupy" is the tests' fake
# CuPy (device arrays in host memory, the CUDA source compiled by g++, only what the real CuPy
# offers), and the experiments are cut small; everything else runs as it will on the GPU.
# PyTorch has no GPU here, so compare_torch's torch side fails: the rehearsal reports that and
# goes on. Usage: bash benchmarks/gpu_rehearsal.sh [OUT folder]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$(mktemp -d)}
shim=$(mktemp -d)
trap 'rm -rf "$shim"' EXIT
mkdir -p "$shim/cupy" "$out"
cat > "$shim/cupy/__init__.py" <<EOF
# Importing "cupy" gives the fake CuPy of minicnn's tests (a rehearsal of gpu_check.sh).
import sys

sys.path.insert(0, "$repo/tests")
import fake_cupy  # noqa: E402

sys.modules[__name__] = fake_cupy.FakeCupy()
EOF

MINICNN_DATA=${MINICNN_DATA:-$repo/.device/data}
if [ ! -d "$MINICNN_DATA" ]; then
    MINICNN_DATA=$(dirname "$(dpkg -L dataset-fashion-mnist 2>/dev/null | grep -m1 'train-images')")
fi
export MINICNN_DATA
export PYTHONPATH="$shim${PYTHONPATH:+:$PYTHONPATH}"
export OUT="$out" STUDY_SECONDS=${STUDY_SECONDS:-60} JOBS=${JOBS:-2}
export EXPERIMENT_ARGS=${EXPERIMENT_ARGS:-"--epochs 1 --max-train 512 --max-test 256"}
export COMPARE_ARGS=${COMPARE_ARGS:-"--warmup 1 --steps 3"}
export BENCH_ARGS=${BENCH_ARGS:-"--benchmark-disable"}
bash "$repo/benchmarks/gpu_check.sh"
