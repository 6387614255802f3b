# Everything a learner, an instructor and CI need, from a fresh clone (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
# Another CPU's kernels on this one (no AVX2/AVX-512 in ATen, SSE4.1 in oneDNN): every compared
# notebook output must come out the same with them, or `make test` fails on other machines.
OTHER_CPU := ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41
LAB_ARGS ?=
# Jupyter refuses to start as root (containers, Colab-like machines) unless told to.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: install lab test unit nbval nbval-native nbval-other-cpu notebooks data bench lint clean

# Create .venv if missing and install; redone only when pyproject.toml changes (idempotent).
# d2l 1.0.3 pins ancient numpy/matplotlib exactly, so it goes in on its own with --no-deps.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11, 4), "Python 3.11.4+ needed, found " + sys.version' 
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps d2l==1.0.3
	@touch $(STAMP)

install: $(STAMP)

lab: install
	$(VENV)/bin/jupyter lab notebooks/00-start-here.ipynb $(ROOT_FLAG) $(LAB_ARGS)

test: unit nbval

unit: install
	$(PY) -m pytest tests -n 2 -q

# Strict nbval twice against the same stored outputs: native kernels, then another CPU's.
nbval: nbval-native nbval-other-cpu

nbval-native: install
	COURSE_PROFILE=fast $(PY) -m pytest $(NBVAL) -n 2 --dist loadscope notebooks/

nbval-other-cpu: install
	COURSE_PROFILE=fast $(OTHER_CPU) $(PY) -m pytest $(NBVAL) -n 2 --dist loadscope notebooks/

# Re-execute every notebook in place (CPU, fast profile) and refresh the navigation.
notebooks: install
	$(PY) tools/execute_notebooks.py
	$(PY) -m course_utils.nav

# Regenerate the mini data set into a temporary folder and check it matches data/voc-mini.
data: install
	$(PY) -m course_utils.synth --check

bench: install
	@mkdir -p benchmarks/results
	set -e; for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b; done

lint: install
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) checkpoints .pytest_cache
