"""The host side of the RTL runs that the sps commands make: save the inputs, start one simulation
of sps_top with a cocotb module of tb/env (program.py: a layer program; network.py: a whole
network), read the results back. No torch here or in the simulation process.

    res, stats, sim = run_program_on_rtl(prog, sim="verilator")        # per band beats, counters
    run = run_network_on_rtl(qnet, images_int8, sim="verilator", dense=True)
    run.mismatches   # [] when every array layer output and the logits equal the integer reference
"""
from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from compiler.config import ArrayConfig, load_config
from compiler.progfile import save_program
from compiler.network import NetProgram
from models.qnet import QNet, run_reference
from tb.env import runner


class _waves:
    """WAVES=1 for the runs inside the block when `on` (the runner reads it), restored after."""

    def __init__(self, on: bool):
        self.on, self.old = on, os.environ.get("WAVES")

    def __enter__(self):
        if self.on:
            os.environ["WAVES"] = "1"

    def __exit__(self, *exc):
        if self.on:
            if self.old is None:
                os.environ.pop("WAVES", None)
            else:
                os.environ["WAVES"] = self.old


def _stall_json(stall) -> str:
    """A stall (tb.env.stall.as_stall: p, {"p", "burst"}, or a Stall) for SPS_STALL."""
    if dataclasses.is_dataclass(stall):
        stall = dataclasses.asdict(stall)
    return json.dumps(stall)


def sim_line(sim: dict) -> str:
    """The line every command that simulates prints (figures from tb.env.meter.SimMeter)."""
    return (f"simulated {sim['sim_cycles']:,} cycles in {sim['sim_seconds']:.1f} s "
            f"({sim['sim_cycles_per_s']:,.0f} cycles/s)")


def run_program_on_rtl(prog, sim: str, waves: bool = False, stall=0.0, seed: int = 0,
                       name: str = "run_layer", transport: str = "mem") -> tuple[list[np.ndarray], list[dict], dict]:
    """Simulate every band of `prog` (activation streams attached) on an sps_top built with the
    program's configuration; returns (per-band result beats, per-band counters, simulation figures:
    sim_cycles, sim_seconds, sim_cycles_per_s measured in the simulator process, and wall_seconds
    with the build)."""
    with tempfile.TemporaryDirectory() as td, _waves(waves):
        pfile, rfile = Path(td) / "prog.npz", Path(td) / "res.npz"
        save_program(prog, pfile)
        t0 = time.time()
        runner.run_top(sim, "tb.env.program", prog.cfg, name=name, transport=transport,
                       env={"SPS_PROGRAM": pfile, "SPS_RESULT": rfile, "SPS_STALL": _stall_json(stall), "SPS_SEED": seed})
        wall = time.time() - t0
        with np.load(rfile) as z:
            stats = json.loads(str(z["stats"]))
            sim_fig = json.loads(str(z["sim"])) | {"wall_seconds": wall}
            res = [np.asarray(z[f"res_{b.index}"]) for b in prog.bands]
    return res, stats, sim_fig


@dataclasses.dataclass
class NetRun:
    logits: list[np.ndarray]                 # per image, int64 [classes] (from the RTL run)
    layer_counters: list[dict]               # per image: layer -> hardware counters (summed over bands;
                                             # with a batch, the batch's average per image)
    dense_counters: dict                     # layer -> counters of the layer in dense mode (image 0, or
                                             # per image of the first images of a batch)
    mismatches: list[str]                    # one line per image/layer that differs from the reference
    differing: list[tuple[int, str]]         # the same, as (image, layer name)
    reference_logits: list[np.ndarray]
    wall: float                              # seconds, the build included
    sim: dict                                # sim_cycles, sim_seconds, sim_cycles_per_s (simulator process)

    @property
    def bit_exact(self) -> bool:
        return not self.mismatches

    @property
    def predictions(self) -> list[int]:
        return [int(np.argmax(v)) for v in self.logits]


def _watch(progress: Path, total: int, stop: threading.Event, desc: str) -> None:
    bar = tqdm(total=total, desc=desc, unit="layer")
    done = 0
    while not stop.is_set():
        try:
            n = int(progress.read_text() or 0)
        except (OSError, ValueError):
            n = done
        if n > done:
            bar.update(n - done)
            done = n
        stop.wait(0.5)
    bar.close()


def run_network_on_rtl(qnet: QNet, images: np.ndarray, sim: str, cfg: ArrayConfig | None = None,
                       dense: bool = True, waves: bool = False, stall=0.0, seed: int = 0,
                       name: str = "net", progress: bool = True, transport: str = "mem",
                       net: NetProgram | None = None, batch: int = 1) -> NetRun:
    """images: int8 [N, C, H, W] (already quantised with qnet.quantize_input); cfg: the array
    (default config/sps.json); transport: the streams ("mem" or "axi", tb/env/transports.py);
    net: the caller's compiled NetProgram of qnet, for the progress bar (compiled here if needed);
    batch: images per network run (compiler.network's batching; it must divide N)."""
    images = np.asarray(images)
    if images.dtype != np.int8 or images.ndim != 4 or tuple(images.shape[1:]) != tuple(qnet.input_shape):
        raise ValueError(f"images must be int8 [N, {', '.join(map(str, qnet.input_shape))}], "
                         f"got {images.dtype} {list(images.shape)}")
    if batch < 1 or len(images) % batch:
        raise ValueError(f"batch {batch} does not divide the {len(images)} image(s)")
    cfg = cfg or load_config()
    with tempfile.TemporaryDirectory() as td, _waves(waves):
        td = Path(td)
        qnet.save(td / "qnet.npz")
        np.savez(td / "images.npz", x=images)
        prog_file = td / "progress"
        stop = threading.Event()
        watcher = None
        if progress:
            stages = (net or NetProgram(qnet, cfg, batch=batch)).array_stages
            n_array = len(stages)                  # a 1x1 layer is its own dense baseline: not rerun
            runs = (sum(st.runs for st in stages) * (len(images) // batch)
                    + (sum(st.kind != "conv1x1" for st in stages) if dense else 0))
            watcher = threading.Thread(target=_watch, args=(prog_file, runs, stop,
                                                             f"{sim}: {len(images)} image(s) x {n_array} array layers"
                                                             + (" + dense mode" if dense else "")), daemon=True)
        if watcher:
            watcher.start()
        t0 = time.time()
        try:
            runner.run_top(sim, "tb.env.network", cfg, name=name, transport=transport,
                           env={"SPS_QNET": td / "qnet.npz", "SPS_IMAGES": td / "images.npz",
                                "SPS_RESULT": td / "res.npz", "SPS_DENSE": int(dense), "SPS_STALL": _stall_json(stall),
                                "SPS_BATCH": batch,
                                "SPS_SEED": seed, "SPS_PROGRESS": prog_file})
        finally:
            stop.set()
            if watcher:
                watcher.join()
        wall = time.time() - t0
        with np.load(td / "res.npz") as z:
            stats = json.loads(str(z["stats"]))
            sim_fig = json.loads(str(z["sim"]))
            got = {k: np.asarray(z[k]) for k in z.files if k not in ("stats", "sim")}
    mismatches, differing, logits, ref_logits = [], [], [], []
    for i, x in enumerate(images):
        ref = run_reference(qnet, x)
        for node in qnet.nodes:
            key = f"{i}/{node.out}"
            diff = got[key] != ref[node.out] if key in got else None
            if diff is not None and diff.any():
                pos = tuple(int(v) for v in np.argwhere(diff)[0])
                mismatches.append(f"image {i} layer {node.name}: {int(diff.sum())} "
                                  f"values differ, first at {pos}: RTL {got[key][pos]}, reference {ref[node.out][pos]}")
                differing.append((i, node.name))
        logits.append(got[f"{i}/logits"])
        ref_logits.append(ref["logits"])
    return NetRun(logits, stats["images"], stats["dense"], mismatches, differing, ref_logits, wall, sim_fig)
