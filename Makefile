# Everything a fresh machine needs (Python 3.11+, a Rust toolchain, make):
#   make demo    venv + release build of the extension + the demo against the simulator
#   make test    venv + build + ruff, mypy, stubtest, cargo fmt/clippy/test, pytest
#   make bench   the pytest-benchmark suites on a fat-LTO build
# Stamps in .make/ keep a warm `make test` from rebuilding what has not changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .make
RUST_SOURCES := $(shell find rust -name '*.rs') Cargo.toml Cargo.lock
PY_SOURCES := $(shell find python -name '*.py' -o -name '*.pyi')
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: all demo test lint rust-test py-test bench wheel sim clean

all: test

$(STAMPS):
	mkdir -p $@

# Runtime and dev dependencies, read from pyproject.toml so the list lives in one place.
$(STAMPS)/venv: pyproject.toml | $(STAMPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
		print('\n'.join(p['dependencies'] + p['optional-dependencies']['dev']))" > $(STAMPS)/requirements.txt
	$(BIN)/python -m pip install -q -r $(STAMPS)/requirements.txt
	touch $@

# The everyday optimised build (no fat LTO): what tests and the demo run on.
$(STAMPS)/ext-release: $(STAMPS)/venv $(RUST_SOURCES) pyproject.toml
	$(BIN)/maturin develop --release --quiet
	rm -f $(STAMPS)/ext-dist
	touch $@

# Fat LTO + one codegen unit: for benchmarks and wheels.
$(STAMPS)/ext-dist: $(STAMPS)/venv $(RUST_SOURCES) pyproject.toml
	$(BIN)/maturin develop --profile dist --quiet
	rm -f $(STAMPS)/ext-release
	touch $@

demo: $(STAMPS)/ext-release
	$(BIN)/hftpy demo

sim: $(STAMPS)/ext-release
	$(BIN)/hftpy sim

lint: $(STAMPS)/ext-release
	$(BIN)/ruff check python tests benches
	$(BIN)/ruff format --check python tests benches
	$(BIN)/mypy
	$(BIN)/python -m mypy.stubtest hftpy._core
	cargo fmt --check
	cargo clippy --quiet --all-targets --all-features -- -D warnings

rust-test: $(STAMPS)/venv
	cargo test --quiet

py-test: $(STAMPS)/ext-release
	$(BIN)/pytest -q

test: lint rust-test py-test

bench: $(STAMPS)/ext-dist
	$(BIN)/pytest benches -q -p no:randomly --benchmark-enable --benchmark-columns=min,median,mean,max,rounds --benchmark-sort=name -o addopts="-p no:cacheprovider"

wheel: $(STAMPS)/venv
	$(BIN)/maturin build --profile dist --out dist

clean:
	rm -rf $(STAMPS) target dist python/hftpy/*.so
