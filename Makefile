# Every target makes the local virtual environment on first use, so a fresh machine needs only Python.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export SDL_VIDEODRIVER ?= dummy
export MUJOCO_GL ?= egl

BENCHMARKS := tabular dqn pg mpc truck perception worldmodels scale

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# The CPU build of torch first, pinned, so nothing later pulls a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/rlsuite demo

test: $(STAMP)
	$(BIN)/python -m pytest

# `make bench` runs every benchmark (each writes benchmarks/results/NAME.json); `make bench-NAME` one of them.
bench: $(addprefix bench-,$(BENCHMARKS))

bench-%: $(STAMP)
	$(BIN)/python benchmarks/bench_$*.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) build *.egg-info
