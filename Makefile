# make lab   - create .venv if needed, install everything, open JupyterLab on notebooks/
# make test  - create .venv if needed, then lint + unit tests + every notebook under nbval
# make nb NB=04   - execute one notebook under nbval
# make notebooks  - rebuild the .ipynb files from their paired .py sources (re-executes them)
# make bench      - run benchmarks/bench_finetune.py (fine-tuning throughput ratios)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0
LAB_ARGS ?=
NB ?=
NBVAL_ARGS := --nbval-lax --nbval-current-env --nbval-cell-timeout=900 \
	--nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider

.PHONY: lab test lint unit nbval nb notebooks bench venv clean

venv: $(VENV)/.installed

# torch is installed first and on its own: an unpinned torch pulled in by another package
# would fetch a multi-GB CUDA build.
$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

lab: venv
	KERAS_BACKEND=torch $(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_ARGS)

test: venv lint unit nbval

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/notebooks.py check

unit: venv
	$(BIN)/python -m pytest tests

nbval: venv
	$(BIN)/python -m pytest $(NBVAL_ARGS) notebooks/*.ipynb

nb: venv
	$(BIN)/python -m pytest $(NBVAL_ARGS) notebooks/$(NB)*.ipynb

notebooks: venv
	$(BIN)/python scripts/notebooks.py build $(NB)

bench: venv
	$(BIN)/python benchmarks/bench_finetune.py

clean:
	rm -rf build .pytest_cache .ruff_cache
