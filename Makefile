# Quickstart: `make demo` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# rapidocr pulls opencv-python-headless; the contrib build (cv2.xphoto) writes the same cv2/
# package, so it is reinstalled last, without dependencies, at the same version.
OPENCV_VERSION := 5.0.0.93
PIP := $(BIN)/python -m pip -q --disable-pip-version-check

.PHONY: demo test bench clean-venv pillow-corpus

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.core-installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	$(PIP) install --force-reinstall --no-deps opencv-contrib-python-headless==$(OPENCV_VERSION)
	# the fill's Numba kernels, compiled once here (~30-90 s) rather than in the first run
	$(BIN)/python -m seamline.ops.inpaint.warm
	touch $@

$(VENV)/.all-installed: pyproject.toml $(VENV)/.core-installed
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[test,bench,torch,diffusion,ray,serve,heif]"
	# spandrel's metadata requires torchvision (a multi-GB CUDA build that does not import
	# beside the CPU torch): install it without dependencies; seamline.ops.upscale._torchvision_shim
	# covers the two architectures that import torchvision.
	$(PIP) install --no-deps spandrel==0.4.2 einops==0.8.2
	$(PIP) install --force-reinstall --no-deps opencv-contrib-python-headless==$(OPENCV_VERSION)
	touch $@

demo: $(VENV)/.core-installed
	$(BIN)/python -m seamline.demo

test: $(VENV)/.all-installed
	-$(MAKE) --no-print-directory pillow-corpus  # offline: the corpus tests skip and say why
	$(BIN)/python -m pytest -q

# Pillow's own test images (Tests/images of the pinned sdist, issue 14's reading corpus): fetched
# once into a gitignored cache, never vendored. pip prepares the sdist's metadata, which needs
# pybind11 importable; the folder appears only once fully extracted.
PILLOW_CORPUS := .cache/pillow-corpus
PILLOW_CORPUS_VERSION := 12.0.0

pillow-corpus: $(PILLOW_CORPUS)/Tests/images

$(PILLOW_CORPUS)/Tests/images: | $(BIN)/python
	mkdir -p $(PILLOW_CORPUS)
	$(PIP) install pybind11 setuptools
	$(PIP) download --no-deps --no-binary :all: --no-build-isolation \
	  pillow==$(PILLOW_CORPUS_VERSION) -d $(PILLOW_CORPUS)
	rm -rf $(PILLOW_CORPUS)/.partial && mkdir $(PILLOW_CORPUS)/.partial
	tar -xzf $(PILLOW_CORPUS)/pillow-$(PILLOW_CORPUS_VERSION).tar.gz -C $(PILLOW_CORPUS)/.partial \
	  --strip-components=1 pillow-$(PILLOW_CORPUS_VERSION)/Tests/images
	mv $(PILLOW_CORPUS)/.partial/Tests $(PILLOW_CORPUS)/Tests && rm -rf $(PILLOW_CORPUS)/.partial

BENCHES := remove_text inpaint color upscale diffusion translate consistency batch memory serve

bench: $(VENV)/.all-installed
	set -e; for b in $(BENCHES); do \
	  if [ -f benchmarks/bench_$$b.py ]; then echo "== bench $$b"; $(BIN)/python benchmarks/bench_$$b.py; fi; \
	done
	$(BIN)/python benchmarks/update_readme.py

clean-venv:
	rm -rf $(VENV)
