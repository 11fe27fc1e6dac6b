"""Compile a whole quantised network (models.qnet.QNet) into stages, and run it.

Every 3x3 conv becomes an *array* stage: a LayerProgram (bias, requantisation and ReLU in the
output stage, int8 out) compiled once; per image only its activation streams change. What the
array does not do runs on the host, in this module's own integer code (not the reference's):

  conv 1x1   ResNet's projection shortcut (int64 dot products + the section 6 output stage)
  maxpool    2x2 max of int8 values
  add        residual add: both int8 inputs through their fixed-point multipliers, added, ReLU
  linear     the classifier (flattened int8, or int32 sums for global average pooling) -> int64

`NetProgram.schedule(x)` is a generator: it yields (stage, program with x's activations attached)
for every array stage and expects the int8 [F, Hout, Wout] result sent back; the host stages run
in between. `run(x, array_fn)` drives it synchronously (tb/env/network.py drives it from cocotb).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from compiler import regs as R
from compiler.config import ArrayConfig, load_config
from compiler.funcmodel import output_stage, run_band
from compiler.layer import QLayer
from compiler.compile import compile_layer
from compiler.program import LayerProgram
from compiler.storage import storage_report, sum_reports
from models.pps import PPS

WHERE = {"conv3x3": "array", "conv1x1": "host", "maxpool": "host", "add": "host", "linear": "host"}


@dataclasses.dataclass
class Stage:
    kind: str                 # conv3x3 | conv1x1 | maxpool | add | linear
    name: str
    inputs: list[str]
    out: str
    in_shape: tuple           # shape of the first input [C, H, W]
    out_shape: tuple
    node: object              # the models.qnet.Node it comes from
    prog: LayerProgram | None = None

    @property
    def where(self) -> str:
        return WHERE[self.kind]

    @property
    def macs(self) -> int:
        """Multiply-accumulates the layer needs (structural non-zeros for 3x3 array layers)."""
        if self.kind == "conv3x3":
            return self.prog.cycles["macs"]
        if self.kind == "conv1x1":
            return int(np.prod(self.out_shape)) * self.in_shape[0]
        if self.kind == "linear":
            return int(self.node.arrays["weight"].size)
        return 0


def _layer_pps(node) -> PPS | str:
    """The PPS a conv node records: a PPS (JSON), "dense", "any" (the cheapest cover of the zeros)
    or "auto" (a regular PPS inferred from the zeros, else an error)."""
    p = node.attrs.get("pps", "any")
    if p in ("auto", "any"):
        return p
    return PPS.dense() if p == "dense" else PPS.from_json(p)


class NetProgram:
    def __init__(self, qnet, cfg: ArrayConfig | None = None):
        self.qnet = qnet
        self.cfg = cfg if cfg is not None else load_config()
        self.stages: list[Stage] = []
        shapes = {"input": tuple(qnet.input_shape)}
        for node in qnet.nodes:
            shp = shapes[node.inputs[0]]
            a = node.attrs
            if node.op == "conv":
                w = node.arrays["weight"]
                k = w.shape[2]
                if k == 3:
                    layer = QLayer(node.name, w, node.arrays["bias"], a["stride"], a["padding"],
                                   (node.arrays["M"], node.arrays["shift"], bool(a["relu"])))
                    pps = _layer_pps(node)
                    prog = compile_layer(layer, self.cfg, pps, H=shp[1], W=shp[2])
                    st = Stage("conv3x3", node.name, node.inputs, node.out, shp, (prog.F, prog.Hout, prog.Wout),
                               node, prog)
                elif k == 1 and a["padding"] == 0:
                    s = a["stride"]
                    st = Stage("conv1x1", node.name, node.inputs, node.out, shp,
                               (w.shape[0], (shp[1] - 1) // s + 1, (shp[2] - 1) // s + 1), node)
                else:
                    raise ValueError(f"layer {node.name!r}: {k}x{k} conv with padding {a['padding']} "
                                     "is neither an array (3x3) nor a host (1x1, padding 0) layer")
            elif node.op == "maxpool":
                st = Stage("maxpool", node.name, node.inputs, node.out, shp, (shp[0], shp[1] // 2, shp[2] // 2), node)
            elif node.op == "add":
                if shapes[node.inputs[1]] != shp:
                    raise ValueError(f"layer {node.name!r}: adds shapes {list(shp)} and {list(shapes[node.inputs[1]])}")
                st = Stage("add", node.name, node.inputs, node.out, shp, shp, node)
            elif node.op == "linear":
                st = Stage("linear", node.name, node.inputs, node.out, shp, (node.arrays["weight"].shape[0],), node)
            else:
                raise ValueError(f"layer {node.name!r}: unknown op {node.op!r}")
            shapes[node.out] = st.out_shape
            self.stages.append(st)

    @property
    def array_stages(self) -> list[Stage]:
        return [s for s in self.stages if s.kind == "conv3x3"]

    def dense_program(self, stage: Stage) -> LayerProgram:
        """The same layer forced to dense mode (P=1): the baseline for speedups."""
        n = stage.node
        layer = QLayer(n.name + "_dense", n.arrays["weight"], n.arrays["bias"], n.attrs["stride"],
                       n.attrs["padding"], (n.arrays["M"], n.arrays["shift"], bool(n.attrs["relu"])))
        return compile_layer(layer, self.cfg, PPS.dense(), H=stage.in_shape[1], W=stage.in_shape[2])

    # ---- execution ---------------------------------------------------------------------------
    def schedule(self, x: np.ndarray):
        """Generator: yields (stage, program) for array stages, receives their int8 outputs;
        returns the dict of all tensors (StopIteration.value)."""
        x = np.asarray(x)
        if x.dtype != np.int8 or tuple(x.shape) != tuple(self.qnet.input_shape):
            raise ValueError(f"{self.qnet.name}: input must be int8 {list(self.qnet.input_shape)}, "
                             f"got {x.dtype} {list(x.shape)}")
        t = {"input": x}
        for st in self.stages:
            ins = [t[i] for i in st.inputs]
            if st.kind == "conv3x3":
                y = yield st, st.prog.set_input(ins[0])
                y = np.asarray(y)
                if y.shape != st.out_shape:
                    raise ValueError(f"layer {st.name!r}: array returned shape {list(y.shape)}, "
                                     f"expected {list(st.out_shape)}")
                t[st.out] = y.astype(np.int8)
            else:
                t[st.out] = host_op(st, ins)
        return t

    def run(self, x: np.ndarray, array_fn=None) -> dict:
        """Run one image; array_fn(stage, prog) -> int8 output (default: the functional model)."""
        array_fn = array_fn or functional_array
        gen = self.schedule(x)
        try:
            st, prog = next(gen)
            while True:
                st, prog = gen.send(array_fn(st, prog))
        except StopIteration as stop:
            return stop.value

    # ---- reports -----------------------------------------------------------------------------
    def storage(self, b: int = 8) -> tuple[list[tuple[str, dict]], dict]:
        """Per array layer storage reports and their sum."""
        per = [(s.name, storage_report(s.prog.F, *_stored_shape(s.prog), b=b, pmax=self.cfg.PMAX))
               for s in self.array_stages]
        return per, sum_reports(r for _, r in per)


def _stored_shape(prog: LayerProgram) -> tuple[int, PPS]:
    """(C, PPS) of a layer's weights as stored: an unfolded program's are the original layer's
    (C channels, one pattern of its positions), not the C*n channels the array runs."""
    if prog.unfold:
        return prog.unfold["C"], PPS.from_masks([sum(1 << p for p in prog.unfold["positions"])])
    return prog.C, prog.pps


def functional_array(stage: Stage, prog: LayerProgram) -> np.ndarray:
    """The compiler's functional model of the array for one program (activations attached)."""
    return prog.unpack_results([run_band(prog, b) for b in prog.bands])


def host_op(st: Stage, ins: list[np.ndarray]) -> np.ndarray:
    n, a = st.node, st.node.attrs
    if st.kind == "conv1x1":
        s = a["stride"]
        x = ins[0][:, ::s, ::s].astype(np.int64)
        acc = np.einsum("fc,chw->fhw", n.arrays["weight"][:, :, 0, 0].astype(np.int64), x)
        if acc.size and (acc.min() < -2 ** 31 or acc.max() > 2 ** 31 - 1):
            raise OverflowError(f"layer {st.name!r}: a 1x1 accumulator overflows int32")
        col = (-1, 1, 1)
        return output_stage(acc, n.arrays["bias"].reshape(col), n.arrays["M"].reshape(col),
                            n.arrays["shift"].reshape(col), R.mode_bits(True, a["relu"])).astype(np.int8)
    if st.kind == "maxpool":
        C, H, W = ins[0].shape
        v = ins[0][:, :H // 2 * 2, :W // 2 * 2].reshape(C, H // 2, 2, W // 2, 2)
        return v.max(axis=(2, 4))
    if st.kind == "add":
        def scaled(v, M, sh):
            t = v.astype(np.int64) * M
            return np.right_shift(t + (np.int64(1) << (sh - 1)), sh) if sh else t
        t = scaled(ins[0], a["Ma"], a["sha"]) + scaled(ins[1], a["Mb"], a["shb"])
        if a["relu"]:
            t = np.maximum(t, 0)
        return np.clip(t, -128, 127).astype(np.int8)
    if st.kind == "linear":
        v = ins[0].astype(np.int64)
        feats = v.sum(axis=(1, 2)) if a["gap"] else v.ravel()
        return np.einsum("kf,f->k", n.arrays["weight"].astype(np.int64), feats) + n.arrays["bias"].astype(np.int64)
    raise ValueError(f"stage {st.name!r}: no host implementation of {st.kind}")


__all__ = ["NetProgram", "Stage", "functional_array", "host_op"]
