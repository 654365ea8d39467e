# Everything a fresh machine needs (Python 3.11+, a Rust toolchain, make):
#   make demo     venv + release build of the extension + the demo against the simulator
#   make test     lints, cargo test, then the wheel: built, installed into a fresh venv
#                 outside the checkout, and the whole pytest suite run against it
#   make py-test  pytest against the editable release build (the quick loop)
#   make wheel    the manylinux2014 wheel + sdist in dist/ (fat LTO, zig as the linker)
#   make bench    the pytest-benchmark suites on a fat-LTO build
#   make soak     all four venues at a high rate with faults for SOAK_S s (default 600):
#                 soak/soak.csv, soak.png, soak.txt (growth after warm-up, books valid)
#   make fuzz     each cargo-fuzz target in fuzz/ for FUZZ_S seconds (not part of make test)
# Stamps in .make/ keep a warm `make test` from rebuilding what has not changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .make
RUST_SOURCES := $(shell find rust -name '*.rs') Cargo.toml Cargo.lock
PY_SOURCES := $(shell find python -name '*.py' -o -name '*.pyi' -o -name py.typed)
DIST := dist
# The installed-wheel test venv lives outside the checkout, so nothing can be imported from
# the source tree by accident.
WHEEL_VENV ?= $(or $(TMPDIR),/tmp)/hftpy-wheel-venv
# One wheel per CPython version (not abi3: see pyproject.toml). maturin has the sysconfig of
# those it cannot find installed; the tests run on the interpreter at hand.
WHEEL_PYTHONS := 3.11 3.12 3.13 3.14
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: all demo test lint rust-test py-test wheel-test bench soak wheel sim fuzz clean

all: test

$(STAMPS):
	mkdir -p $@

# Runtime and dev dependencies, read from pyproject.toml so the list lives in one place.
$(STAMPS)/venv: pyproject.toml | $(STAMPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
		print('\n'.join(p['dependencies'] + p['optional-dependencies']['dev']))" > $(STAMPS)/requirements.txt
	$(BIN)/python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
		print('\n'.join(p['optional-dependencies']['build']))" > $(STAMPS)/requirements-build.txt
	$(BIN)/python -m pip install -q -r $(STAMPS)/requirements.txt -r $(STAMPS)/requirements-build.txt
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

# examples/mm_demo on all four venues, in-process simulator, ~20 s (rich: a dependency, so a
# changed pyproject.toml re-runs $(STAMPS)/venv first).
demo: $(STAMPS)/ext-release
	$(BIN)/hftpy demo

sim: $(STAMPS)/ext-release
	$(BIN)/hftpy sim

# mypy reads python/ and _core.pyi: no build needed (stubtest runs on the installed wheel).
lint: $(STAMPS)/venv
	$(BIN)/ruff check python tests benches examples
	$(BIN)/ruff format --check python tests benches examples
	$(BIN)/mypy
	cargo fmt --check
	cargo clippy --quiet --all-targets --all-features -- -D warnings

rust-test: $(STAMPS)/venv
	cargo test --quiet

py-test: $(STAMPS)/ext-release
	$(BIN)/pytest -q

test: lint rust-test wheel-test

# The `bench` extra of pyproject.toml (peers and matplotlib), beside the dev venv.
$(STAMPS)/bench-deps: $(STAMPS)/venv pyproject.toml
	$(BIN)/python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
		print('\n'.join(p['optional-dependencies']['bench']))" > $(STAMPS)/requirements-bench.txt
	$(BIN)/python -m pip install -q -r $(STAMPS)/requirements-bench.txt
	touch $@

# Then BENCHMARKS.md and benches/latency.png (benches/report.py) from the JSON results.
bench: $(STAMPS)/ext-dist $(STAMPS)/bench-deps
	$(BIN)/pytest benches -q -p no:randomly --benchmark-enable --benchmark-columns=min,median,mean,max,rounds --benchmark-sort=name -o addopts="-p no:cacheprovider" --benchmark-json=$(STAMPS)/bench.json
	$(BIN)/python benches/report.py $(STAMPS)/bench.json

SOAK_S ?= 600
soak: $(STAMPS)/ext-dist
	$(BIN)/python benches/soak.py --seconds $(SOAK_S) --out soak

# manylinux2014 (glibc >= 2.17) x86_64 wheel for CPython >= 3.11, linked by zig (the
# `ziglang` package: no Docker), fat LTO; the sdist beside it. Checked: auditwheel's tag, the
# typing files inside, and an sdist build (pip + maturin + cargo) giving the same files.
$(STAMPS)/wheel: $(STAMPS)/venv $(RUST_SOURCES) $(PY_SOURCES) pyproject.toml README.md
	rm -rf $(DIST)
	$(BIN)/maturin build --profile dist --zig --compatibility manylinux2014 \
		--target x86_64-unknown-linux-gnu $(WHEEL_PYTHONS:%=-i python%) --out $(DIST) --quiet
	$(BIN)/maturin sdist --out $(DIST)
	for wheel in $(DIST)/hftpy-*.whl; do \
		$(BIN)/auditwheel show $$wheel | tee $(STAMPS)/auditwheel.txt; \
		grep -q '"manylinux_2_17_x86_64"' $(STAMPS)/auditwheel.txt || exit 1; \
	done
	rm -rf $(STAMPS)/sdist-build
	$(BIN)/pip wheel -q --no-deps $(DIST)/hftpy-*.tar.gz -w $(STAMPS)/sdist-build
	touch $@

wheel: $(STAMPS)/wheel

# A fresh venv outside the checkout: the runtime and test dependencies from the package
# index, hftpy itself only from dist/; then stubtest and the whole suite against it.
wheel-test: $(STAMPS)/wheel
	rm -rf $(WHEEL_VENV)
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/python -m pip install -q --upgrade pip
	$(WHEEL_VENV)/bin/python -m pip install -q -r $(STAMPS)/requirements.txt
	$(WHEEL_VENV)/bin/python -m pip install -q --no-index --find-links $(DIST) hftpy
	$(WHEEL_VENV)/bin/python -m mypy.stubtest hftpy._core
	HFTPY_TEST_INSTALLED=1 HFTPY_SDIST_WHEEL_DIR=$(STAMPS)/sdist-build \
		$(WHEEL_VENV)/bin/python -m pytest -q

# The cargo-fuzz targets (fuzz/, its own crate and workspace): every venue decoder and the
# book engine, FUZZ_S seconds each, one process at a time (`make fuzz FUZZ_S=600` for a
# longer run). Only the stable toolchain is installed: RUSTC_BOOTSTRAP=1 lets it take the -Z
# flags cargo-fuzz passes (`cargo install cargo-fuzz --locked` once). Builds optimised with
# debug assertions and overflow checks (-O -a) under AddressSanitizer; the corpus grows in
# fuzz/corpus/<target>, a crash lands in fuzz/artifacts/<target>/ (both ignored by git), the
# other targets still run and make fails at the end. Reproduce one with
# `RUSTC_BOOTSTRAP=1 cargo fuzz run -O -a <target> fuzz/artifacts/<target>/<file>` (and
# `cargo fuzz fmt <target> <file>` prints it as Steps), then add it as a regression test.
FUZZ_S ?= 60
FUZZ_TARGETS ?= kraken binance backpack upbit book
FUZZ_BUILD_FLAGS ?= -O -a
fuzz:
	RUSTC_BOOTSTRAP=1 cargo fuzz build $(FUZZ_BUILD_FLAGS)
	failed=""; for target in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$target; \
		RUSTC_BOOTSTRAP=1 cargo fuzz run $(FUZZ_BUILD_FLAGS) $$target $(CURDIR)/fuzz/corpus/$$target -- \
			-max_total_time=$(FUZZ_S) -dict=$(CURDIR)/fuzz/json.dict -print_final_stats=1 \
			|| failed="$$failed $$target"; \
	done; \
	test -z "$$failed" || { echo "fuzz: crashes in$$failed (see fuzz/artifacts/)"; exit 1; }

clean:
	rm -rf $(STAMPS) target fuzz/target $(DIST) python/hftpy/*.so $(WHEEL_VENV)
