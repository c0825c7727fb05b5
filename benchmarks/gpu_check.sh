#!/usr/bin/env bash
# Every GPU check of the project in one run on a machine with a GPU (README, "GPU"):
#   1. the real-GPU cases of the tests (the `gpu` and `device` fixtures' "cuda" backend);
#   1b. the tests of training steps captured in CUDA graphs (compile(jit_compile=True)): when
#      they pass, steps 3 and 4 run with --jit-compile;
#   2. benchmarks/compare_torch.py --device gpu (the ratio line), uncaptured and captured, and
#      the GPU pytest-benchmarks;
#   3. `experiments baseline --device gpu` (seconds per epoch of base, accuracy), uncaptured and
#      (after 1b passed) captured;
#   4. as much of `experiments all --device gpu --seeds 3 --jobs $JOBS` (6) as fits in the time
#      left (Ctrl-C keeps every finished run; re-running adds only the missing ones).
# STEPS (default "1 1b 2 2b 3 4") runs some of them only; GPU_TEST_PATHS (default "tests")
# narrows step 1's test files.
# Logs and runs.tar.gz (every results.jsonl and report) go to $OUT. $EXPERIMENT_ARGS (default
# none), $COMPARE_ARGS and $BENCH_ARGS go to the experiments, compare_torch and pytest-benchmark:
# benchmarks/gpu_rehearsal.sh makes them small to rehearse this script without a GPU.
#
# The device machine has CuPy, Numba, PyTorch, scikit-learn, matplotlib and pytest but no
# network, so nothing is installed: minicnn runs from a copy laid out as the installed package
# (kernels/ becomes minicnn.kernels), and Fashion-MNIST comes from $MINICNN_DATA (by default
# .device/data, which the caller fills from /usr/share/datasets/fashion-mnist and carries).
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$(mktemp -d)}
JOBS=${JOBS:-6}
# One device call may run 600 s. Each step has a time limit, so that a step that hangs cannot
# take the others' time, and the study gets what is left of TOTAL_SECONDS (at most
# STUDY_SECONDS), keeping some for the summary and the tarball.
TOTAL_SECONDS=${TOTAL_SECONDS:-570}
STUDY_SECONDS=${STUDY_SECONDS:-420}
started=$(date +%s)
# limit N: N seconds, or less where less is left of TOTAL_SECONDS (less 30 for the rest).
limit() {
    local left=$((TOTAL_SECONDS - 30 - ($(date +%s) - started)))
    echo $(( $1 < left ? $1 : (left > 1 ? left : 1) ))
}
# STEPS picks the steps to run (default: all of them), so that a second call after a timeout
# runs only what is missing, e.g. STEPS="3 4" JIT_COMPILE=1 (1b's verdict, given by hand).
STEPS=" ${STEPS:-1 1b 2 2b 3 4} "
want() { [[ "$STEPS" == *" $1 "* ]]; }
read -r -a EXPERIMENT_ARGS <<< "${EXPERIMENT_ARGS:-}"
read -r -a COMPARE_ARGS <<< "${COMPARE_ARGS:---warmup 10 --steps 100}"
read -r -a BENCH_ARGS <<< "${BENCH_ARGS:-}"
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
export MINICNN_DATA=${MINICNN_DATA:-$repo/.device/data}
mkdir -p "$OUT"

site=$(mktemp -d)
cp -r "$repo/minicnn" "$repo/tests" "$repo/benchmarks" "$repo/pyproject.toml" "$site/"
cp -r "$repo/kernels" "$site/minicnn/kernels"
cd "$site" || exit 1

stamp() { echo "== $(date -u +%H:%M:%S) $*"; }

stamp "machine"
nvidia-smi -L 2>&1 | head -4
"$PY" - <<'EOF'
import platform

import numpy, numba
from minicnn import backend

print("python", platform.python_version(), "numpy", numpy.__version__, "numba", numba.__version__)
print("gpu available to minicnn:", backend.gpu_available())
if backend.gpu_available():
    cupy = backend.cupy_module()
    print("cupy", cupy.__version__, "CUDA runtime", cupy.cuda.runtime.runtimeGetVersion())
    try:
        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        print("GPU 0:", name, f"{props['totalGlobalMem'] / 2**30:.0f} GiB,",
              props["multiProcessorCount"], "SMs")
    except Exception as e:  # only informative
        print("device properties unavailable:", e)
EOF

if want 1; then
stamp "1. GPU tests (every case of the real-GPU backend; CI runs the emulated ones), and the
   check that CI's fake CuPy was recorded from a CuPy like this one"
# Every test file: a case whose id says "cuda" runs on the GPU (the captured steps' file runs
# in 1b); the rest are deselected.
# shellcheck disable=SC2086  # GPU_TEST_PATHS: several paths, split on spaces
timeout -k 5 "$(limit 240)" "$PY" -m pytest -q -rs -p no:cacheprovider \
    -k "cuda or installed_cupy" ${GPU_TEST_PATHS:-tests} --ignore=tests/test_graph_step.py \
    --ignore=tests/test_gpu_check.py 2>&1 \
    | tee "$OUT/gpu_tests.log" | tail -25
fi

JIT=()
if want 1b; then
    stamp "1b. captured training steps (CUDA graphs) on the GPU"
    if timeout -k 5 "$(limit 90)" "$PY" -m pytest -q -rs -p no:cacheprovider -k cuda \
        tests/test_graph_step.py > "$OUT/graph_tests.log" 2>&1; then
        JIT=(--jit-compile)
    fi
    tail -15 "$OUT/graph_tests.log"
elif [ "${JIT_COMPILE:-0}" = 1 ]; then
    JIT=(--jit-compile)
fi
echo "steps 3 and 4 run with: ${JIT[*]:-(uncaptured steps)}"

if want 2; then
stamp "2. compare_torch --device gpu"
for model in base w4 mlp; do
    for capture in "" --jit-compile; do
        timeout -k 5 "$(limit 60)" "$PY" benchmarks/compare_torch.py --device gpu \
            --model "$model" $capture "${COMPARE_ARGS[@]}" 2>&1 \
            | tee -a "$OUT/compare_torch.log"
    done
done
fi

if want 2b; then
stamp "2b. pytest-benchmark on the GPU (steps waited for, steps queued, every conv)"
timeout -k 5 "$(limit 120)" "$PY" -m pytest -q -p no:cacheprovider benchmarks/test_bench_gpu.py \
    "${BENCH_ARGS[@]}" \
    --benchmark-columns=min,median,mean,stddev,rounds --benchmark-sort=name 2>&1 \
    | tee "$OUT/bench_gpu.log" | tail -30
fi

if want 3; then
stamp "3. baseline on the GPU"
timeout -k 5 "$(limit 120)" "$PY" -m minicnn.experiments baseline --device gpu --out "$OUT/runs" \
    "${EXPERIMENT_ARGS[@]}" 2>&1 \
    | tee "$OUT/baseline.log" | grep -v -E '^\s*$' | tail -30
if [ ${#JIT[@]} -gt 0 ]; then
    stamp "3b. baseline on the GPU, steps captured in a CUDA graph"
    timeout -k 5 "$(limit 120)" "$PY" -m minicnn.experiments baseline --device gpu \
        --out "$OUT/runs_jit" "${JIT[@]}" "${EXPERIMENT_ARGS[@]}" 2>&1 \
        | tee "$OUT/baseline_jit.log" | grep -v -E '^\s*$' | tail -12
fi
fi

if want 4; then
study_seconds=$(limit "$STUDY_SECONDS")
stamp "4. experiments all --device gpu --seeds 3 --jobs $JOBS ${JIT[*]}, for at most $study_seconds s"
start=$(date +%s)
timeout -s INT -k 20 "$study_seconds" "$PY" -m minicnn.experiments all --device gpu --seeds 3 \
    --jobs "$JOBS" --out "$OUT/runs" "${JIT[@]}" "${EXPERIMENT_ARGS[@]}" > "$OUT/study.log" 2>&1 &
study=$!
tick=0
while kill -0 "$study" 2>/dev/null; do
    if (( tick % 10 == 0 )); then
        nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader \
            >> "$OUT/gpu_use.log" 2>&1
    fi
    sleep 1
    tick=$((tick + 1))
done
wait "$study"
echo "exit $? after $(( $(date +%s) - start )) s"
tail -40 "$OUT/study.log"
"$PY" - "$OUT/runs" <<'EOF'
import json
import sys
from pathlib import Path

runs = {}
for path in Path(sys.argv[1]).glob("*/results.jsonl"):
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        runs[record["key"]] = record
ok = [r for r in runs.values() if r.get("status", "ok") == "ok"]
print(f"{len(ok)} distinct runs finished (the study has 19 models x 3 seeds = 57)")
train = sum(r["train_seconds"] for r in ok)
print(f"their training time, added up: {train:.0f} s")
by_model = {}
for r in ok:
    by_model.setdefault(r["model"], []).append(r)
print(f"{'model':6} {'runs':>4} {'test acc %':>10} {'s/epoch':>8}")
for model, rs in sorted(by_model.items()):
    acc = 100 * sum(r["test_accuracy"] for r in rs) / len(rs)
    spe = sum(r["seconds_per_epoch"] for r in rs) / len(rs)
    print(f"{model:6} {len(rs):4d} {acc:10.2f} {spe:8.2f}")
EOF
fi

stamp "summary"
grep -h -E "^model |^minicnn |^torch |^ratio|capture failed" "$OUT/compare_torch.log" 2>/dev/null
grep -h -E "^Test accuracy|^Seconds per epoch" "$OUT/baseline.log" 2>/dev/null
[ -f "$OUT/baseline_jit.log" ] && grep -h -E "^Test accuracy|^Seconds per epoch" \
    "$OUT/baseline_jit.log" | sed 's/^/captured: /'
grep -h -E "passed|failed" "$OUT/gpu_tests.log" 2>/dev/null | tail -1
grep -h -E "passed|failed" "$OUT/graph_tests.log" 2>/dev/null | tail -1 | sed 's/^/graph tests: /'

[ -d "$OUT/runs_jit" ] && mv "$OUT/runs_jit" "$OUT/runs/baseline_jit"
[ -d "$OUT/runs" ] && tar -czf "$OUT/runs.tar.gz" -C "$OUT" runs && rm -rf "$OUT/runs"
stamp "done; files in $OUT"
