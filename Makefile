# The template's two quick-start commands:
#   make demo   bake a project with the default answers and run its pipeline
#   make test   check version vs CHANGELOG.md, install what the template's tests
#               need, then run them (what CI runs, .ci/run)
# Both work on a bare Debian 12 machine as root (make, git, python3 present).
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
BUILD := build
DEMO_DIR := $(BUILD)/demo
# Python caches compiled modules, as it does on CI runners and laptops, even
# where the environment says not to: the hundreds of processes the tests start
# (DVC stages, make targets, CI runners) then reuse them instead of each
# compiling scikit-learn, pandas and the rest again.
unexport PYTHONDONTWRITEBYTECODE
# Extra pytest arguments, e.g. make test PYTEST_ARGS="-k answers"
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help demo test system-deps venv lint bench clean
.PHONY: node-deps release-check release lock

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r tests/requirements.txt
	touch $@

venv: $(VENV)/.installed ## Create .venv with the pinned test tools

system-deps: ## Install the Debian packages the tests use (root; skips what is present)
	bash scripts/install-system-deps.sh

node-deps: ## Install the pinned npm packages the tests use into build/node
	bash scripts/install-node-deps.sh

demo: venv ## Bake the default project into build/demo and run install, lint, test, repro
	rm -rf $(DEMO_DIR)
	$(BIN)/cookiecutter --no-input --output-dir $(DEMO_DIR) .
	cd $(DEMO_DIR)/* && PATH="$(BIN):$$PATH" DVC_NO_ANALYTICS=1 \
		$(MAKE) install lint test repro
	@echo "demo project: $$(ls -d $(DEMO_DIR)/*)"

test: release-check system-deps venv node-deps ## Check version/changelog, then run the template's tests (bakes projects)
	PATH="$(BIN):$$PATH" $(BIN)/python -m pytest -rs $(PYTEST_ARGS)

lint: venv ## flake8 on the template's own code
	$(BIN)/python -m flake8 hooks tests bench scripts

bench: system-deps venv node-deps ## Every benchmark, each against its baseline (bench/README.md)
	PATH="$(BIN):$$PATH" $(BIN)/python bench/bench_pipeline.py --runs 5
	PATH="$(BIN):$$PATH" $(BIN)/python bench/bench_report.py --runs 7
	PATH="$(BIN):$$PATH" $(BIN)/python bench/bench_serving.py --duration 10
	PATH="$(BIN):$$PATH" $(BIN)/python bench/bench_serving_instructions.py
	PATH="$(BIN):$$PATH" $(BIN)/python bench/bench_monitoring.py
	PATH="$(BIN):$$PATH" $(BIN)/python bench/bench_ci.py --runs 3
	PATH="$(BIN):$$PATH" $(BIN)/python bench/bench_retrain.py --runs 3

release-check: ## Check that cookiecutter.json's _template_version is CHANGELOG.md's newest entry
	$(PYTHON) scripts/release.py check

release: ## Tag vX.Y.Z (_template_version) once its CHANGELOG.md entry is dated and committed
	$(PYTHON) scripts/release.py tag

lock: venv ## Re-lock the generated project's uv.lock after changing its pyproject.toml pins
	PATH="$(BIN):$$PATH" $(BIN)/python scripts/lock.py

clean: ## Remove build output and the virtualenv
	rm -rf $(BUILD) $(VENV) .pytest_cache
