#!/usr/bin/env bash
# Set up .venv-bmi: the BMI benchmark (benchmark-mi, Czyz et al. 2023) and its jax, kept out of mist's .venv.
# benchmark-mi 0.1.3 imports only with jax/jaxlib 0.4.23, scipy < 1.13, chex < 0.1.86 and numpy < 2.
# Then: .venv-bmi/bin/python scripts/bmi_export.py --n 1000 5000 --seeds 0 --out .cache/bmi
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d .venv-bmi ] || python3 -m venv .venv-bmi
.venv-bmi/bin/python -m pip install --quiet --upgrade pip
.venv-bmi/bin/python -m pip install --quiet "benchmark-mi==0.1.3" "jax==0.4.23" "jaxlib==0.4.23" \
    "scipy==1.12.0" "chex==0.1.85" "numpy==1.26.4"
.venv-bmi/bin/python -c "import bmi, jax; print('bmi ready: jax', jax.__version__, 'on', jax.default_backend())"
