# Two entry points for a fresh machine: `make demo` and `make test`.
# Both install into a project-local virtual environment (.venv).
# llama-cpp-python is compiled from source; the default CMAKE_ARGS build a portable
# binary (no -march=native, no AVX-512/AMX), because a native build on CPUs that
# advertise AMX/AVX-512 can crash at the first decode. Override with
# `CMAKE_ARGS="..." make demo`.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF
export CMAKE_ARGS

.PHONY: demo test install install-dev screenshot benchmarks clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/forkingpaths demo

test: install-dev
	$(BIN)/python -m pytest

# The screenshot in docs/report.md: a demo run on the embedded model (cached after the
# first time), rendered by the test suite's Chromium driver (needs `apt-get install chromium`).
SCREENSHOT_RUNS ?= runs/screenshot
screenshot: install-dev
	$(BIN)/forkingpaths demo --limit 8 --out $(SCREENSHOT_RUNS)
	$(BIN)/python tests/report/chromium.py $(SCREENSHOT_RUNS)/values-demo/report.html docs/images/report.png 3400

benchmarks: install-dev
	$(BIN)/python benchmarks/stats_scale.py
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/prefix_reuse.py

clean:
	rm -rf $(VENV) runs .pytest_cache
