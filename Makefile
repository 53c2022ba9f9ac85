# Chorus: build, test and demo. Needs Swift 6 and libsodium (installed through apt-get when missing).
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build release test demo report-png vectors vectors-check layers sanitize clean
.PHONY: install install-check browser-check serve-crash-check

all: build

# libsodium-dev (and pkg-config to find it), libglpk-dev (GLPK, the joint audit's solver), and for
# the tests man-db (the man page check), util-linux's script (pseudo-terminal tests) and tor (its
# --verify-config checks the lines chorus serve --torrc prints; no network is used), from Debian's
# packages, only when they are missing.
deps:
	@if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists libsodium || ! command -v python3 >/dev/null 2>&1 \
		|| [ ! -f /usr/include/glpk.h ] || ! command -v man >/dev/null 2>&1 || ! command -v script >/dev/null 2>&1 \
		|| ! command -v tor >/dev/null 2>&1; then \
		echo "make: installing libsodium-dev, libglpk-dev, pkg-config, python3, man-db, bsdutils and tor with apt-get"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq libsodium-dev libglpk-dev pkg-config python3 man-db bsdutils tor; \
	fi

build: deps
	$(SWIFT) build

# The binary to install: optimised, with the Swift runtime and Foundation linked in, so it needs
# only libsodium and the C libraries of the target machine (and starts faster). scripts/bench.sh
# measures this build.
release: deps
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-release --product chorus
	@echo "release: .build-release/release/chorus"

# Installs the release binary, its man page (generated from the command definitions by
# swift-argument-parser's generate-manual) and bash, zsh and fish completions under
# $(DESTDIR)$(PREFIX): bin/, share/man/man1/, share/bash-completion/completions/,
# share/zsh/site-functions/, share/fish/vendor_completions.d/. install-check (run by make test)
# runs the same script into a temporary DESTDIR.
PREFIX ?= /usr/local
install: release
	$(SWIFT) build --product generate-manual
	PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" sh scripts/install.sh .build-release/release/chorus "$$($(SWIFT) build --show-bin-path)/generate-manual"

# scripts/install.sh into a temporary DESTDIR, checked: files and modes, `man -l`, bash completions.
install-check:
	sh scripts/check-install.sh "$(SWIFT)"

# The whole suite: the module graph, unit tests, envelope vectors, end-to-end tests of the chorus
# binary (chorus serve over loopback HTTP among them), a check that the committed vectors are exactly
# what the generator makes, the install, the kill -9 loop of chorus serve, and the form in a browser.
test: deps
	$(MAKE) layers
	$(SWIFT) build --build-tests
	$(SWIFT) test
	$(MAKE) vectors-check
	$(MAKE) install-check
	$(MAKE) serve-crash-check
	$(MAKE) browser-check

# No module imports one above it in the graph of docs/ARCHITECTURE.md (and the check itself works);
# every test SECURITY.md cites as the proof of a promise exists.
layers:
	python3 scripts/check-layers.py
	python3 scripts/check-layers.py --self-test
	python3 scripts/check-docs.py

# The whole flow on a directory store in a temporary folder (keys, submissions, batch, withdrawal,
# review, counts and an HTML report).
demo: build
	bash scripts/demo.sh .build/debug/chorus

# Renders an HTML report with headless Chromium (installed from Debian when missing) to a PNG.
report-png: build
	bash scripts/render-report.sh

# The submission form of chorus serve in headless Chromium with JavaScript off: filled in by clicks
# and typing, sent, and the story and answers read back with chorus review (Tests/Browser). Chromium
# and its driver come from Debian's packages, Selenium from PyPI, each only when missing.
browser-check:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
		echo "make: installing chromium and chromium-driver with apt-get"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver; \
	fi
	@python3 -c 'import selenium' 2>/dev/null || { echo "make: installing selenium with pip"; python3 -m pip install -q selenium; }
	python3 Tests/Browser/form_test.py .build/debug/chorus

# Rewrites Tests/ChorusCoreTests/Vectors from fixed keys and seeds.
vectors: deps
	$(SWIFT) run chorus-vectorgen Tests/ChorusCoreTests/Vectors

vectors-check: deps
	@tmp=$$(mktemp -d) && $(SWIFT) run chorus-vectorgen "$$tmp/v" >/dev/null && \
	if diff -r "$$tmp/v" Tests/ChorusCoreTests/Vectors >/dev/null; then echo "vectors: reproducible"; rm -rf "$$tmp"; \
	else echo "vectors: the committed vectors differ from the generator's output"; rm -rf "$$tmp"; exit 1; fi

# The whole suite under AddressSanitizer, then under ThreadSanitizer, each in its own build folder
# (so neither disturbs the other builds). The CLI tests run the chorus binary built alongside, so the
# command itself runs instrumented too. LeakSanitizer also reports what the toolchain's XCTest and
# Foundation never free (even an empty test run does): those libraries are suppressed, not Chorus.
LSAN_TOOLCHAIN := leak:libXCTest.so\nleak:libFoundation.so\nleak:libFoundationEssentials.so\n
sanitize: deps
	@mkdir -p .build-asan && printf '$(LSAN_TOOLCHAIN)' > .build-asan/lsan-toolchain.supp
	LSAN_OPTIONS=suppressions=$(CURDIR)/.build-asan/lsan-toolchain.supp $(SWIFT) test --sanitize=address --scratch-path .build-asan
	$(SWIFT) test --sanitize=thread --scratch-path .build-tsan

# chorus serve SIGKILLed while 200 envelopes are posted, 20 times: every 201 is in the inbox byte
# for byte, nothing else is, and chorus verify passes (Tests/Crash/serve_crash.py).
serve-crash-check:
	python3 Tests/Crash/serve_crash.py .build/debug/chorus

clean:
	rm -rf .build .build-release
