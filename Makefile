# Messina. `make run` starts everything and serves; `make test` runs every
# test against real PostgreSQL and MinIO; `make check` is what to run before
# pushing. Tools are built at pinned versions into .bin/, never assumed.

SQLC_VERSION        := v1.31.1
STATICCHECK_VERSION := v0.8.2
BIN                 := $(CURDIR)/.bin
DEVENV              := go run ./cmd/devenv -bin $(BIN)
export GOFLAGS      := -buildvcs=false

.PHONY: run test check generate sqlc-check fmt-check vet staticcheck build bench clean

run: build
	$(DEVENV) -dir .data -- sh -c '$(BIN)/messina migrate && $(BIN)/messina seed --if-empty && exec $(BIN)/messina serve'

test:
	$(DEVENV) -temp -fast -- go test -race -count=1 -timeout 30m ./...

check: fmt-check vet staticcheck sqlc-check test

build:
	go build -o $(BIN)/messina ./cmd/messina

generate: $(BIN)/sqlc
	$(BIN)/sqlc generate

sqlc-check: $(BIN)/sqlc
	$(BIN)/sqlc diff
	$(BIN)/sqlc vet

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>&1); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	go vet ./...

staticcheck: $(BIN)/staticcheck
	$(BIN)/staticcheck ./...

# Each bench/NAME is a program that measures ours against a baseline in the
# same run and prints `name: ours / baseline = ratio` lines. Durable commits
# (no -fast), since the baselines are too.
bench:
	$(DEVENV) -temp -- sh -c 'set -e; for d in bench/*/; do echo "== $$d"; go run ./$$d; done'

$(BIN)/sqlc:
	GOBIN=$(BIN) go install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)

$(BIN)/staticcheck:
	GOBIN=$(BIN) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

clean:
	rm -rf .data
