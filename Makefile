# Attach — the two commands are `make run` and `make test`. See README.md.
SHELL := /bin/bash
CONFIGURATION ?= Debug
CELLS ?= 200
DOTNET ?= dotnet

.PHONY: run test build native lab badge bench lint clean deps

## run: set up and start the embedded default (gateway, broker, agent, Jupyter) and print the URL
run: deps lab badge
	@bash eng/run-embedded.sh

## test: set up and run every test (unit, and integration against a real Jupyter Server and Docker engine)
test: native badge
	@bash eng/ensure-deps.sh test
	@bash eng/build-lab.sh test
	$(DOTNET) build Attach.sln -c $(CONFIGURATION) -nologo -clp:NoSummary
	ATTACH_TEST_POSTGRES="$${ATTACH_TEST_POSTGRES:-$$(cat .attach/test-postgres 2>/dev/null)}" \
	$(DOTNET) test Attach.sln -c $(CONFIGURATION) --no-build -nologo --logger "console;verbosity=normal" --results-directory TestResults

## build: compile everything
build: native badge
	$(DOTNET) build Attach.sln -c $(CONFIGURATION) -nologo

## native: the process shim libattach.so (C) and the fakes its tests run against (attach-agent/native)
native:
	$(MAKE) -C attach-agent/native all fixtures

## lab: the JupyterLab extension (notebook-extension/labextension) and the JupyterLab front end it runs in (npm ci, tsc, webpack)
lab:
	@bash eng/build-lab.sh

## badge: the page badge and the dashboard script (notebook-extension/badge, esbuild); the gateway serves them
BADGE := notebook-extension/badge
badge: $(BADGE)/dist/badge.js
$(BADGE)/dist/badge.js: $(BADGE)/package.json $(BADGE)/package-lock.json $(BADGE)/build.mjs $(wildcard $(BADGE)/src/*)
	@bash eng/ensure-deps.sh
	cd $(BADGE) && npm ci --no-audit --no-fund --loglevel=error && node build.mjs

## bench: benchmarks (figures printed and written to docs/benchmarks.md)
bench: deps
	$(DOTNET) build tests/Attach.Benchmarks -c Release -nologo -v quiet -clp:ErrorsOnly
	cd tests/Attach.Benchmarks/chp && npm ci --no-audit --no-fund --loglevel=error
	$(DOTNET) run --project tests/Attach.Benchmarks -c Release --no-build -- $(CELLS)
	$(DOTNET) run --project tests/Attach.Simulation -c Release -v quiet

## lint: formatting and analyzers (warnings are errors)
lint:
	$(DOTNET) format Attach.sln --verify-no-changes --severity warn
	$(DOTNET) build Attach.sln -c $(CONFIGURATION) -nologo -warnaserror

## clean: remove build output and the embedded default's state (.attach/)
clean:
	$(DOTNET) clean Attach.sln -nologo -v quiet
	rm -rf .attach TestResults $(BADGE)/dist $(BADGE)/node_modules
	rm -rf notebook-extension/lib notebook-extension/labextension notebook-extension/lab-app/build notebook-extension/.build-stamp notebook-extension/tsconfig.tsbuildinfo
	$(MAKE) -C attach-agent/native clean

deps:
	@bash eng/ensure-deps.sh
