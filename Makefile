GO ?= go
BIN := bin/patchgate

.PHONY: demo test build lint bench fuzz clean

## demo: build and run the demo (embedded Prometheus engine, SQLite, simulated fleet)
demo: build
	./$(BIN) demo $(ARGS)

build:
	$(GO) build -o $(BIN) ./cmd/patchgate

## test: every test, against real servers where the machine has them
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

lint:
	gofmt -l . | tee /dev/stderr | (! read)
	$(GO) vet ./...
	staticcheck ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./gate/... | tee bench.out

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzRenderShape -fuzztime 30s ./slo/
	$(GO) test -run '^$$' -fuzz FuzzGateRequest -fuzztime 30s ./server/

clean:
	rm -rf bin bench.out
