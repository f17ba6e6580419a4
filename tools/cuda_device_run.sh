#!/usr/bin/env bash
# One call on the GPU machine (the device tool) that builds the CUDA-only tree, runs the CUDA tests, a
# compute-sanitizer memcheck pass, the per-op benchmarks and the whole-model benchmark on a random-weight
# Qwen3-8B written by tools/make_random_model.py. Logs and tables land in $OUT (at most 8 files).
#   tools/cuda_prepare_deps.sh                # here, once: header-only deps + googletest into .cuda_deps/
#   run(command="tools/cuda_device_run.sh all", carry=[".cuda_deps"])
# Stages: all | test | bench | profile | model | engine | memcheck (comma-separated), run in that order after one
# build of everything they need; `profile` puts the qkv GEMV and the
# streamed decode attention under Nsight Compute. `engine` runs the whole engine (scheduler, continuous
# batching, CUDA-graph decode, overlapped steps) on 1,000 requests of 128 + 128 tokens, through the engine
# bench and through `turbolm bench throughput` (the binary, built without the HTTP server); it needs
# .cuda_deps/sysroot (tools/cuda_prepare_deps.sh) and writes $OUT/engine_bench.md. With `all` and ncu present that
# is a ninth file in $OUT (8 come back): run `engine` on its own call then.
set -uo pipefail
stages=${1:-all}
OUT=${OUT:-/tmp/cuda_out}
mkdir -p "$OUT"
want() { [[ $stages == all || ,$stages, == *,$1,* ]]; }
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=build-device

{ nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv; nvcc --version | tail -2
  cmake --version | head -1; echo "commit: $(git rev-parse --short HEAD 2>/dev/null) (+ working tree)"; } \
  | tee "$OUT/device.txt"

model=/tmp/qwen3-8b
if (want model || want engine) && [[ ! -f $model/model.safetensors.index.json ]]; then  # index written last; CPU-bound: overlaps the build
  gen_start=$(date +%s)
  python3 tools/make_random_model.py --preset qwen3-8b --out $model > /tmp/make_model.log 2>&1 &
  gen_pid=$!
fi

start=$(date +%s)
# One build of every target the stages need (16 cores at once); -k 0 so that a layer mid-change costs only the
# stages that need it: each stage checks for its own binary.
targets="turbolm_cuda_tests turbolm_cuda_ops_bench turbolm_cuda_cublaslt_bench"
if want model; then targets+=" turbolm_cuda_model_bench"; fi
if want engine; then targets+=" turbolm_cuda_engine_bench turbolm"; fi
cmake -S tools/cuda_device -B $build -G Ninja -DTURBOLM_CUDA_PTXAS_VERBOSE=ON > "$OUT/build.log" 2>&1 &&
  ninja -k 0 -C $build -j16 $targets >> "$OUT/build.log" 2>&1
build_rc=$?
echo "build rc=$build_rc in $(( $(date +%s) - start )) s" | tee -a "$OUT/device.txt"
if [[ $build_rc != 0 ]]; then
  grep -E "error|FAILED|Error|undefined reference" -A6 "$OUT/build.log" | head -80
fi
if [[ ! -x $build/tests/unit/cuda/turbolm_cuda_tests ]]; then
  exit 1
fi
# ptxas: any kernel of ours with a stack frame or spills.
awk '/Compiling entry function/ {fn=$0} /spill/ && ($5 != "0" || $1 != "0") {print fn; print}' "$OUT/build.log" |
  grep -v "cub\|CUB" | head -20 | tee -a "$OUT/device.txt"

if want test; then
  start=$(date +%s)
  # TEST_FILTER: a gtest filter for a short call (default: every CUDA test).
  timeout 300 $build/tests/unit/cuda/turbolm_cuda_tests --gtest_brief=1 --gtest_filter="${TEST_FILTER:-*}" \
    > "$OUT/tests.log" 2>&1  # a hang costs 5 min, not the call
  tests_rc=$?
  echo "tests rc=$tests_rc in $(( $(date +%s) - start )) s" | tee -a "$OUT/device.txt"
  grep -E "FAILED|Failure|error|PASSED|SKIPPED" "$OUT/tests.log" | head -60
  if [[ $tests_rc == 124 ]]; then  # a hang: the later stages would most likely hang too
    tail -5 "$OUT/tests.log"
    exit 1
  fi
  # TEST_AB: the same tests again under each listed switch (commas join several: A=1,B=0).
  for switch in ${TEST_AB:-}; do
    start=$(date +%s)
    { echo "## $switch"; env ${switch//,/ } timeout 200 $build/tests/unit/cuda/turbolm_cuda_tests --gtest_brief=1 \
        --gtest_filter="${TEST_FILTER:-*}"; } >> "$OUT/tests.log" 2>&1
    tests_rc=$?
    echo "tests under $switch rc=$tests_rc in $(( $(date +%s) - start )) s" | tee -a "$OUT/device.txt"
    if [[ $tests_rc == 124 ]]; then
      exit 1
    fi
  done
  grep -E "^## |FAILED|PASSED|SKIPPED" "$OUT/tests.log" | tail -30
fi


if want bench; then
  timeout 300 $build/bench/cuda/turbolm_cuda_ops_bench > "$OUT/ops_bench.md" 2>&1
  echo "ops bench rc=$?" | tee -a "$OUT/device.txt"
  cat "$OUT/ops_bench.md"
  { echo; timeout 120 $build/bench/cuda/turbolm_cuda_cublaslt_bench; } >> "$OUT/ops_bench.md" 2>&1
  echo "cublaslt bench rc=$?" | tee -a "$OUT/device.txt"
  tail -14 "$OUT/ops_bench.md"
fi

if want profile && command -v ncu > /dev/null; then  # the qkv decode GEMV (T = 1) under Nsight Compute
  timeout 300 ncu --kernel-name regex:gemv_kernel --launch-skip 5 --launch-count 1 --section SpeedOfLight \
    --section Occupancy --section WarpStateStats --section LaunchStats --section MemoryWorkloadAnalysis \
    $build/bench/cuda/turbolm_cuda_ops_bench --quick > "$OUT/ncu_gemv.txt" 2>&1
  echo "ncu rc=$?" | tee -a "$OUT/device.txt"
  grep -E "Duration|Throughput|Occupancy|Registers|Block Limit|Stall|Waves|Bandwidth|Busy" "$OUT/ncu_gemv.txt" | head -40
  # The streamed decode attention at 64 sequences x 256 tokens: bench_attention's third case (each case launches
  # it 2 x 23 times: through paged_attention and directly).
  timeout 300 ncu --kernel-name regex:streamed_decode --launch-skip 92 --launch-count 1 --section SpeedOfLight \
    --section Occupancy --section WarpStateStats --section LaunchStats --section MemoryWorkloadAnalysis \
    $build/bench/cuda/turbolm_cuda_ops_bench --quick > "$OUT/ncu_attention.txt" 2>&1
  echo "ncu attention rc=$?" | tee -a "$OUT/device.txt"
  grep -E "Duration|Grid Size|Throughput|Occupancy|Registers|Block Limit|Waves|Busy" "$OUT/ncu_attention.txt" | head -30
fi

if want model && [[ ! -x $build/bench/cuda/turbolm_cuda_model_bench ]]; then
  echo "model bench build FAILED" | tee -a "$OUT/device.txt"
elif want model; then
  if [[ -n ${gen_pid:-} ]]; then
    wait "$gen_pid"
    echo "random qwen3-8b written (rc=$?) $(( $(date +%s) - gen_start )) s after start" | tee -a "$OUT/device.txt"
    gen_pid=
  fi
  # --trace: where each decode step's GPU time goes, kernel by kernel (CUPTI; Nsight Systems is not installed).
  # (MODEL_FULL=0 skips it and the serial run: only the MODEL_AB runs, for a short call.)
  if [[ ${MODEL_FULL:-1} != 0 ]]; then
    timeout 400 $build/bench/cuda/turbolm_cuda_model_bench $model --prompt 512 --decode 128 --streams 64 \
      --stream-prompt 128 --trace 16 > "$OUT/model_bench.md" 2>&1
    echo "model bench rc=$?" | tee -a "$OUT/device.txt"
    sed -n '1,/Kernel trace/p' "$OUT/model_bench.md"
  fi
  # A/B on the same machine minutes: decode steps one after the other (no overlap), at the full shape; then
  # each switch of MODEL_AB (default: the classic GEMV, i.e. no bulk-copy GEMV and no fused projections; also
  # TURBOLM_CUDA_GRAPHS=0, TURBOLM_CUDA_PDL=0) at 8 streams. Commas join several switches into one run (A=0,B=0).
  # (MODEL_SERIAL=0 skips the run without overlapped steps, for a short call.)
  if [[ ${MODEL_SERIAL:-1} != 0 && ${MODEL_FULL:-1} != 0 ]]; then
    { echo "## TURBOLM_OVERLAP_STEPS=0"; TURBOLM_OVERLAP_STEPS=0 timeout 200 $build/bench/cuda/turbolm_cuda_model_bench \
        $model --prompt 512 --decode 128 --streams 64 --stream-prompt 128; } >> "$OUT/model_bench.md" 2>&1
  fi
  for switch in ${MODEL_AB:-TURBOLM_CUDA_GEMV=classic}; do
    { echo "## $switch"; env ${switch//,/ } timeout 200 $build/bench/cuda/turbolm_cuda_model_bench $model \
        --prompt 512 --decode 64 --streams 8 --stream-prompt 128; } >> "$OUT/model_bench.md" 2>&1
  done
  sed -n '/^## /,$p' "$OUT/model_bench.md" | grep -E "^## |decode|prefill"
fi

if want engine; then
  if [[ -x $build/bench/cuda/turbolm_cuda_engine_bench ]]; then
    if [[ -n ${gen_pid:-} ]]; then
      wait "$gen_pid"
      echo "random qwen3-8b written (rc=$?) $(( $(date +%s) - gen_start )) s after start" | tee -a "$OUT/device.txt"
    fi
    # One process per run: a 64-request warm-up (cuBLASLt plans, decode graphs), then the timed 1,000 requests.
    # ENGINE_BATCHES (default "0 256": the device's default, i.e. LMDeploy's, and 256) lists the
    # --max-batch-size values to run; ENGINE_AB (default TURBOLM_OVERLAP_STEPS=0) runs the first of them again
    # under each listed switch.
    : > "$OUT/engine_bench.md"
    batches=(${ENGINE_BATCHES:-0 256})
    runs=()
    for batch in "${batches[@]}"; do runs+=("$batch:"); done
    for switch in ${ENGINE_AB-TURBOLM_OVERLAP_STEPS=0}; do runs+=("${batches[0]}:$switch"); done
    for spec in "${runs[@]}"; do
      batch=${spec%%:*} switch=${spec#*:}
      start=$(date +%s)
      echo "## --max-batch-size $batch ${switch:-}" >> "$OUT/engine_bench.md"
      env $switch timeout 420 $build/bench/cuda/turbolm_cuda_engine_bench $model --num-prompts 1000 --input-len 128 \
        --output-len 128 --max-batch-size "$batch" --warmup 64 >> "$OUT/engine_bench.md" 2> /tmp/engine_bench.log
      rc=$?
      { echo; echo '```'; grep -vE "^(run|warm-up): " /tmp/engine_bench.log | tail -40; echo '```'; } >> "$OUT/engine_bench.md"
      echo "engine bench (max batch $batch ${switch:-}) rc=$rc in $(( $(date +%s) - start )) s" | tee -a "$OUT/device.txt"
      tail -5 /tmp/engine_bench.log
    done
  else
    echo "engine bench build FAILED" | tee -a "$OUT/device.txt"
  fi
  # The same job through the turbolm binary itself (LMDeploy's `benchmark throughput` shape; CLI defaults:
  # cache_max_entry_count 0.8, no warm-up, so plan creation and graph capture are inside the timed run).
  if [[ -x $build/bin/turbolm ]]; then
    start=$(date +%s)
    { echo; echo "## turbolm bench throughput --model $model --num-prompts 1000 --input-len 128 --output-len 128";
      echo '```'; timeout 300 $build/bin/turbolm bench throughput --model $model --num-prompts 1000 \
        --input-len 128 --output-len 128 2>&1 | tail -20; echo '```'; } >> "$OUT/engine_bench.md"
    echo "turbolm bench throughput done in $(( $(date +%s) - start )) s" | tee -a "$OUT/device.txt"
  else
    echo "turbolm build FAILED" | tee -a "$OUT/device.txt"
  fi
  cat "$OUT/engine_bench.md"
fi

if want memcheck; then
  start=$(date +%s)
  timeout 300 compute-sanitizer --tool memcheck --error-exitcode 3 $build/tests/unit/cuda/turbolm_cuda_tests --gtest_brief=1 \
    --gtest_filter='CudaRuntime*:CudaOps*:CudaSampling*:*bf16_d128*:*f16_d64_int4*:*Skinny*:CudaGraph*:CudaGemv*:*FusedLinear*:CudaDecodeAttention*:CudaQkvRopeKvWrite*:*CudaBf16Model*' > "$OUT/memcheck.log" 2>&1
  echo "memcheck rc=$? in $(( $(date +%s) - start )) s" | tee -a "$OUT/device.txt"
  grep -E "ERROR SUMMARY|Invalid|PASSED|FAILED" "$OUT/memcheck.log" | head -10
fi
