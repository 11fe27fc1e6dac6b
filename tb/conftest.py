"""pytest: every RTL test with a `simulator` argument runs once per simulator found (SIM= in the
Makefile narrows the list, see tb.sim.available_simulators); with none found it runs once as
"none" and fails saying so."""
from tb import sim


def pytest_generate_tests(metafunc):
    if "simulator" in metafunc.fixturenames:
        metafunc.parametrize("simulator", sim.available_simulators() or ["none"])
