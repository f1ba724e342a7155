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

.PHONY: install bytecode run test evaluate bench fuzz clean-warehouse

install: $(VENV)/.installed bytecode

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "$(TORCH)" -e ".[test]"
	touch $@

# The project's own modules compiled ahead. Python writes them on first import, unless PYTHONDONTWRITEBYTECODE
# is set (as on some CI machines): then every new process (each command, NER worker and gate helper) compiled
# them again, about 0.1 s of CPU each. Only what changed is compiled again; hidden folders (.venv) are left.
bytecode: $(VENV)/.installed
	$(BIN)/python -m compileall -q -x '/\.' .

run: install
	$(BIN)/akhbar run
	$(BIN)/akhbar sql "SELECT rank, name_ar, name_en, type, wikidata_qid, mention_count FROM top_entities LIMIT 10"

test: install
	$(BIN)/pytest
	$(MAKE) --no-print-directory evaluate

# Article metadata over the real-page corpora (seeds/dev, seeds/holdout), their entities, amounts
# (seeds/amounts too), quotes (seeds/quotes too) and stories (seeds/stories), and entity linking against the
# hand-made gold sets of the samples (seeds/gold/entities.csv).
evaluate: install
	rm -rf .eval
	# One command and no next one: its Prefect server stops with it (no shared local API left behind).
	AKHBAR_LOCAL_API_IDLE_SECONDS=0 $(BIN)/akhbar run --inbox seeds/articles --warehouse .eval/akhbar.duckdb > .eval.log 2>&1 || (cat .eval.log; exit 1)
	$(BIN)/akhbar evaluate --warehouse .eval/akhbar.duckdb --corpus seeds/dev --corpus seeds/holdout

# The fuzz properties of tests/test_fuzz.py with many more examples than the test suite's 40 (docs/reliability.md).
FUZZ_EXAMPLES ?= 3000
fuzz: install
	AKHBAR_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/test_fuzz.py -p no:cacheprovider -q --hypothesis-show-statistics

# Every figure of docs/performance.md, measured in one run, written back into it.
bench: install
	$(BIN)/python -m bench --write

clean-warehouse:
	rm -rf warehouse/akhbar.duckdb warehouse/akhbar.duckdb.wal warehouse/lake warehouse/staging
