# Two commands: `make run` (the main job) and `make test` (the whole suite).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch is pinned to the CPU wheel these machines carry on disk; see README for GPU installs.
TORCH_PIN ?= torch==2.13.0

.PHONY: run test install install-test lint format chromium slurm clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q "$(TORCH_PIN)"
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test chromium slurm

# The report's browser test needs Debian's chromium; install it when missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium could not be installed; the browser test will be skipped"; }

# The Slurm tests (tests/slurm) start a single-node cluster from Debian's packages; install
# them when missing. Best effort: without them those tests are skipped with the reason.
SLURM_PKGS := slurmctld slurmd slurm-client munge slurmdbd mariadb-server
slurm:
	@command -v slurmctld >/dev/null 2>&1 && command -v slurmdbd >/dev/null 2>&1 \
	  && command -v mariadbd >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    $(SLURM_PKGS) >/dev/null) \
	  || echo "Slurm could not be installed; the Slurm tests will be skipped"; }

run: install
	$(BIN)/lpm study --preset quick --out runs/quick

test: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/python -m pytest -q

lint:
	$(BIN)/ruff check src tests bench

format:
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) runs .pytest_cache
