"""pytest: every RTL test with a `simulator` argument runs once per simulator found (SIM= in the
Makefile narrows the list, see tb.env.runner.available_simulators); with none found it runs once
as "none" and fails saying so."""
from tb.env import runner


def pytest_generate_tests(metafunc):
    if "simulator" in metafunc.fixturenames:
        metafunc.parametrize("simulator", runner.available_simulators() or ["none"])
