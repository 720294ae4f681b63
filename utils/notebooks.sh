#!/usr/bin/env bash
# Rebuilds the notebooks from utils/build-notebooks.py, executes them for real (nbclient + tslab kernel,
# the same headless execution CI uses, here with the default settings on data_samples/ unless DEVISE_*
# variables say otherwise), and signs them so their HTML outputs are trusted.
#
#   npm run notebooks
set -euo pipefail
cd "$(dirname "$0")/.."
/usr/bin/python3 utils/build-notebooks.py
export JUPYTER_PATH="$PWD/.cache/jupyter"
npx tsx utils/kernel.ts --dir "$JUPYTER_PATH/kernels" >/dev/null
# The SqueezeNet run writes the search indices the Quickstart loads.
for nb in VisualSemanticModels_Squeezenet1_1 VisualSemanticModels_Resnet34 00_Quickstart; do
  echo "executing notebooks/$nb.ipynb"
  /usr/bin/python3 utils/execute-notebook.py "notebooks/$nb.ipynb" "notebooks/$nb.ipynb" --cwd notebooks --timeout 3600
  /usr/bin/python3 -m nbformat.sign "notebooks/$nb.ipynb"
done
