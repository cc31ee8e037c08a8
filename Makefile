# Two commands for a fresh machine: `make run` (the app) and `make test` (the suite).
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
# torch's CUDA build takes about 5.5 GB in the venv; pip's wheel cache would take as much again.
export PIP_NO_CACHE_DIR := 1

.PHONY: install run test lint docs samples clean

$(VENV)/.installed: requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	# Quantus, the faithfulness metrics' test reference, without its opencv-python (the GUI build clashes with
	# the headless one above; Quantus needs neither's GUI).
	$(PY) -m pip install --quiet --no-deps quantus==0.6.0
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) -m streamlit run app.py --server.port $(PORT)

test: install
	$(PY) -m pytest

# The layer contract (.importlinter): studio and CLI on top, then run/train, the pipeline, explain/measure,
# nets/mask/io; inference never imports training.
lint: install
	$(VENV)/bin/lint-imports

# The docs site (mkdocs.yml) into site/; CI builds it with --strict (a broken link or reference fails).
docs: install
	$(VENV)/bin/mkdocs build --strict

# Regenerate the bundled synthetic samples (fixed seeds).
samples: install
	$(PY) -m cracklib.io.synthetic

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts site
