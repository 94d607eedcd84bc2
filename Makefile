GO ?= go
BIN := bin/patchgate
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION) -X main.revision=$(REVISION)

.PHONY: demo test build image chart manifests lint bench bench-quality bench-rules fuzz clean

## demo: build and run the demo (embedded Prometheus engine, SQLite, simulated fleet)
demo: build
	./$(BIN) demo $(ARGS)

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/patchgate

## image: the OCI image archive bin/patchgate-image.tar, no Docker needed (cmd/mkimage; docs/deploy.md):
## a static binary, user 65532, CA certificates from this machine, entrypoint patchgate serve
image:
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags '-s -w $(LDFLAGS)' -o bin/patchgate-linux ./cmd/patchgate
	$(GO) run ./cmd/mkimage --binary bin/patchgate-linux --version $(VERSION) --revision $(REVISION) --out bin/patchgate-image.tar

## test: every test, against real servers where the machine has them
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

## chart: after a change to the chart or to what generate writes, refresh the chart's rule files
## (generate rules|alerts --format prometheus over the chart's config), the golden render and the plain
## manifests deploy/kubernetes/ (the default render); go test ./deploy checks all three (docs/deploy.md)
chart:
	$(GO) test -count=1 -run TestChartRules ./deploy -update
	$(GO) test -count=1 -run TestRender ./deploy -update
manifests: chart

lint:
	gofmt -l . | tee /dev/stderr | (! read)
	$(GO) vet ./...
	staticcheck ./...

## bench: Go benchmarks (benchstat-friendly, -count 6; a real Prometheus where installed) and the
## HTTP load test, each with its baselines measured in the same run (docs/performance.md)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 6 -timeout 60m ./gate/... ./cmd/benchload/ | tee bench.out
	$(GO) run ./cmd/benchload > bench-load.out || { cat bench-load.out; exit 1; }
	cat bench-load.out

## bench-quality: decision quality on 32,000 simulated canary stages and 16,000 latency stages, a few minutes (docs/decision-quality.md)
bench-quality:
	$(GO) run ./cmd/benchquality > bench-quality.out || { cat bench-quality.out; exit 1; }
	cat bench-quality.out

## bench-rules: rules for 1,000 and 10,000 SLOs, patchgate against Sloth's library on the same specs (docs/slo.md)
bench-rules:
	$(GO) test -run '^$$' -bench BenchmarkRules -benchtime 1x -count 3 -timeout 60m ./slo/ | tee bench-rules.out

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzRenderShape -fuzztime 30s ./slo/
	$(GO) test -run '^$$' -fuzz FuzzGateRequest -fuzztime 30s ./server/

clean:
	rm -rf bin bench.out bench-load.out bench-quality.out bench-rules.out
