#!/usr/bin/env bash
# Browser tests of the mlnb JupyterLab extension (Galata/Playwright, system Chromium).
#
#   bash ui-tests/run.sh [extra playwright args, e.g. -g "compare"]
#
# 1. makes sure /usr/bin/chromium exists (Debian package; no browser download ever),
# 2. builds the labextension if it was not built yet,
# 3. installs the ui-tests node packages (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1),
# 4. prepares a temporary project with notebooks executed with tracking on,
# 5. runs the Playwright suite against `jupyter lab` on that project.
#
# Environment: PYTHON (default /work/main/.venv/bin/python) picks the Python whose
# jupyter/jlpm are used; MLNB_UI_PORT (default 8899); CHROMIUM_PATH (default
# /usr/bin/chromium); MLNB_UI_KEEP=1 keeps the project folder for inspection.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
PYTHON="${PYTHON:-/work/main/.venv/bin/python}"
if [[ ! -x "$PYTHON" ]]; then
  echo "ui-tests: no Python at $PYTHON (set PYTHON=...)" >&2
  exit 2
fi
BIN="$(dirname "$PYTHON")"
export PATH="$BIN:$PATH"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
export MLNB_UI_PORT="${MLNB_UI_PORT:-8899}"
export YARN_ENABLE_TELEMETRY=0

# -- 1. the browser ------------------------------------------------------------------------
if [[ ! -x "$CHROMIUM_PATH" ]]; then
  echo "ui-tests: installing the Debian chromium package"
  if [[ "$(id -u)" == 0 ]]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# -- 2. the extension ----------------------------------------------------------------------
BUILT="$REPO/mlnb/labextension/package.json"
if [[ ! -f "$BUILT" || ! -d "$REPO/mlnb/labextension/static" \
      || -n "$(find "$REPO/labextension/src" "$REPO/labextension/style" "$REPO/package.json" -newer "$BUILT" -print -quit)" ]]; then
  echo "ui-tests: building the labextension (missing or older than its sources)"
  (cd "$REPO" && "$BIN/jlpm" install && "$BIN/jlpm" build:prod)
fi

# -- 3. test dependencies ------------------------------------------------------------------
if [[ ! -d "$HERE/node_modules/@jupyterlab/galata" ]]; then
  echo "ui-tests: installing test dependencies"
  (cd "$HERE" && "$BIN/jlpm" install)
fi

# -- 4. the project ------------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/mlnb-ui-tests.XXXXXX")"
cleanup() {
  if [[ "${MLNB_UI_KEEP:-0}" != 1 ]]; then rm -rf "$WORK"; else echo "ui-tests: kept $WORK"; fi
}
trap cleanup EXIT

export MLNB_UI_ROOT="$WORK/project"
export MLNB_PROJECT="$MLNB_UI_ROOT"
unset MLNB_STORE_URL MLNB_RUN_ID MLNB_PARENT_RUN_ID MLNB_NOTEBOOK || true
# The built labextension, seen by Lab without installing it (see jupyter_server_test_config.py).
mkdir -p "$WORK/labextensions"
ln -s "$REPO/mlnb/labextension" "$WORK/labextensions/mlnb"
export MLNB_UI_LABEXTENSIONS="$WORK/labextensions"
# Keep Jupyter's per-user state (config, kernelspecs, workspaces, settings) out of $HOME:
# the kernel is the environment's python3, whatever the user has installed.
export JUPYTER_CONFIG_DIR="$WORK/jupyter-config"
export JUPYTER_DATA_DIR="$WORK/jupyter-data"
export JUPYTER_RUNTIME_DIR="$WORK/jupyter-runtime"
export JUPYTERLAB_SETTINGS_DIR="$WORK/lab-settings"
export JUPYTERLAB_WORKSPACES_DIR="$WORK/lab-workspaces"
mkdir -p "$JUPYTER_CONFIG_DIR" "$JUPYTER_DATA_DIR" "$JUPYTER_RUNTIME_DIR"

echo "ui-tests: seeding $MLNB_UI_ROOT"
"$PYTHON" "$HERE/seed_project.py" "$MLNB_UI_ROOT"

# -- 5. the tests --------------------------------------------------------------------------
cd "$HERE"
"$BIN/jlpm" playwright test "$@"
