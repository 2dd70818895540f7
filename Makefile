# Every target makes the local virtual environment on first use, so a fresh machine needs only Python.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export SDL_VIDEODRIVER ?= dummy
export MUJOCO_GL ?= egl

.PHONY: demo test bench bench-tabular bench-dqn lint clean

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

bench: bench-tabular bench-dqn

bench-tabular: $(STAMP)
	$(BIN)/python benchmarks/bench_tabular.py

bench-dqn: $(STAMP)
	$(BIN)/python benchmarks/bench_dqn.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) build *.egg-info
