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

.PHONY: install lab test unit students verify nbval nbval-native nbval-native-and-students \
	nbval-other-cpu reference notebooks student \
	site slides data bench lint clean distclean

# Create .venv if missing and install; redone only when pyproject.toml changes (idempotent).
# d2l 1.0.3 pins ancient numpy/matplotlib exactly, so it goes in on its own with --no-deps.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11, 4), "Python 3.11.4+ needed, found " + sys.version' 
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,publish]'
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps d2l==1.0.3
	@touch $(STAMP)

install: $(STAMP)

# JupyterLab at the repository root (README, data and notebooks in the file browser), 00 open.
lab: install
	$(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" notebooks/00-start-here.ipynb \
		$(ROOT_FLAG) $(LAB_ARGS)

# Unit tests; then two passes, one per kernel set, each in a fresh checkpoint folder: the
# shipped reference models re-evaluated against the manifest (`--verify`, which computes their
# predictions afresh and leaves them in the folder for the notebooks), strict nbval, and after
# this CPU's pass the student copies on that pass's checkpoints.
test: unit nbval-native-and-students nbval-other-cpu

unit: install
	$(PY) -m pytest tests -n 2 -q -m "not student_copies"

students: install
	$(PY) -m pytest tests/test_student.py -n 2 -q -m student_copies

# Strict nbval twice against the same stored outputs: native kernels, then another CPU's.
nbval: nbval-native nbval-other-cpu

# Each pass trains in a fresh checkpoint folder: nothing is reused from an earlier run, a
# learner's checkpoints/ is never touched.
PASS_DIR = d=$$(mktemp -d) && export COURSE_CHECKPOINT_DIR=$$d COURSE_PROFILE=fast
VERIFY = $(PY) -m course_utils.reference --verify
RUN_NBVAL = $(PY) -m pytest $(NBVAL) -n 2 --dist loadscope notebooks/
PASS_END = s=$$?; rm -rf $$d; exit $$s

nbval-native: install
	$(PASS_DIR) && $(VERIFY) && $(RUN_NBVAL); $(PASS_END)

nbval-native-and-students: install
	$(PASS_DIR) && $(VERIFY) && $(RUN_NBVAL) && \
	$(PY) -m pytest tests/test_student.py -n 2 -q -m student_copies; $(PASS_END)

nbval-other-cpu: install
	$(PASS_DIR) $(OTHER_CPU) && $(VERIFY) && $(RUN_NBVAL); $(PASS_END)

# Re-evaluate the shipped reference models and check reference/manifest.json.
verify: install
	$(PY) -m course_utils.reference --verify

# Retrain every reference model from its recorded config (this 2-core CPU: about 13 h, resumable;
# README.md, "Reference models").
reference: install
	$(PY) -m course_utils.reference
	$(PY) tools/readme_tables.py

# Re-execute every notebook in place (CPU, fast profile) and refresh the navigation.
notebooks: install
	$(PY) tools/execute_notebooks.py
	$(PY) -m course_utils.classroom nav

# Student copies under student/: solutions replaced by placeholders, outputs cleared.
student: install
	$(PY) -m course_utils.classroom student

# The course as static pages and as slides, from the stored notebooks; both work offline.
site: install
	$(PY) -m course_utils.classroom publish site

slides: install
	$(PY) -m course_utils.classroom publish slides

# Regenerate the mini data set into a temporary folder and check it matches data/voc-mini.
data: install
	$(PY) -m course_utils.data.synth --check

# Every benchmark, side by side, in one run: benchmarks/results/report.md.
bench: install
	$(PY) benchmarks/report.py

lint: install
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports

# Generated files only: checkpoints, student copies, caches. The virtual environment stays.
clean:
	rm -rf checkpoints student .pytest_cache

# Everything clean removes, and the virtual environment too.
distclean: clean
	rm -rf $(VENV)
