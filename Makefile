# Quickstart: `make demo` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# rapidocr pulls opencv-python-headless; the contrib build (cv2.xphoto) writes the same cv2/
# package, so it is reinstalled last, without dependencies, at the same version.
OPENCV_VERSION := 5.0.0.93
PIP := $(BIN)/python -m pip -q --disable-pip-version-check

.PHONY: demo test bench clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.core-installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	$(PIP) install --force-reinstall --no-deps opencv-contrib-python-headless==$(OPENCV_VERSION)
	touch $@

$(VENV)/.all-installed: pyproject.toml $(VENV)/.core-installed
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[test,bench,torch,diffusion,ray,serve]"
	# spandrel's metadata requires torchvision (a multi-GB CUDA build that does not import
	# beside the CPU torch): install it without dependencies; seamline.ops.upscale._torchvision_shim
	# covers the two architectures that import torchvision.
	$(PIP) install --no-deps spandrel==0.4.2 einops==0.8.2
	$(PIP) install --force-reinstall --no-deps opencv-contrib-python-headless==$(OPENCV_VERSION)
	touch $@

demo: $(VENV)/.core-installed
	$(BIN)/python -m seamline.demo

test: $(VENV)/.all-installed
	$(BIN)/python -m pytest -q

BENCHES := remove_text inpaint color upscale diffusion translate consistency batch

bench: $(VENV)/.all-installed
	set -e; for b in $(BENCHES); do \
	  if [ -f benchmarks/bench_$$b.py ]; then echo "== bench $$b"; $(BIN)/python benchmarks/bench_$$b.py; fi; \
	done
	$(BIN)/python benchmarks/update_readme.py

clean-venv:
	rm -rf $(VENV)
