# The two commands: `make run` and `make test`. Everything else is set up by them.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install bench clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the page tests (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || ( (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null )

# The daemon on the embedded default: SQLite + the sandbox CRMs on 127.0.0.1:8765 (hub.toml).
run: $(STAMP)
	$(BIN)/leadhub run --with-sandbox

test: $(STAMP) browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The benchmarks; the matching harness's peers (splink, recordlinkage) come with the bench extra.
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/pipeline.py

clean:
	rm -rf $(VENV) leadhub.db* delivered.jsonl .pytest_cache
