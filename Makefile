# Attach — the two commands are `make run` and `make test`. See README.md.
SHELL := /bin/bash
CONFIGURATION ?= Debug
DOTNET ?= dotnet

.PHONY: run test build bench lint clean deps

## run: set up and start the embedded default (gateway, broker, agent, Jupyter) and print the URL
run: deps
	@bash eng/run-embedded.sh

## test: set up and run every test (unit, and integration against a real Jupyter Server)
test: deps
	$(DOTNET) build Attach.sln -c $(CONFIGURATION) -nologo -clp:NoSummary
	$(DOTNET) test Attach.sln -c $(CONFIGURATION) --no-build -nologo --logger "console;verbosity=normal" --results-directory TestResults

## build: compile everything
build:
	$(DOTNET) build Attach.sln -c $(CONFIGURATION) -nologo

## bench: benchmarks (figures printed and written to docs/benchmarks.md)
bench: deps
	@echo "make bench: no benchmark is built yet; the gateway and broker issues add them (docs/benchmarks.md)." >&2
	@exit 1

## lint: formatting and analyzers (warnings are errors)
lint:
	$(DOTNET) format Attach.sln --verify-no-changes --severity warn
	$(DOTNET) build Attach.sln -c $(CONFIGURATION) -nologo -warnaserror

## clean: remove build output and the embedded default's state (.attach/)
clean:
	$(DOTNET) clean Attach.sln -nologo -v quiet
	rm -rf .attach TestResults

deps:
	@bash eng/ensure-deps.sh
