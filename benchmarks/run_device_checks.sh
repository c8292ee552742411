#!/usr/bin/env bash
# One prepared run on a lent GPU machine (see docs): GPU tests, then the GPU benchmark.
# Expects wheels for packages the image lacks in .whl/ (array-api-compat, array-api-strict,
# scikit-learn 1.9.1) and writes its logs to $OUT.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD SCIPY_ARRAY_API=1 PYTHONUNBUFFERED=1
OUT=${OUT:-.}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, sklearn, scipy, numpy, sys; print(sys.version.split()[0], 'torch', torch.__version__, 'sklearn', sklearn.__version__, 'scipy', scipy.__version__, 'numpy', numpy.__version__)" | tee -a "$OUT/gpu.txt"
timeout 300 python3 -m pytest -q -rs tests/test_gpu.py tests/test_inputs.py tests/test_devices.py \
    tests/test_common.py tests/test_regressor_fit.py > "$OUT/tests.log" 2>&1
echo "pytest exit status $?"; grep -E "^(FAILED|ERROR)|passed|failed" "$OUT/tests.log" | tail -15
timeout 240 python3 benchmarks/bench_gpu.py --out "$OUT" 2>&1 | tail -30
# The GLM row: Poisson 1M x 100 float32, the torch fit on the GPU beside scikit-learn on CPU.
timeout 180 python3 benchmarks/bench_losses.py 1000000 --device cuda 2>&1 | tee "$OUT/losses.txt" | tail -8
