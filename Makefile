# Two commands do all set-up: `make demo` and `make test` (each bootstraps .venv on first use).
VENV   := .venv
PYTHON := $(VENV)/bin/python
BOOT   := scripts/bootstrap.sh

.PHONY: demo test test-fast bootstrap clean

bootstrap:
	@$(BOOT)

demo: bootstrap
	@$(VENV)/bin/llm-mars demo

test: bootstrap
	@$(PYTHON) -m pytest

test-fast: bootstrap
	@$(PYTHON) -m pytest -m "not slow"

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
