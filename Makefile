# mlnb — developer and CI entry points. Every target installs what it needs.
#   make demo   set up (venv, build) and run the example notebook headlessly, tracked; print runs
#   make test   the whole test suite: Python (core, kernel, CLI, server, execution) + browser
#   make lab    JupyterLab on examples/ with the extension
#   make bench  side-by-side benchmarks (docs/benchmarks.md)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.mlnb-installed
export PATH := $(abspath $(BIN)):$(PATH)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install demo test test-python test-browser lab bench clean

$(STAMP): pyproject.toml package.json
	@command -v node >/dev/null || { echo "Node.js 20+ is needed to build the JupyterLab extension"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# Editable install: the hatch jupyter-builder hook runs `jlpm install` + `jlpm build`.
	$(PY) -m pip install -q -e ".[test,examples]"
	$(BIN)/jupyter labextension develop --overwrite . >/dev/null
	$(BIN)/jupyter server extension enable --sys-prefix mlnb >/dev/null
	touch $(STAMP)

install: $(STAMP)

demo: install
	cd examples && ../$(BIN)/mlnb init >/dev/null
	cd examples && ../$(BIN)/mlnb exec train.ipynb -p epochs 15 -p lr 0.05 -o train.out.ipynb
	cd examples && ../$(BIN)/mlnb exec train.ipynb -p epochs 30 -p lr 0.1 -o train.out.ipynb
	cd examples && ../$(BIN)/mlnb runs list

test: install test-python test-browser

test-python: install
	$(PY) -m pytest -n 2 --dist loadfile -q
	# the example project's notebooks, tested with mlnb's own pytest plugin
	$(PY) -m pytest --mlnb -q -p no:cacheprovider examples/

test-browser: install
	PYTHON=$(abspath $(PY)) bash ui-tests/run.sh

lab: install
	$(BIN)/jupyter lab --notebook-dir=examples

bench: install
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) benchmarks/bench_tracking.py

clean:
	rm -rf $(VENV) node_modules mlnb/labextension labextension/lib ui-tests/node_modules
