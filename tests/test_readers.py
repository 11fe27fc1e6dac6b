"""Every reader of a file the user gives, fuzzed: program files (sps show), .npy arrays (sps compile,
sps run-layer), array configurations (--config), energy tables (--energy-table), PPS JSON (--pps),
QNet files, checkpoints (--checkpoint, --init), CIFAR-10 batches (--data), coverage waivers and
coverage.dat files (sps coverage).

1. A table through the real command line: an empty file, a truncated valid file, random bytes, a
   valid file of the wrong kind, arrays of the wrong shape or dtype: each ends in ONE line on
   stderr, `sps <command>: error: ...`, naming the file, exit 2, no traceback.
2. Properties (hypothesis, derandomized): arbitrary bytes, a valid file with bytes changed, and for
   the JSON readers arbitrary JSON values and valid documents with one value replaced or removed
   give a clean result or a ValueError / OSError, never another exception.
No simulation: run-layer's simulator is stubbed and must never be reached."""
from __future__ import annotations

import io
import json
import pickle
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.compile import compile_layer
from compiler.config import CONFIG_PATH, load_config
from compiler.energy import TABLE_PATH, load_energy_table
from compiler.infer import pps_from_spec
from compiler.layer import QLayer
from compiler.progfile import load_program, save_program
from models import data as D
from models.nets import build, load_checkpoint
from models.pps import PPS
from models.qnet import Node, QNet
from sps import coverage
from sps.cli import main
from sps.npyio import load_npy

F, C = 4, 3
RNG = np.random.default_rng(2026)
RANDOM = bytes(RNG.integers(0, 256, 700, dtype=np.uint8))


def npy(a) -> bytes:
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def npz(**arrays) -> bytes:
    b = io.BytesIO()
    np.savez(b, **arrays)
    return b.getvalue()


def half(b: bytes) -> bytes:
    return b[:len(b) // 2]


W = (RNG.integers(-128, 128, (F, C, 3, 3)) * PPS.ps(4).kernel_mask(F, C)).astype(np.int8)
X = RNG.integers(-128, 128, (C, 6, 6)).astype(np.int8)


def program_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as d:
        save_program(compile_layer(QLayer("w", W, None, 1, 1), load_config(), PPS.ps(4), x=X), Path(d) / "p.npz")
        return (Path(d) / "p.npz").read_bytes()


def qnet_bytes() -> bytes:
    q = QNet("tiny", (1, 4, 4), 0.05, [
        Node("flatten", "flat", ["input"], "t1"),
        Node("linear", "fc", ["t1"], "logits", {"gap": False},
             {"weight": np.ones((2, 16), np.int8), "bias": np.zeros(2, np.int64)})], {"input": 0.05})
    buf = io.BytesIO()
    q.save(buf)
    return buf.getvalue()


def checkpoint_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def cifar_bytes(obj) -> bytes:
    return pickle.dumps(obj, protocol=2)


def npz_with_meta(valid: bytes):
    """The meta JSON of a program or QNet file, and doc -> the same file with meta `doc`."""
    with np.load(io.BytesIO(valid), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("meta")))
    return meta, lambda doc: npz(meta=np.array(json.dumps(doc)), **arrays)


def npy_header(descr: str, n: int) -> bytes:
    """A .npy header claiming `n` elements of `descr`, and no data."""
    header = b"{'descr': '%s', 'fortran_order': False, 'shape': (%d,), }" % (descr.encode(), n)
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header


def huge_member(name: str) -> bytes:
    """An .npz whose member `name` claims 10**15 bytes (numpy allocates a member before reading it)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{name}.npy", npy_header("|i1", 10 ** 15) + b"\0" * 64)
    return buf.getvalue()


PROGRAM = program_bytes()
PROGRAM_META, PROGRAM_WITH = npz_with_meta(PROGRAM)
QNET = qnet_bytes()
DIGITS = build("digits").state_dict()
CHECKPOINT = checkpoint_bytes(DIGITS)
CIFAR = cifar_bytes({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]})
CONFIG_JSON = CONFIG_PATH.read_text()
ENERGY_JSON = TABLE_PATH.read_text()
PPS_JSON = json.dumps(PPS.ps(4).to_json())
WAIVERS_JSON = coverage.WAIVERS.read_text()


class _Evil:                      # a pickle that calls a function of its choice (harmless here)
    def __reduce__(self):
        import os
        return os.getpid, ()


# ---- 1. the table, through the command line --------------------------------------------------------

# the valid files the command lines use besides the fuzzed one ({f}); {dir}: the fuzzed file's folder
VALID = {"w": npy(W), "x": npy(X), "b": npy(np.zeros(F, np.int32)), "m": npy(np.ones(F, np.uint16)),
         "sh": npy(np.ones(F, np.uint8))}
HW = ["--stride", "1", "--padding", "1", "--out", "{tmp}/out.npz"]
COMPILE = ["compile", "--weight", "{w}", "--hw", "6", "6"] + HW
RUN = ["run-layer", "--input", "{x}", "--weight", "{w}"] + HW[:-1] + ["{tmp}/y.npy"]
NOT_NPY = r"not a readable \.npy array"


def option(base: list[str], name: str, value: str = "{f}") -> list[str]:
    """`base` with option `name` set to `value` (replaced, or added)."""
    if name in base:
        i = base.index(name)
        return base[:i + 1] + [value] + base[i + 2:]
    return base + [name, value]


def npy_cases(cmd: str, argv: list[str], shape: tuple, wrong_shape: tuple, expect_shape: str, expect_dtype: str,
              dtype=np.int8):
    """The bad .npy files for the {f} of `argv`, where an array of `shape` and `dtype` is valid."""
    return [(cmd, argv, name, content, words) for name, content, words in [
        ("in.npy", b"", NOT_NPY),
        ("in.npy", RANDOM, NOT_NPY),
        ("in.npy", half(VALID["w"]), NOT_NPY),
        ("in.npy", npy_header("|i1", 10 ** 12), NOT_NPY),                      # claims 1 TB, holds nothing
        ("in.npy", half(PROGRAM), NOT_NPY),                                     # a broken .npz
        ("in.npz", PROGRAM, "expected a .npy array, got an archive"),
        ("in.npy", npy(np.array([{"a": 1}], dtype=object)), NOT_NPY),
        ("in.npy", npy(np.zeros(wrong_shape, dtype)), expect_shape),
        ("in.npy", npy(np.zeros(shape, np.float32)), expect_dtype),
    ]]


CLI_CASES = [
    # program files: sps show
    ("show", ["show", "{f}"], "prog.npz", b"", "program file .*: cannot read"),
    ("show", ["show", "{f}"], "prog.npz", RANDOM, "program file .*: cannot read"),
    ("show", ["show", "{f}"], "prog.npz", half(PROGRAM), "program file .*: cannot read"),
    ("show", ["show", "{f}"], "prog.npz", PROGRAM[:-30], "program file .*: cannot read"),
    ("show", ["show", "{f}"], "prog.npz", PROGRAM_WITH(dict(PROGRAM_META, version=3)),
     "program file .*: malformed: format 'sps-layer-program' version 3"),
    ("show", ["show", "{f}"], "prog.npz", PROGRAM_WITH(dict(PROGRAM_META, bands=[{}])), "malformed: 'oy0'"),
    ("show", ["show", "{f}"], "prog.npz", PROGRAM_WITH(dict(PROGRAM_META, batch=0)), "malformed: batch 0 is not"),
    ("show", ["show", "{f}"], "prog.npz", PROGRAM_WITH(dict(PROGRAM_META, batch=2)),
     "malformed: band 0: BATCH register 1, meta says batch 2"),
    ("show", ["show", "{f}"], "prog.npz", PROGRAM_WITH(dict(PROGRAM_META, layer=[])), "malformed"),
    ("show", ["show", "{f}"], "prog.npz", npy(W), r"a single \.npy array, not a program"),
    ("show", ["show", "{f}"], "prog.npz", QNET, r"program file .*: malformed"),               # another .npz
    ("show", ["show", "{f}"], "prog.npz", npz(meta=np.array("[1, 2]")), "meta is a JSON list, not an object"),
    ("show", ["show", "{f}"], "prog.npz", npz(a=np.zeros(2)), "no 'meta' entry"),
    ("show", ["show", "{f}"], "prog.npz", huge_member("meta"), "program file .*: malformed: Unable to allocate"),
    ("show", ["show", "{f}"], "prog.npz", CONFIG_JSON.encode(), "program file .*: cannot read"),
    # .npy arrays: sps compile
    *npy_cases("compile", option(COMPILE, "--weight"), (F, C, 3, 3), (3, 3),
               r"shape \[3, 3\], expected \[F, C, 3, 3\]", "dtype float32, expected an integer array"),
    *npy_cases("compile", option(COMPILE, "--bias"), (F,), (F, 1),
               rf"shape \[{F}, 1\], expected \[{F}\]", "dtype float32, expected an integer array"),
    *npy_cases("compile", COMPILE + ["--requant", "{f}", "{sh}"], (F,), (2,),
               rf"--requant M .*: shape \[2\], expected \[{F}\]", "dtype float32, expected an integer array"),
    *npy_cases("compile", COMPILE + ["--requant", "{m}", "{f}"], (F,), (2,),
               rf"--requant SH .*: shape \[2\], expected \[{F}\]", "dtype float32, expected an integer array"),
    *npy_cases("compile", [a for a in COMPILE if a not in ("--hw", "6")] + ["--input", "{f}"], (C, 6, 6),
               (C + 1, 6, 6), rf"shape \[{C + 1}, 6, 6\], expected \[{C}, H, W\]",
               "dtype float32, expected an integer array"),
    # .npy arrays: sps run-layer (the simulator is stubbed, never reached)
    *npy_cases("run-layer", option(RUN, "--weight"), (F, C, 3, 3), (3, 3),
               r"shape \[3, 3\], expected \[F, C, 3, 3\]", "dtype float32, expected int8"),
    *npy_cases("run-layer", option(RUN, "--input"), (C, 6, 6), (6, 6),
               rf"shape \[6, 6\], expected \[{C}, H, W\]", "dtype float32, expected int8"),
    *npy_cases("run-layer", RUN + ["--bias", "{f}"], (F,), (F + 1,),
               rf"shape \[{F + 1}\], expected \[{F}\]", "dtype float32, expected int32", np.int32),
    *npy_cases("run-layer", RUN + ["--requant", "{m}", "{f}"], (F,), (1,),
               rf"--requant SH .*: shape \[1\], expected \[{F}\]", "dtype float32, expected an integer array"),
    # array configurations: --config
    ("config", ["config", "--config", "{f}"], "c.json", b"", "array config .*: cannot read"),
    ("config", ["config", "--config", "{f}"], "c.json", RANDOM, "array config .*: cannot read"),
    ("config", ["config", "--config", "{f}"], "c.json", half(CONFIG_JSON.encode()), "array config .*: cannot read"),
    ("config", ["config", "--config", "{f}"], "c.json", ENERGY_JSON.encode(), r"array config .*: unknown key\(s\)"),
    ("config", ["config", "--config", "{f}"], "c.json", b"[16, 16]", "expected a JSON object of parameters, got list"),
    ("config", ["config", "--config", "{f}"], "c.json", b'{"ROWS": 0}', "ROWS must be a positive integer, got 0"),
    ("config", ["config", "--config", "{f}"], "c.json", b'{"ROWS": "16"}', "ROWS must be a positive integer"),
    ("compile", option(COMPILE, "--config"), "c.json", b'{"ROWS": 12, "LANES": 5}', "LANES=5 must divide ROWS=12"),
    ("config", ["config", "--config", "{f}"], "c.npy", npy(W), "array config .*: cannot read"),
    # energy tables: --energy-table (read first, before any model)
    *[("report", ["report", "--cycles", "model", "--energy-table", "{f}"], "e.json", content, words)
      for content, words in [
        (b"", "energy table .*: cannot read"),
        (RANDOM, "energy table .*: cannot read"),
        (half(ENERGY_JSON.encode()), "energy table .*: cannot read"),
        (CONFIG_JSON.encode(), "energy table .*: missing field name"),
        (b"[]", "energy table .*: the file must be a JSON object, got list"),
        (ENERGY_JSON.replace('"sram_read_64b": [', '"sram_read_64b": [7, ').encode(),
         r"sram_read_64b\[0\] must be a JSON object, got int"),
    ]],
    # PPS JSON files: --pps
    *[("storage", ["storage", "--pps", "{f}"], "p.json", content, words) for content, words in [
        (b"", "--pps file .*: Expecting value"),
        (RANDOM, "--pps file .*: 'utf-8' codec can't decode"),
        (half(PPS_JSON.encode()), "--pps file"),
        (CONFIG_JSON.encode(), r"unknown key\(s\)"),
        (b'{"patterns": 4}', r'"patterns" must be a list of lists'),
        (b'{"patterns": [[0, 1], [2, 99]]}', "--pps file"),
        (b'{"patterns": [["a"]], "offset": 0.5}', "--pps file"),
        (npy(W), "--pps file .*: 'utf-8' codec can't decode"),
    ]],
    # checkpoints: sps report --checkpoint (read before anything runs), sps train --init
    *[("report", ["report", "--model", "digits", "--cycles", "model", "--fmax-mhz", "100", "--checkpoint", "{f}"],
       "ck.pt", content, words) for content, words in [
        (b"", r"checkpoint .*: cannot read"),
        (RANDOM, r"checkpoint .*: cannot read"),
        (half(CHECKPOINT), r"checkpoint .*: cannot read"),
        (checkpoint_bytes([1, 2]), r"checkpoint .*: not a state_dict"),
        (pickle.dumps({"a": 1}, protocol=4), r"checkpoint .*: cannot read \(UnpicklingError"),
        (pickle.dumps(_Evil()), r"checkpoint .*: cannot read \(UnpicklingError"),
        (npy(W), r"checkpoint .*: cannot read"),
        (checkpoint_bytes({"w": torch.zeros(2)}), "does not fit Net: missing"),
        (checkpoint_bytes({k: 1 for k in DIGITS}), r"checkpoint .*: \S+ is a int, not a tensor"),
        (checkpoint_bytes({k: v[..., None] for k, v in DIGITS.items()}), "has shape"),
        (checkpoint_bytes({"state_dict": DIGITS, "meta": {"pps": {"nope": {"patterns": [[0]]}}}}), "meta pps"),
        (checkpoint_bytes({"state_dict": DIGITS, "meta": {"pps": {"features.0": [1]}}}), "meta pps: PPS JSON"),
    ]],
    ("train", ["train", "--mode", "finetune", "--epochs", "0", "--out", "{tmp}/t.pt", "--init", "{f}"], "init.pt", b"",
     r"checkpoint .*: cannot read"),
    # CIFAR-10 python batches: --data DIR (train reads data_batch_1 first)
    *[("train", ["train", "--model", "vgg16", "--mode", "dense", "--epochs", "0", "--out", "{tmp}/t.pt", "--data",
                 "{dir}"], "cifar/data_batch_1", content, words) for content, words in [
        (b"", "not a python batch"),
        (RANDOM, "not a python batch"),
        (half(CIFAR), "not a python batch"),
        (pickle.dumps(_Evil()), r"not a python batch \(UnpicklingError\)"),
        (cifar_bytes([1, 2]), "has no data/labels entries"),
        (cifar_bytes({b"data": [[999] * 3072], b"labels": [0]}), "data must be bytes 0..255 and labels integers"),
        (cifar_bytes({b"data": [["a"] * 3072], b"labels": [0]}), "data must be bytes 0..255 and labels integers"),
        (cifar_bytes({b"data": np.zeros((2, 3072), np.uint8), b"labels": [[0], {}]}), "labels integers"),
        (cifar_bytes({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}), r"labels have shape \[1\]"),
        (cifar_bytes({b"data": np.zeros((2, 5), np.uint8), b"labels": [0, 1]}), r"data has shape \[2, 5\]"),
    ]],
    # QNet files: sps report --net (QNet.load; the --net wording is sps.netcheck's)
    *[("report", ["report", "--cycles", "model", "--fmax-mhz", "100", "--net", "{f}"], "net.npz", content, "--net")
      for content in (b"", RANDOM, half(QNET), npy(W), PROGRAM, npz(meta=np.array("7")), huge_member("meta"))],
    # coverage: the waiver file, a coverage.dat
    *[("coverage", ["coverage", "--report-only", "--out", "{tmp}/cov", "--dat", "{tmp}", "--waivers", "{f}"],
       "waivers.json", content, words) for content, words in [
        (b"", "waiver file .*: cannot read"),
        (RANDOM, "waiver file .*: cannot read"),
        (half(WAIVERS_JSON.encode()), "waiver file .*: cannot read"),
        (b"[]", r'expected \{"waivers": \[...\]\}'),
        (b'{"waivers": [7]}', "waiver 0: not an object"),
        (CONFIG_JSON.encode(), r'expected \{"waivers": \[...\]\}'),
    ]],
    *[("coverage", ["coverage", "--report-only", "--out", "{tmp}/cov", "--dat", "{dir}"], "dat/a.dat", content, words)
      for content, words in [(b"", "not a Verilator coverage file"), (RANDOM, "not a Verilator coverage file"),
                             (b"# SystemC::Coverage-3\nC 'x' 1\n", "point keys")]],
]


def _case_id(case) -> str:
    return f"{case[0]}-{case[2]}"


@pytest.fixture
def stub_simulator(monkeypatch):
    """run-layer checks its files after choosing a simulator: any will do, none may run."""
    import sps.cli
    import tb.env.host

    def never(*a, **k):
        raise AssertionError("a bad file reached the simulation")

    monkeypatch.setattr(sps.cli, "pick_simulator", lambda requested: "icarus")
    monkeypatch.setattr(tb.env.host, "run_program_on_rtl", never)


@pytest.mark.parametrize("command, argv, name, content, words", CLI_CASES,
                         ids=[_case_id(c) for c in CLI_CASES])
def test_bad_file_is_one_line_naming_it(tmp_path, capsys, stub_simulator, command, argv, name, content, words):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    files = {}
    for k, v in VALID.items():
        (tmp_path / f"valid_{k}.npy").write_bytes(v)
        files[k] = str(tmp_path / f"valid_{k}.npy")
    rc = main([a.format(f=path, dir=path.parent, tmp=tmp_path, **files) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and err.startswith(f"sps {command}: error: "), err
    assert "Traceback" not in err
    assert str(path) in err, err
    assert re.search(words, err), err


# ---- 2. properties: nothing but a clean result, a ValueError or an OSError ----------------------------

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10)


def _paths(doc, at=()):
    yield at
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for k, v in items:
        yield from _paths(v, at + (k,))


@st.composite
def mutated_json(draw, doc):
    """`doc` with one value (anywhere in it) replaced by an arbitrary JSON value, or removed."""
    doc = json.loads(json.dumps(doc))
    at = draw(st.sampled_from(list(_paths(doc))))
    if not at:
        return draw(json_values)
    parent = doc
    for k in at[:-1]:
        parent = parent[k]
    if draw(st.booleans()):
        del parent[at[-1]]
    else:
        parent[at[-1]] = draw(json_values)
    return doc


@st.composite
def mutated_bytes(draw, valid: bytes):
    """`valid` truncated, or with a few bytes overwritten."""
    b = bytearray(valid)
    if draw(st.booleans()):
        return bytes(b[:draw(st.integers(0, len(b)))])
    for _ in range(draw(st.integers(1, 4))):
        b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
    return bytes(b)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def clean(read, path: Path, data: bytes) -> None:
    """`read(path)` of a file holding `data` returns, or raises ValueError / OSError (bad input)."""
    path.write_bytes(data)
    try:
        read(path)
    except (ValueError, OSError):
        pass


def _read_cifar(path: Path):
    return D.cifar10(path.parent, "test")


def _read_npy(path: Path):
    return load_npy(str(path), "--weight", "integer", ("F", "C", 3, 3))


# reader, file name, a valid file of its kind
BYTE_READERS = {
    "npy": (_read_npy, "w.npy", VALID["w"]),
    "program": (load_program, "prog.npz", PROGRAM),
    "qnet": (QNet.load, "net.npz", QNET),
    "checkpoint": (lambda p: load_checkpoint(build("digits"), p), "ck.pt", CHECKPOINT),
    "cifar": (_read_cifar, "test_batch", CIFAR),
    "config": (load_config, "c.json", CONFIG_JSON.encode()),
    "energy": (load_energy_table, "e.json", ENERGY_JSON.encode()),
    "pps": (lambda p: pps_from_spec(str(p)), "p.json", PPS_JSON.encode()),
    "waivers": (coverage.load_waivers, "w.json", WAIVERS_JSON.encode()),
    "dat": (coverage.read_dat, "a.dat", b"# SystemC::Coverage-3\nC '\x01f\x02rtl/a.v\x01l\x0212\x01t\x02line' 3\n"),
}


@pytest.mark.parametrize("kind", BYTE_READERS)
@FUZZ
@given(data=st.data())
def test_arbitrary_bytes(scratch, kind, data):
    read, name, valid = BYTE_READERS[kind]
    raw = data.draw(st.binary(max_size=600) | mutated_bytes(valid), label="file")
    folder = scratch / kind                 # CIFAR-10: a folder holding test_batch
    folder.mkdir(exist_ok=True)
    clean(read, folder / name, raw)


# JSON readers: the valid document, and how a document becomes the file the reader reads
def _json_file(doc) -> bytes:
    return json.dumps(doc).encode()


JSON_READERS = {
    "config": (load_config, "c.json", json.loads(CONFIG_JSON), _json_file),
    "energy": (load_energy_table, "e.json", json.loads(ENERGY_JSON), _json_file),
    "pps": (lambda p: pps_from_spec(str(p)), "p.json", json.loads(PPS_JSON), _json_file),
    "waivers": (coverage.load_waivers, "w.json", json.loads(WAIVERS_JSON), _json_file),
    "program": (load_program, "prog.npz", PROGRAM_META, PROGRAM_WITH),
    "qnet": (QNet.load, "net.npz", *npz_with_meta(QNET)),
}


@pytest.mark.parametrize("kind", JSON_READERS)
@FUZZ
@given(data=st.data())
def test_arbitrary_json(scratch, kind, data):
    read, name, valid, write = JSON_READERS[kind]
    doc = data.draw(json_values | mutated_json(valid), label="document")
    clean(read, scratch / name, write(doc))
