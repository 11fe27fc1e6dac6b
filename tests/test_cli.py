"""The `sps` command line: the subcommand list and --help of each, and `sps compile` in depth: happy
paths and every error path (one 'sps compile: error:' line on stderr, exit 2); an internal error
keeps its traceback."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sps.cli import COMMANDS
from sps.cli import main as sps
from compiler.paths import ROOT
from compiler.progfile import load_program
from models.pps import PPS


def main(argv):
    return sps(["compile", *argv])


def test_sps_help_lists_every_subcommand(capsys):
    assert sps(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("compile", "show", "storage", "config", "run-layer", "demo", "report", "bench", "train"):
        assert name in COMMANDS and f"    {name}" in out, name
    for name in COMMANDS:
        assert sps([name, "--help"]) == 0
        text = capsys.readouterr().out
        assert "example:" in text and f"sps {name}" in text, name


def test_no_subcommand_is_one_line_exit_2(capsys):
    assert sps([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sps: error: ") and err.count("\n") == 1


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    F, C = 10, 7
    w = (rng.integers(-128, 128, (F, C, 3, 3)) * PPS.ps(4).kernel_mask(F, C)).astype(np.int8)
    d = {"w": w, "b": rng.integers(-1000, 1000, F).astype(np.int32),
         "x": rng.integers(-128, 128, (C, 6, 7)).astype(np.int8),
         "m": rng.integers(0, 65536, F).astype(np.uint16), "sh": rng.integers(0, 30, F).astype(np.uint8),
         "wf": w.astype(np.float32), "shbad": np.full(F, 64, np.uint8), "x5": np.zeros((5, 6, 7), np.int8)}
    out = {}
    for k, v in d.items():
        np.save(tmp_path / f"{k}.npy", v)
        out[k] = str(tmp_path / f"{k}.npy")
    (tmp_path / "pps.json").write_text(json.dumps(PPS.ps(4).to_json()))
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "small.json").write_text(json.dumps({"ACT_DEPTH": 2}))
    np.savez(tmp_path / "obj.npz", w=w)                 # an archive where a .npy is expected
    out.update(pps=str(tmp_path / "pps.json"), badjson=str(tmp_path / "bad.json"),
               small=str(tmp_path / "small.json"), obj=str(tmp_path / "obj.npz"),
               out=str(tmp_path / "prog.npz"), tmp=tmp_path)
    return out


def test_happy_paths(files, capsys):
    f = files
    rc = main(["--weight", f["w"], "--bias", f["b"], "--input", f["x"], "--stride", "1", "--padding", "1",
               "--requant", f["m"], f["sh"], "--relu", "--out", f["out"], "--report"])
    o = capsys.readouterr()
    assert rc == 0 and o.err == ""
    for word in ("PPS: PS-4/P4", "bands: 1", "beats act=", "wgt=", "res=", "cycles (predicted)", "CSR", "RLE", "SPS",
                 "registers (band 0)", "wrote"):
        assert word in o.out, word
    prog = load_program(f["out"])
    assert prog.requant and prog.relu and prog.bands[0].act is not None
    for pps in ("dense", "ps4", "psd", f["pps"], "auto"):
        assert main(["--weight", f["w"], "--hw", "5", "9", "--stride", "2", "--padding", "0", "--pps", pps,
                     "--out", f["out"]]) == 0
    assert load_program(f["out"]).bands[0].act is None
    capsys.readouterr()


def test_stray_weights_auto_rejects_any_accepts(files, capsys):
    """--pps auto (default) names the kernel that breaks the layer's PS-4; --pps any compiles the
    cheapest cover (mixed pattern sizes) and says so."""
    f = files
    w = np.load(f["w"])
    zeros = [q for q in range(9) if w[6, 4].flat[q] == 0]
    w[6, 4].flat[zeros[:2]] = -3
    stray = str(f["tmp"] / "stray.npy")
    np.save(stray, w)
    args = ["--weight", stray, "--hw", "6", "7", "--stride", "1", "--padding", "1", "--out", f["out"]]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("sps compile: error: ") and err.count("\n") == 1
    assert "layer 'stray'" in err and "filter 6, channel 4 has non-zero weight(s) at position(s)" in err
    assert "not a regular PPS" in err and "PS-4/P4" in err
    assert not os.path.exists(f["out"])
    assert main(args + ["--pps", "any"]) == 0
    assert "PPS: PS-mixed/" in capsys.readouterr().out


def test_subprocess_run(files):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "sps", "compile", "--weight", files["w"], "--hw", "6", "7", "--stride", "1",
                        "--padding", "1", "--out", files["out"]], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0 and "PPS" in r.stdout and r.stderr == ""
    r = subprocess.run([sys.executable, "-m", "sps", "compile", "--weight", files["wf"], "--hw", "6", "7", "--stride", "1",
                        "--padding", "1", "--out", files["out"]], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 2 and r.stdout == "" and r.stderr.count("\n") == 1
    assert r.stderr.startswith("sps compile: error: ") and "dtype float32" in r.stderr


BASE = ["--weight", "{w}", "--hw", "6", "7", "--stride", "1", "--padding", "1", "--out", "{out}"]


def without(args, *opts):
    out, skip = [], 0
    for a in args:
        if skip:
            skip -= 1
            continue
        if a in opts:
            skip = {"--hw": 2}.get(a, 1)
            continue
        out.append(a)
    return out


ERRORS = [
    (without(BASE, "--weight"), "--weight"),
    (without(BASE, "--out"), "--out"),
    (without(BASE, "--hw"), "--input --hw|one of the arguments"),
    (BASE + ["--input", "{x}"], "not allowed with"),
    (without(BASE, "--stride") + ["--stride", "3"], "--stride"),
    (without(BASE, "--padding") + ["--padding", "x"], "--padding"),
    (BASE + ["--relu"], "--relu needs --requant"),
    (BASE + ["--bogus"], "unrecognized"),
    (["--weight", "{wf}", "--hw", "6", "7", "--stride", "1", "--padding", "1", "--out", "{out}"], "dtype float32"),
    (["--weight", "{tmp}/nope.npy", "--hw", "6", "7", "--stride", "1", "--padding", "1", "--out", "{out}"], "not found"),
    (["--weight", "{badjson}", "--hw", "6", "7", "--stride", "1", "--padding", "1", "--out", "{out}"], "not a readable"),
    (BASE + ["--bias", "{x}"], r"--bias \S*x\.npy: shape \[7, 6, 7\], expected \[10\]"),
    (["--weight", "{obj}", "--hw", "6", "7", "--stride", "1", "--padding", "1", "--out", "{out}"],
     r"--weight \S*obj\.npz: expected a \.npy array, got an archive"),
    (BASE + ["--bias", "{obj}"], r"--bias \S*obj\.npz: expected a \.npy array, got an archive"),
    (BASE + ["--requant", "{m}", "{shbad}"], "requant shift"),
    (BASE + ["--pps", "ps1"], "filter 0, channel"),
    (BASE + ["--pps", "nonsense"], "--pps 'nonsense'"),
    (BASE + ["--pps", "{badjson}"], "--pps file"),
    (BASE + ["--pps", "{w}"], "--pps file"),
    (BASE + ["--config", "{small}"], "ACT_DEPTH"),
    (BASE + ["--config", "{tmp}/none.json"], "cannot read"),
    (without(BASE, "--hw") + ["--input", "{x5}"], r"--input \S*x5\.npy: shape \[5, 6, 7\], expected \[7, H, W\]"),
    (without(BASE, "--hw", "--padding") + ["--hw", "2", "5", "--padding", "0"], "smaller than the 3x3 kernel"),
    (without(BASE, "--hw") + ["--hw", "0", "5"], "H must be a positive integer"),
    (without(BASE, "--out") + ["--out", "{tmp}/no/dir/p.npz"], "cannot write"),
]


@pytest.mark.parametrize("args, words", ERRORS)
def test_errors(files, capsys, args, words):
    f = {k: str(v) for k, v in files.items()}
    argv = [a.format(**f) for a in args]
    rc = main(argv)
    o = capsys.readouterr()
    assert rc == 2
    assert o.err.count("\n") == 1 and o.err.startswith("sps compile: error: "), o.err
    assert "Traceback" not in o.err
    assert re.search(words, o.err), o.err


def test_internal_error_keeps_its_traceback(files, monkeypatch):
    """A bug is not bad input: it is not turned into a one-line exit 2."""
    import compiler.compile

    def broken(*args, **kwargs):
        raise RuntimeError("bad state in band 3")

    monkeypatch.setattr(compiler.compile, "compile_layer", broken)
    with pytest.raises(RuntimeError, match="bad state in band 3"):
        main([a.format(**{k: str(v) for k, v in files.items()}) for a in BASE])
    assert not Path(files["out"]).exists()


def test_help(capsys):
    assert main(["--help"]) == 0
    assert "--pps" in capsys.readouterr().out


def test_compile_batch(files, capsys):
    """--batch B with --hw, or an --input batch [B, C, H, W]: B images per band (the BATCH register);
    a batch that cannot be B images per band, or a bad --batch, is a one-line error."""
    f = files
    xs = np.stack([np.load(f["x"]), -np.load(f["x"])])
    np.save(f["tmp"] / "xs.npy", xs)
    assert main(["--weight", f["w"], "--input", str(f["tmp"] / "xs.npy"), "--stride", "1", "--padding", "1",
                 "--out", f["out"]]) == 0
    assert "batch: 2 images per band" in capsys.readouterr().out
    prog = load_program(f["out"])
    assert prog.batch == 2 and prog.bands[0].act.shape[0] == 2 * 6 * 7
    assert main(["--weight", f["w"], "--hw", "2", "2", "--batch", "8", "--stride", "1", "--padding", "1",
                 "--out", f["out"]]) == 0
    assert load_program(f["out"]).batch == 8
    capsys.readouterr()
    for extra, words in ((["--hw", "6", "7", "--batch", "0"], "--batch 0: must be at least 1"),
                         (["--hw", "32", "32", "--batch", "40"],
                          "one output row (1280 pixels for a batch of 40) exceeds ACC_DEPTH=1024"),
                         (["--hw", "6", "7", "--batch", "2", "--config", f["small"]],
                          "one output row needs 6 words per activation sub-bank for a batch of 2"),
                         (["--input", str(f["tmp"] / "xs.npy"), "--batch", "3"], "batch=3 disagrees with the input's 2")):
        assert main(["--weight", f["w"], *extra, "--stride", "1", "--padding", "1", "--out", f["out"]]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err, err
