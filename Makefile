# diskwatch — see README.md.
GO      ?= $(shell command -v go || echo /usr/local/go/bin/go)
PREFIX  ?= /usr/local
# The version every build carries (`diskwatch --version`) is the package
# version: upstream from git (contrib/package/version.sh) plus the revision.
UPSTREAM    ?= $(shell ./contrib/package/version.sh)
PKG_RELEASE ?= 1
VERSION     ?= $(UPSTREAM)-$(PKG_RELEASE)
# The source revision, for diskwatch_build_info (empty outside git).
REVISION    ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.revision=$(REVISION)
BINDIR  ?= bin
BIN     := $(BINDIR)/diskwatch

.PHONY: package release soak all build run test unit test-rig lint bench fuzz install setup clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/diskwatch
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BINDIR)/diskwatch-zabbix ./cmd/diskwatch-zabbix

# Build and run a one-shot check of this host (ARGS="--format json" ...).
run: build
	./$(BIN) check $(ARGS)

# Everything a clean machine needs to run every test (idempotent; root).
setup:
	./.ci/setup

# All tests: unit, fixture end-to-end, real programs and the QEMU rig.
test: setup lint
	$(GO) test -count=1 ./...
	$(MAKE) test-rig

unit:
	$(GO) test ./...

# Real-kernel tests in QEMU (see testdata/rig/README.md).
test-rig: setup
	DISKWATCH_RIG=1 $(GO) test -count=1 -p 1 -timeout 40m -run 'TestRig' -v ./cmd/diskwatch/ ./cmd/diskwatch/internal/rig/

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Benchmarks; replay's prints diskwatch's drive-days per CPU-second beside
# the plain Python reference's (contrib/bench/replay_reference.py), same run.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	@if [ "$$DISKWATCH_RIG" = 1 ]; then DISKWATCH_RIG=1 $(GO) test -count=1 -timeout 20m -run 'TestRigSMARTNative' -v ./cmd/diskwatch/ | grep 'bench ('; fi

# 10,000 daemon rounds over a fixture host: memory, goroutines, open files
# must stay flat (prints the peak RSS).
soak:
	DISKWATCH_SOAK=1 $(GO) test -count=1 -timeout 60m -run '^TestSoak$$' -v ./cmd/diskwatch/

# Each fuzz target briefly (FUZZTIME=2m for a real run), after the
# damaged-store fuzzer: STORE_FUZZ_SEEDS seeded stores through the library
# and the built binary (check --state), each within a deadline; and
# KILL9_ITERATIONS kill -9/SIGTERM of the daemon during delivery.
FUZZTIME ?= 10s
STORE_FUZZ_SEEDS ?= 500
KILL9_ITERATIONS ?= 300
fuzz:
	DISKWATCH_STORE_FUZZ_SEEDS=$(STORE_FUZZ_SEEDS) DISKWATCH_KILL9_ITERATIONS=$(KILL9_ITERATIONS) $(GO) test -count=1 -timeout 80m -v \
	  -run '^(TestCorruptionFuzz|TestCheckDamagedStoreBinary|TestDeliveryKill9)$$' ./alerts/history ./cmd/diskwatch
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Debian package (and RPM) of both binaries with the unit, conffile,
# Zabbix snippet, man pages and completions: dist/ (see contrib/package/).
NFPM        ?= $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
MAINTAINER  ?= diskwatch maintainers <maintainers@users.noreply.h-seed-af5ee3eb.example>
ZABBIX_CONF ?= contrib/zabbix/userparameter_diskwatch.conf
PKG_ARCH    ?= $(shell $(GO) env GOARCH)
DIST        ?= dist
BUILD       ?= build
package: build
	GO='$(GO)' VERSION='$(VERSION)' MAINTAINER='$(MAINTAINER)' ZABBIX_CONF='$(ZABBIX_CONF)' \
	  BINDIR='$(BINDIR)' OUT='$(BUILD)/pkg' ./contrib/package/stage.sh
	mkdir -p $(DIST)
	rm -f $(DIST)/diskwatch_*.deb $(DIST)/diskwatch-*.rpm
	for p in deb rpm; do \
	  (cd $(BUILD)/pkg && PKG_ARCH=$(PKG_ARCH) PKG_UPSTREAM='$(UPSTREAM)' PKG_RELEASE='$(PKG_RELEASE)' PKG_LICENSE=unspecified \
	    $(NFPM) package --config $(CURDIR)/contrib/package/nfpm.yaml --packager $$p --target $(abspath $(DIST))/) || exit 1; \
	done
	@ls -l $(DIST)/*.deb $(DIST)/*.rpm

# Release archive for hosts without dpkg/rpm: static binaries, contrib/,
# man pages and completions, and SHA256SUMS over everything in dist/.
release: package
	rm -rf $(BUILD)/release && mkdir -p $(BUILD)/release/diskwatch-$(VERSION)
	cp -r $(BINDIR)/diskwatch $(BINDIR)/diskwatch-zabbix README.md contrib $(BUILD)/pkg/docs $(BUILD)/release/diskwatch-$(VERSION)/
	rm -rf $(BUILD)/release/diskwatch-$(VERSION)/contrib/package
	tar -C $(BUILD)/release --sort=name --owner=0 --group=0 --numeric-owner --mtime=@$$(git log -1 --format=%ct) \
	  -czf $(DIST)/diskwatch-$(VERSION)-linux-$(PKG_ARCH).tar.gz diskwatch-$(VERSION)
	cd $(DIST) && rm -f SHA256SUMS && sha256sum diskwatch* >SHA256SUMS && cat SHA256SUMS

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/diskwatch
	install -D -m 0755 $(BINDIR)/diskwatch-zabbix $(DESTDIR)$(PREFIX)/bin/diskwatch-zabbix

clean:
	rm -rf bin build dist
