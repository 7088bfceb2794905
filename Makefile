# make lab   - create .venv if needed, install everything (RISE slides included), open JupyterLab
# make test  - create .venv if needed, then lint, unit tests, every notebook under nbval (which
#              saves them executed to build/executed/), then the decks and the site in Chromium
# make nb NB=04   - execute one notebook under nbval
# make notebooks  - rebuild the .ipynb files from their paired .py sources (re-executes them)
# make slides     - one reveal.js deck per executed notebook in build/slides/ (opens offline),
#                   and per Chinese notebook in build/slides/zh/
# make site       - the course website from the executed notebooks in build/site/ (Chinese: zh/)
# make bench      - run benchmarks/bench_finetune.py (fine-tuning throughput ratios)
# make record NB=05 [PROFILE=standard] - run a notebook's larger experiment, write records/NN_*.json

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0
LAB_ARGS ?=
NB ?=
NBVAL_ARGS := --nbval-lax --nbval-current-env --nbval-cell-timeout=900 \
	--nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider

CHROMIUM ?= /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: lab test lint unit nbval nb notebooks slides site web-assets chromium browser bench record venv clean

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

# Jupyter refuses to start as root (Docker, cloud GPUs, classroom servers): add --allow-root
# there, and open a browser only where there is a screen to show it.
lab: venv
	@flags=""; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "make lab: running as root, so JupyterLab gets --allow-root"; flags="--allow-root"; \
	fi; \
	if [ "$$(uname -s)" = Linux ] && [ -z "$$DISPLAY$$WAYLAND_DISPLAY$$BROWSER" ]; then \
		echo "make lab: no display here, so no browser opens: open the http://localhost URL below"; \
		flags="$$flags --no-browser"; \
	fi; \
	KERAS_BACKEND=torch exec $(BIN)/jupyter lab --notebook-dir=notebooks $$flags $(LAB_ARGS)

test: venv lint unit nbval browser

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python scripts/notebooks.py check
	$(BIN)/python scripts/zh_sync.py check

unit: venv web-assets
	$(BIN)/python -m pytest tests -m "not browser"

# nbval's run is the one the slides and the site show: tests/nbval_executed.py saves each
# notebook that passed, with every output, to build/executed/. MPLBACKEND is unset so that the
# kernel draws plots inline (a non-interactive backend such as Agg would show none).
# Of the Chinese edition, notebook 00 runs too (its kernel starts in notebooks/zh/, so its
# checks answer in Chinese); its executed copy goes to build/executed/zh/.
nbval: venv
	env -u MPLBACKEND $(BIN)/python -m pytest $(NBVAL_ARGS) notebooks/*.ipynb notebooks/zh/00_*.ipynb

nb: venv
	env -u MPLBACKEND $(BIN)/python -m pytest $(NBVAL_ARGS) notebooks/$(NB)*.ipynb

notebooks: venv
	env -u MPLBACKEND $(BIN)/python scripts/notebooks.py build $(NB)

# reveal.js, MathJax, require.js and jQuery from npm (pinned in scripts/web_assets.py), copied
# next to the decks and pages so that nothing is fetched when they are opened.
web-assets: venv
	$(BIN)/python scripts/web_assets.py install

slides: venv web-assets
	$(BIN)/python scripts/slides.py $(NB)

site: venv web-assets
	$(BIN)/python scripts/website.py

# Debian's Chromium for the browser tests, driven by Playwright (never `playwright install`),
# and Debian's Noto CJK fonts, so that the Chinese pages and decks render offline (no web font).
chromium:
	@{ test -x $(CHROMIUM) && fc-list | grep -q "Noto Sans CJK SC"; } || { \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq chromium fonts-noto-cjk; }

browser: venv web-assets chromium
	$(BIN)/python -m pytest tests -m browser

bench: venv
	$(BIN)/python benchmarks/bench_finetune.py

# A recorded run (tens of minutes on a CPU with PROFILE=standard, or PROFILE=full on a GPU):
# the notebook shows the record beside its live run; tests fail once its code changes.
PROFILE ?= standard
record: venv
	$(BIN)/python -m nlpcourse --profile $(PROFILE) record $(NB)

clean:
	rm -rf build .pytest_cache .ruff_cache
