#!/usr/bin/env bash
# Rebuilds the notebooks from utils/build-notebooks.py, executes them for real (nbclient + tslab kernel,
# the same headless execution CI uses) and signs them so their HTML outputs are trusted. These are the
# committed outputs.
#
#   npm run notebooks                      # data_samples/ defaults
#   DEVISE_DATA=~/awa2 DEVISE_LABELS=crawl-300d-2M.vec npm run notebooks
#
# On data_samples/ (no DEVISE_DATA) the ResNet34 baseline runs with DEVISE_SMOKE=1 DEVISE_SIZE=96: it trains
# at ~2–3 img/s on the wasm backend, so the full defaults would take most of an hour on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
/usr/bin/python3 utils/build-notebooks.py
export JUPYTER_PATH="$PWD/.cache/jupyter"
npx tsx utils/kernel.ts --dir "$JUPYTER_PATH/kernels" >/dev/null
resnet_env=()
[[ -n "${DEVISE_DATA:-}" ]] || resnet_env=(DEVISE_SMOKE=1 DEVISE_SIZE=96)
# The SqueezeNet run writes the search indices the Quickstart loads.
for nb in VisualSemanticModels_Squeezenet1_1 VisualSemanticModels_Resnet34 00_Quickstart; do
  echo "executing notebooks/$nb.ipynb"
  extra=()
  [[ $nb == VisualSemanticModels_Resnet34 ]] && extra=("${resnet_env[@]}")
  env "${extra[@]}" /usr/bin/python3 utils/execute-notebook.py "notebooks/$nb.ipynb" "notebooks/$nb.ipynb" --cwd notebooks --timeout 3600
  /usr/bin/python3 -m nbformat.sign "notebooks/$nb.ipynb"
done
