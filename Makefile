# diskwatch — see README.md.
GO      ?= $(shell command -v go || echo /usr/local/go/bin/go)
PREFIX  ?= /usr/local
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/diskwatch

.PHONY: soak all build run test unit test-rig lint bench fuzz install setup clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/diskwatch
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/diskwatch-zabbix ./cmd/diskwatch-zabbix

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

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	@if [ "$$DISKWATCH_RIG" = 1 ]; then DISKWATCH_RIG=1 $(GO) test -count=1 -timeout 20m -run 'TestRigSMARTNative' -v ./cmd/diskwatch/ | grep 'bench ('; fi

# 10,000 daemon rounds over a fixture host: memory, goroutines, open files
# must stay flat (prints the peak RSS).
soak:
	DISKWATCH_SOAK=1 $(GO) test -count=1 -timeout 60m -run '^TestSoak$$' -v ./cmd/diskwatch/

# Each fuzz target briefly (FUZZTIME=2m for a real run).
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/diskwatch
	install -D -m 0755 bin/diskwatch-zabbix $(DESTDIR)$(PREFIX)/bin/diskwatch-zabbix

clean:
	rm -rf bin
