"""pytest: every RTL test with a `simulator` argument runs once per simulator found (SIM= in the
Makefile narrows the list, see tb.env.runner.available_simulators); with none found it runs once
as "none" and fails saying so."""
from tb.env import runner


def pytest_generate_tests(metafunc):
    if "simulator" in metafunc.fixturenames:
        metafunc.parametrize("simulator", runner.available_simulators() or ["none"])


def pytest_collection_modifyitems(config, items):
    """Long tests (marked slow or fpga: Verilator builds of other arrays, the ECP5 synthesis, whole
    networks) first, so pytest-xdist's workers finish together instead of one running them last."""
    items.sort(key=lambda it: not (it.get_closest_marker("slow") or it.get_closest_marker("fpga")))
