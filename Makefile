# The two entry points of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# torch's CPU build, pinned: an unpinned torch pulls several GB of CUDA wheels.
TORCH  ?= torch==2.13.0

# Beside a checkout of this project, ../shared holds the offline Arabic model;
# elsewhere Stanza's own folder is used and the official model downloads on first use.
ifeq ($(origin STANZA_RESOURCES_DIR), undefined)
  ifneq ($(wildcard ../shared/stanza_resources/resources.json),)
    export STANZA_RESOURCES_DIR := $(abspath ../shared/stanza_resources)
  endif
endif

.PHONY: install run test clean-warehouse

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "$(TORCH)" -e ".[test]"
	touch $@

run: install
	$(BIN)/akhbar run
	$(BIN)/akhbar sql "SELECT label, count(*) AS mentions, count(DISTINCT norm_key) AS names FROM mentions GROUP BY label ORDER BY mentions DESC"

test: install
	$(BIN)/pytest

clean-warehouse:
	rm -rf warehouse/akhbar.duckdb warehouse/akhbar.duckdb.wal warehouse/lake warehouse/staging
