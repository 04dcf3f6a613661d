# pgqrs — the commands a person (or CI) types. CMake presets do the real work; see
# CMakePresets.json. Targets that build run scripts/bootstrap first, so a fresh Debian
# machine needs nothing but `make demo` or `make test`.
#
# Knobs:  make test JOBS=4        parallel build and test jobs (default 2)
#         make test CTEST_ARGS='-L unit'   extra ctest arguments (select labels, -R, ...)
#         make test TEST_SERVICES=         no throwaway Postgres/PgBouncer/S3 (their tests skip)
#         make demo DEMO_ARGS='--messages 5000'
#         make test PYTEST_ARGS='-k workflow'   extra pytest arguments (Python bindings)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

JOBS ?= 2
CTEST_ARGS ?=
DEMO_PRESET ?= demo
DEMO_ARGS ?=
CMAKE ?= cmake
CTEST ?= ctest
CLANG_FORMAT ?= clang-format

# Source directories make format / format-check cover.
FORMAT_DIRS := include src cli tests examples bench python/src

# $(call configure_build,PRESET[,TARGET]): configure the preset and build it (or one target).
define configure_build
	$(CMAKE) --preset $(1)
	$(CMAKE) --build --preset $(1) -j$(JOBS) $(if $(2),--target $(2))
endef

# Test services around ctest: scripts/pg-test-server starts a throwaway PostgreSQL and a
# PgBouncer (transaction pooling) on loopback, exports PGQRS_TEST_POSTGRES_DSN and
# PGQRS_TEST_PGBOUNCER_DSN to ctest, and stops both afterwards, also when tests fail or
# make is interrupted. `make test TEST_SERVICES=` runs without them (Postgres tests skip).
# scripts/s3-test-server (chained inside it) adds the S3 server (moto) with its AWS_* variables.
TEST_SERVICES ?= scripts/pg-test-server run scripts/s3-test-server run

# $(call run_tests,PRESET): run every test of the preset (labels unit, conformance,
# integration).
define run_tests
	$(TEST_SERVICES) $(CTEST) --preset $(1) --output-on-failure -j$(JOBS) $(CTEST_ARGS)
endef

# $(call run_pytest,SITE): pytest for the Python package installed in SITE (a directory put
# on PYTHONPATH), with the venv of scripts/bootstrap. `make test` installs the wheel there
# (pip install --target), so the tests exercise what users install, not the source tree.
PGQRS_VENV = $(shell . scripts/lib.sh; pgqrs_venv_dir)
PYTEST_ARGS ?=
define run_pytest
	cd /tmp && PYTHONPATH=$(1) $(PGQRS_VENV)/bin/python -c \
	  'import pgqrs, sys; f = pgqrs.__file__; sys.exit(0 if f.startswith("$(1)/") else "pgqrs imported from " + f)'
	$(TEST_SERVICES) env PYTHONPATH=$(1) \
	  $(PGQRS_VENV)/bin/python -m pytest -p no:cacheprovider -q python/tests $(PYTEST_ARGS)
endef

# $(call run_browser_tests,PRESET): the dashboard in headless Chromium against `pgqrs serve`
# of the preset's build (tests/browser, SQLite and Postgres; about 40 s).
define run_browser_tests
	$(TEST_SERVICES) env PGQRS_BUILD_DIR=$(CURDIR)/build/$(1) \
	  $(PGQRS_VENV)/bin/python -m pytest -p no:cacheprovider -q tests/browser $(BROWSER_ARGS)
endef
BROWSER_ARGS ?=

.PHONY: help bootstrap build test test-browser demo fuzz fuzz-smoke fuzz-build wheel wheel-install deb deb-test bench asan asan-python asan-python-test ci-asan tsan torture format format-check tidy clean

help:
	@echo "make demo          install deps, build and run the 1,000-job SQLite demo"
	@echo "make test          install deps, build the dev preset, run every test (ctest + pytest)"
	@echo "make build         build the dev preset (no dependency install)"
	@echo "make test-browser  the dashboard's browser suite only (headless Chromium)"
	@echo "make asan | tsan   build and test under AddressSanitizer+UBSan | ThreadSanitizer"
	@echo "make asan-python   the Python extension under ASan+UBSan, pytest with the runtime preloaded"
	@echo "make torture       SIGKILL torture of workflow workers on sqlite, postgres, turso, s3 (TORTURE_KILLS)"
	@echo "make wheel         build the binary wheel, every backend inside (build/wheel/pgqrs-*.whl)"
	@echo "make deb           build the Debian package (build/package/packages/pgqrs_*.deb)"
	@echo "make fuzz          build the libFuzzer targets (clang-14, ASan+UBSan), run each FUZZ_SECONDS (60)"
	@echo "make bench         build the release preset, run the benchmark grid, write docs/benchmarks.md"
	@echo "make format        clang-format -i every C++ file; format-check reports (CI runs it)"
	@echo "make tidy          clang-tidy (.clang-tidy) over src/ cli/ examples/ bench/"
	@echo "make clean         remove build/"

bootstrap:
	scripts/bootstrap

build:
	$(call configure_build,dev)

# Every test: ctest (C++: unit, conformance on every backend, integration), then pytest for
# the Python package, each inside the throwaway test servers (TEST_SERVICES: PostgreSQL +
# PgBouncer, and the moto S3 server). One recipe, so any failing step fails `make test`.
test: bootstrap
	$(call configure_build,dev)
	$(call run_tests,dev)
	$(call run_browser_tests,dev)
	$(MAKE) wheel-install
	$(call run_pytest,$(CURDIR)/$(WHEEL_DIR)/site)
	$(MAKE) deb-test

# Only the browser suite (after `make build`); PGQRS_SCREENSHOTS=docs/img refreshes the
# screenshots of docs/ui.md.
test-browser: bootstrap
	$(CMAKE) --build --preset dev -j$(JOBS) --target pgqrs-cli pgqrs_serve_seed
	$(call run_browser_tests,dev)

# Installs and builds only what the demo needs (the `demo` preset: core + SQLite backend, no
# Postgres, Turso, S3, CLI or tests), then runs the demos on fresh SQLite files: the job
# queue demo, then the workflow that survives a killed worker. Ninja's [n/N] lines are the
# progress line of the build.
demo:
	scripts/bootstrap demo
	@echo "make demo: building the core, the SQLite backend and the demo programs (preset $(DEMO_PRESET))"
	$(CMAKE) --preset $(DEMO_PRESET) >/dev/null
	$(CMAKE) --build --preset $(DEMO_PRESET) -j$(JOBS) --target pgqrs-demo pgqrs-workflow-demo
	build/$(DEMO_PRESET)/examples/pgqrs-demo $(DEMO_ARGS)
	@echo
	build/$(DEMO_PRESET)/examples/pgqrs-workflow-demo

# make wheel and make deb compile the library's sources with the same compiler and flags
# (Release, warnings as errors), so the second build takes the first one's objects from a
# compiler cache in build/ccache (decision D14): empty on a fresh clone, removed by make clean.
# Paths under the clone are hashed relative to it (CCACHE_BASEDIR), so the two build trees
# (build/python-<tag>, build/package) hit the same entries. The compiler and the launcher are
# read when a build tree is first configured; without ccache both builds simply compile.
RELEASE_CACHE_ENV = CCACHE_DIR=$(CURDIR)/build/ccache CCACHE_BASEDIR=$(CURDIR) CCACHE_DEPEND=1 \
  CCACHE_MAXSIZE=2G CXX="$${CXX:-g++}" CC="$${CC:-gcc}" \
  $$(command -v ccache >/dev/null && echo CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_C_COMPILER_LAUNCHER=ccache)

# The binary wheel: `pip wheel .` (scikit-build-core, Release, every backend; its build tree
# build/python-<tag> is kept, so a second run rebuilds only what changed), then auditwheel
# repair bundles the shared libraries it needs beyond the manylinux policy (libpq, libcurl,
# OpenSSL, SQLite, yaml-cpp) and tags it. Ninja's [n/N] lines are the progress line.
WHEEL_DIR := build/wheel
wheel: bootstrap
	rm -rf $(WHEEL_DIR) && mkdir -p $(WHEEL_DIR)/raw
	env $(RELEASE_CACHE_ENV) $(PGQRS_VENV)/bin/python -m pip wheel . -v --no-deps \
	  --no-build-isolation --config-settings=cmake.define.PGQRS_WARNINGS_AS_ERRORS=ON \
	  -w $(WHEEL_DIR)/raw 2>&1 | { grep --line-buffered -E '^\[[0-9]+/[0-9]+\]|Created wheel|rror' || true; }
	PATH="$(PGQRS_VENV)/bin:$$PATH" $(PGQRS_VENV)/bin/auditwheel repair -w $(WHEEL_DIR) $(WHEEL_DIR)/raw/pgqrs-*.whl
	@ls -l $(WHEEL_DIR)/pgqrs-*.whl

# The wheel installed as users install it (pip, no index, no dependencies) into
# $(WHEEL_DIR)/site, which `make test` puts on PYTHONPATH for pytest.
wheel-install: wheel
	rm -rf $(WHEEL_DIR)/site
	$(PGQRS_VENV)/bin/python -m pip install -q --no-index --no-deps --target $(WHEEL_DIR)/site \
	  $(WHEEL_DIR)/pgqrs-*.whl

# The Debian package (cmake/Packaging.cmake): the `package` preset (shared library, CLI, man
# page, every backend), then CPack. deb-test unpacks it into a scratch root and builds the
# find_package(pgqrs) consumer against it (tests/package/deb_test.sh); `make test` runs it.
deb: bootstrap
	env $(RELEASE_CACHE_ENV) $(CMAKE) --preset package
	env $(RELEASE_CACHE_ENV) $(CMAKE) --build --preset package -j$(JOBS)
	cd build/package && cpack -G DEB >/dev/null
	@ls build/package/packages/pgqrs_*.deb

deb-test: deb
	tests/package/deb_test.sh $$(ls -t build/package/packages/pgqrs_*.deb | head -n 1)

# Fuzzing (fuzz/, docs/reliability.md): the `fuzz` preset builds every target with clang-14,
# libFuzzer, ASan and UBSan; each runs FUZZ_SECONDS on its committed seed corpus
# (fuzz/corpus/<target>) plus a scratch corpus in build/fuzz/corpus/<target> that keeps
# what it discovers between runs. A crash stops make, and the input is left in build/fuzz/
# (crash-*): fix it, then add the input to fuzz/corpus/<target> and a regression test.
# fuzz-smoke replays only the committed corpora (seconds), as a quick check.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := dsn_fuzz config_fuzz payload_fuzz cli_args_fuzz s3_response_fuzz cron_fuzz
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus/$$t; \
	  echo "make fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  (cd build/fuzz && fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	     -print_final_stats=1 corpus/$$t $(CURDIR)/fuzz/corpus/$$t 2>&1 \
	     | grep --line-buffered -E '^#[0-9]+.*(pulse|DONE)|ERROR|SUMMARY|stat::number_of_executed_units|crash-|escaped|shown') \
	    || { echo "make fuzz: $$t failed (see the crash-* input in build/fuzz)"; exit 1; }; \
	done

fuzz-smoke: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  build/fuzz/fuzz/$$t -runs=0 fuzz/corpus/$$t 2>&1 | grep -E 'DONE|ERROR' ; \
	done

fuzz-build:
	scripts/bootstrap fuzz
	$(call configure_build,fuzz)

# The benchmark grid (bench/run): release preset, a throwaway Postgres started by the script,
# docs/benchmarks.md + docs/benchmarks.png + docs/benchmarks.jsonl. Knobs: BENCH_MESSAGES,
# BENCH_MEMORY_MESSAGES, BENCH_RUNS, BENCH_PG_FSYNC, BENCH_PY_MESSAGES, PGQRS_PG_CEILING (see
# bench/run --help). Postgres runs with fsync on; the Python side-by-side against the original
# pgqrs needs our wheel (wheel-install) and installs pgqrs==0.15.3 into its own venv.
bench: bootstrap wheel-install
	$(call configure_build,release,pgqrs-bench)
	BENCH_COMMAND="make bench" bench/run

# make asan: the asan preset (ASan + UBSan, GCC) with the Python extension in it, every
# ctest, then pytest on that extension (asan-python-test). asan-python builds and tests
# only the extension (and the library under it).
# CPython is not instrumented, so the ASan runtime must be in the process before the
# extension loads: LD_PRELOAD of GCC's libasan (libubsan comes with the extension), and
# libstdc++ with it: CPython does not link libstdc++, so without it ASan's __cxa_throw
# interceptor finds no real __cxa_throw at start-up and the first C++ exception aborts
# ("CHECK failed: asan_interceptors.cpp:320").
# PYTHONMALLOC=malloc sends Python objects through malloc, so ASan also sees the bindings
# misuse a PyObject (pymalloc's arenas would hide it). detect_leaks=0: CPython frees
# neither its interned objects nor its modules at exit, and LeakSanitizer suppressions
# match any frame, so one for the interpreter would hide ours too; leaks in the library
# are found by the C++ suite (LeakSanitizer on). Subprocesses the tests start (workers,
# psql) inherit the runtime, so detect_leaks=0 covers them too (decision H21).
ASAN_PY_CMAKE_ARGS = -DPGQRS_BUILD_PYTHON=ON -DPython_EXECUTABLE=$(PGQRS_VENV)/bin/python
ASAN_PY_ENV = LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libstdc++.so)" \
  PYTHONMALLOC=malloc \
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_init_order=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 PYTHONPATH=$(CURDIR)/build/asan/python

asan: bootstrap
	$(CMAKE) --preset asan $(ASAN_PY_CMAKE_ARGS)
	$(CMAKE) --build --preset asan -j$(JOBS)
	$(call run_tests,asan)
	$(MAKE) asan-python-test

# CI's sanitizer pass (.ci/run, decisions H23, H25): the behaviour suite (label conformance)
# built with ASan + UBSan, on sqlite (file and memory) and postgres. A ctest name ends with
# the backend, then (as ctest shows it) "  # GetParam() = ...": hence ( |$$). Cold: about 7 min.
CI_ASAN_TESTS = /(sqlite_file|sqlite_memory|postgres)( |$$)
ci-asan: bootstrap
	$(CMAKE) --preset asan
	$(CMAKE) --build --preset asan -j$(JOBS) --target conformance_test
	scripts/pg-test-server run $(CTEST) --preset asan -L conformance -R '$(CI_ASAN_TESTS)' \
	  --output-on-failure -j$(JOBS)

asan-python: bootstrap
	$(CMAKE) --preset asan $(ASAN_PY_CMAKE_ARGS)
	$(CMAKE) --build --preset asan -j$(JOBS) --target pgqrs_python
	$(MAKE) asan-python-test

asan-python-test:
	$(TEST_SERVICES) env $(ASAN_PY_ENV) \
	  $(PGQRS_VENV)/bin/python -m pytest -p no:cacheprovider -q python/tests $(PYTEST_ARGS)

tsan: bootstrap
	$(call configure_build,tsan)
	$(call run_tests,tsan)

# Torture (tests/torture, docs/reliability.md): per backend, 4 workflow worker processes
# SIGKILLed at random TORTURE_KILLS times, then every run, step and message is checked.
# TORTURE_SEED fixes the workload and the kill schedule (default: random, printed first).
TORTURE_KILLS ?= 100
TORTURE_BACKENDS ?= sqlite,postgres,turso,s3
TORTURE_SEED ?=
TORTURE_ARGS ?=
torture: bootstrap
	$(CMAKE) --preset dev
	$(CMAKE) --build --preset dev -j$(JOBS) --target pgqrs_torture
	$(TEST_SERVICES) build/dev/tests/torture/pgqrs_torture --backends $(TORTURE_BACKENDS) \
	  --kills $(TORTURE_KILLS) $(if $(TORTURE_SEED),--seed $(TORTURE_SEED)) $(TORTURE_ARGS)

format:
	find $(wildcard $(FORMAT_DIRS)) -type f \( -name '*.cc' -o -name '*.h' \) -print0 \
	  | xargs -0 -r $(CLANG_FORMAT) -i

format-check:
	find $(wildcard $(FORMAT_DIRS)) -type f \( -name '*.cc' -o -name '*.h' \) -print0 \
	  | xargs -0 -r $(CLANG_FORMAT) --dry-run -Werror

# Advice, not a gate: clang-tidy is not installed by bootstrap (apt-get install clang-tidy).
tidy:
	@command -v run-clang-tidy >/dev/null || \
	  { echo "make tidy: clang-tidy is not installed (apt-get install clang-tidy)" >&2; exit 1; }
	$(CMAKE) --preset dev
	run-clang-tidy -quiet -p build/dev -j $(JOBS) '/(src|cli|examples|bench)/.*\.cc$$'

clean:
	rm -rf build
