"""The formal proofs (sps/formal.py, formal/*.sv, `sps formal`): every proof of the set passes (about
50 s in all on two cores), and the properties have teeth: copies of the RTL with a bug put in
(written to the test's temporary folder) fail them -- in BMC mode from reset, so the failure is a
real counterexample trace (k-induction alone would only say UNKNOWN). `-m "not formal"` skips
these."""
import dataclasses

import pytest

from compiler.config import load_config
from sps import formal as F
from sps.cli import main as sps

PROOFS = F.proofs(load_config())
BY_NAME = {p.name: p for p in PROOFS}

# (proof, file, the line as it is, the bug): each must make the proof FAIL
MUTANTS = {
    "fifo_push_when_full": ("fifo_W8_D3", "sps_fifo.v",
                            "wire do_push = push && (count != depth_w);", "wire do_push = push;"),
    "fifo_read_wrong_slot": ("fifo_W8_D4", "sps_fifo.v",
                             "assign dout  = mem[rd_ptr];", "assign dout  = mem[wr_ptr];"),
    "stream_credit_off_by_one": ("stream_C1_F3", "sps_output_stage.v",
                                 "(reserved < depth_w)", "(reserved <= depth_w)"),
}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    e = F.tool_env(tmp_path_factory.mktemp("formal_tools"))
    F.check_tools(e)
    return e


@pytest.mark.formal
@pytest.mark.parametrize("name", list(BY_NAME))
def test_proof(name, env, tmp_path):
    r = F.run(BY_NAME[name], tmp_path, env=env, timeout=900)
    assert r.status == "PASS", f"{name}: {r.status} {r.detail} (log {r.log}:\n{r.log.read_text()[-3000:]})"


def rtl_copy(tmp_path, proof, fname, edit):
    """The RTL files of `proof` in tmp_path/rtl, `fname` passed through `edit`."""
    rtl = tmp_path / "rtl"
    rtl.mkdir()
    for f in proof.rtl(F.RTL):
        text = f.read_text()
        (rtl / f.name).write_text(edit(text) if f.name == fname else text)
    return rtl


@pytest.mark.formal
@pytest.mark.parametrize("mutant", list(MUTANTS))
def test_mutant_fails(mutant, env, tmp_path):
    proof, fname, good, bad = MUTANTS[mutant]
    p = dataclasses.replace(BY_NAME[proof], mode="bmc", depth=16)

    def edit(text):
        assert text.count(good) == 1, f"rtl/{fname} no longer has {good!r}: update the mutant"
        return text.replace(good, bad)

    r = F.run(p, tmp_path / "work", rtl_dir=rtl_copy(tmp_path, p, fname, edit), env=env, timeout=900)
    assert r.status == "FAIL", f"{mutant}: the bug was not found ({r.status}, log {r.log})"
    assert r.detail, "a FAIL names the failed assertion"


def test_sby_file_takes_the_parameters():
    p = BY_NAME[f"fifo_W{load_config().COLS * 32 + 1}_D{load_config().OUT_FIFO_DEPTH}"]
    text = F.sby_text(p)
    assert f"chparam -set WIDTH {p.params['WIDTH']} -set DEPTH {p.params['DEPTH']} sps_fifo_props" in text
    assert "mode prove" in text and f"smtbmc {F.SOLVER}" in text
    # one hierconn tap per memory word of the FIFO
    assert text.count("(* hierconn *) wire [WIDTH-1:0] \\dut.mem[") == p.params["DEPTH"]


def test_list_and_bad_pattern(capsys):
    assert sps(["formal", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in BY_NAME)
    assert sps(["formal", "--only", "nothing_*"]) == 2
    assert "--only 'nothing_*': no proof matches" in capsys.readouterr().err


@pytest.mark.formal
def test_renamed_internal_is_reported(env, tmp_path):
    """A white-box signal the RTL no longer has would be a free wire: the run says so (ERROR)."""
    p = BY_NAME["fifo_W8_D1"]
    rtl = rtl_copy(tmp_path, p, "sps_fifo.v", lambda text: text.replace("rd_ptr", "rptr"))
    r = F.run(p, tmp_path / "work", rtl_dir=rtl, env=env, timeout=900)
    assert r.status == "ERROR" and "dut.rd_ptr" in r.detail, (r.status, r.detail)
