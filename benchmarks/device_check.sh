#!/usr/bin/env bash
# The prepared GPU check: at most 8 minutes on one GPU; records one JSON file (date + device
# name in its name) to benchmarks/results/ or --out DIR. Run it whenever a GPU machine is at hand:
#
#     bash benchmarks/device_check.sh                # full check on the first GPU
#     bash benchmarks/device_check.sh --out "$OUT"   # record elsewhere (then copy it to benchmarks/results/)
#     bash benchmarks/device_check.sh --dry          # CPU, tiny sizes, seconds (what CI runs)
#
# What it measures: see benchmarks/device_check.py (throughput of ours vs neuraloperator's FNO in
# fp32/tf32/bf16, resident vs host data, fresh vs warm process per run, a reduced headline sweep
# with the cost estimate next to the time it really took).
#
# The GPU machine needs torch, numpy, h5py, typer, rich, pyyaml, filelock, psutil (usually there)
# and pydantic, tinydb (and, for the comparison, neuraloperator). Without network there, carry
# wheels in a .whl/ folder at the repository root; this script installs whatever is in it.
# Fetch them on a machine with network (Python 3.12, x86-64 Linux):
#
#     pip download --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 -d .whl \
#         pydantic tinydb
#     pip download --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 -d .whl --no-deps \
#         neuraloperator tensorly tensorly-torch torch-harmonics opt-einsum configmypy ruamel.yaml zarr wandb
#
# (--no-deps on the second line keeps a second torch out of .whl/.) A missing package is not
# fatal: the sections that need it are recorded as skipped, saying which package was missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
    echo "installing carried wheels from .whl/"
    "$PY" -m pip install --quiet --no-index --no-deps --find-links .whl .whl/*.whl \
        || echo "warning: some carried wheels did not install; the sections that need them will say so"
fi
for mod in pydantic tinydb neuralop; do
    "$PY" -c "import $mod" >/dev/null 2>&1 || echo "note: $mod is not importable here"
done
BUDGET=450
case " $* " in *" --dry "*) BUDGET=300 ;; esac
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec timeout 480 "$PY" benchmarks/device_check.py --budget-s "$BUDGET" "$@"
