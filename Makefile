# Two entry points (see README): `make book` and `make test`. Both create or reuse .venv.
VENV ?= .venv
PY := $(VENV)/bin/python
MATHJAX_VERSION := 3.2.2
# OpenMP with passive waiting (spin-waiting with 2 threads stalled for seconds per step on these
# 2-core VMs). The tests run on one thread; the book on two, which measured 1.3-1.5x faster for
# the attacks and 1.1x for the I-RIM's training, no change for the U-Net's. Override on the
# command line for bigger machines.
OMP_NUM_THREADS ?= 1
BOOK_THREADS ?= 2
# The book trains each uncached run in this many torchrun processes, sharing BOOK_THREADS out
# (fnaf.runs.processes). 1 on these 2-core VMs: in 2 processes the single-coil I-RIM trained
# about 1.2-1.3x faster but the multi-coil VarNets and U-Nets slower (benchmarks/README.md);
# raise it on machines with more cores or several GPUs. The tests train in their own process.
BOOK_PROCESSES ?= 1
OMP_WAIT_POLICY ?= PASSIVE
# The browser that measures the built book's tables at a projector's width (tools/table_widths.py)
CHROMIUM ?= chromium
export OMP_NUM_THREADS OMP_WAIT_POLICY
# The book's data and trained runs live with the checkout (a fresh clone trains from scratch).
FNAF_CACHE ?= $(CURDIR)/.fnaf_cache
export FNAF_CACHE

.PHONY: test book bench dry-run clean-nb clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	# torch pinned to the local CPU wheel; a bare `torch` requirement would pull a CUDA build
	$(VENV)/bin/pip install --quiet torch==2.13.0 -e '.[book,test]'
	touch $@

# MathJax served with the book (no CDN): the es5 bundle of the npm package, in _assets/ (not
# _static/: Jupyter Book links every .js file under _static/ into every page)
_assets/mathjax/tex-chtml.js:
	rm -rf build/mathjax _assets/mathjax && mkdir -p build/mathjax _assets
	cd build/mathjax && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null
	tar xzf build/mathjax/mathjax-$(MATHJAX_VERSION).tgz -C build/mathjax
	cp -r build/mathjax/package/es5 _assets/mathjax

test: $(VENV)/.installed
	$(VENV)/bin/ruff check fnaf tests tools benchmarks notebooks
	$(VENV)/bin/pytest -m 'slow or not slow' -n 2  # everything, on 2 processes; a bare `pytest` skips the slow notebook runs

# The notebooks are executed first, in two lanes side by side sharing BOOK_THREADS out
# (tools/execute_book.py); Jupyter Book then renders every page from the execution cache.
book: $(VENV)/.installed _assets/mathjax/tex-chtml.js
	FNAF_PROCESSES=$(BOOK_PROCESSES) $(PY) tools/execute_book.py --threads $(BOOK_THREADS)
	OMP_NUM_THREADS=$(BOOK_THREADS) FNAF_PROCESSES=$(BOOK_PROCESSES) $(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going
	$(PY) tools/check_html.py _build/html
	@if command -v $(CHROMIUM) >/dev/null; then $(PY) tools/table_widths.py _build/html --chromium $(CHROMIUM); \
	else echo "book: table widths NOT measured: no $(CHROMIUM) (apt-get install chromium)"; fi
	$(PY) tools/book_times.py _build/.jupyter_cache
	@echo "book: $(CURDIR)/_build/html/index.html"

bench: $(VENV)/.installed
	$(PY) benchmarks/bench_data.py
	$(PY) benchmarks/bench_train.py
	$(PY) benchmarks/bench_irim_memory.py
	$(PY) benchmarks/bench_attacks.py
	$(PY) benchmarks/bench_patches.py
	$(PY) benchmarks/bench_classification.py
	$(PY) benchmarks/bench_shards.py
	$(PY) benchmarks/bench_memory.py
	$(PY) benchmarks/bench_audit.py
	OMP_NUM_THREADS=$(BOOK_THREADS) $(PY) benchmarks/bench_processes.py

# Every chapter at scale=paper, a few steps each, on a paper-geometry phantom (or DRY_RUN_DATA):
# each chapter's time and peak memory. DRY_RUN_CHAPTERS="00 07" picks chapters; DEVICE=cuda.
DRY_RUN_CHAPTERS ?=
DRY_RUN_DATA ?=
DEVICE ?=
dry-run: $(VENV)/.installed
	$(PY) tools/dry_run.py $(if $(DRY_RUN_CHAPTERS),--chapters $(DRY_RUN_CHAPTERS)) \
		$(if $(DRY_RUN_DATA),--data-root $(DRY_RUN_DATA)) $(if $(DEVICE),--device $(DEVICE))

clean-nb: $(VENV)/.installed
	$(VENV)/bin/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb

clean:
	rm -rf _build build _assets/mathjax
