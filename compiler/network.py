"""Compile a whole quantised network (models.qnet.QNet) into stages, and run it.

Every convolution becomes an *array* stage: a LayerProgram (bias, requantisation and ReLU in the
output stage, int8 out) compiled once; per image only its activation streams change. A 3x3 conv
(padding 0 or 1) runs as it is; a 1x1 conv (stride 1 or 2, padding 0) runs as a 3x3 layer whose
only non-zero position is the centre, with padding 1 (the same outputs: for stride s, output
(y, x) reads input (s*y, s*x)). A 1x1 layer with more input channels or filters than the CH_BITS
registers count (an inner dense layer over a large flattened input) stays on the host, and its
stage says so. What the array does not do runs on the host, in this module's own
integer code (not the reference's):

  maxpool / avgpool  k x k window, stride, padding (mean rounded half to even)
  gap                global average pooling to [C, 1, 1], the mean rounded half to even
  relu               int8 max(x, 0)
  flatten            [C, H, W] -> [C*H*W, 1, 1]
  add                residual add: both int8 inputs through their fixed-point multipliers, added, ReLU
  linear             the classifier (flattened int8, or int32 sums for global average pooling) -> int64

`NetProgram.schedule(x)` is a generator: it yields (stage, program with x's activations attached)
for every array stage and expects the int8 [F, Hout, Wout] result sent back; the host stages run
in between. `run(x, array_fn)` drives it synchronously (tb/env/network.py drives it from cocotb).

Batching (`NetProgram(qnet, cfg, batch=B)`): x is [B, C, H, W] and every tensor carries the batch
axis. Each array layer is compiled for the images per band b (a divisor of B: the BATCH register)
with the fewest predicted cycles per image -- small layers take b = B, so that a pass covers the
same pixels of b images while the weights stay; a layer whose batch would need narrower bands
(more re-sent weights) keeps b = 1 -- and runs B / b times per batch (one yield each, with
[b, F, Hout, Wout] sent back when b > 1). Host stages run image by image.
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
from compiler.unfold import CENTRE, UNFOLDED_PPS
from models.pps import PPS


@dataclasses.dataclass
class Stage:
    kind: str                 # conv3x3 | conv1x1 | maxpool | avgpool | gap | relu | flatten | add | linear
    name: str
    inputs: list[str]
    out: str
    in_shape: tuple           # shape of the first input [C, H, W]
    out_shape: tuple
    node: object              # the models.qnet.Node it comes from
    prog: LayerProgram | None = None      # array stages only
    note: str = ""                        # why a conv stays on the host
    batch: int = 1                        # the network's images per run (prog.batch of them per program run)

    @property
    def where(self) -> str:
        return "array" if self.prog is not None else "host"

    @property
    def dense_prediction(self) -> dict:
        """The cycle model of one program run of the layer in dense mode (a 1x1 layer: itself), for
        prog.batch images."""
        return self.prog.cycles if self.kind == "conv1x1" else self.prog.cycles["dense_equivalent"]

    @property
    def runs(self) -> int:
        """Program runs per batch of the network: batch / prog.batch."""
        return self.batch // self.prog.batch

    @property
    def macs(self) -> int:
        """Multiply-accumulates the layer needs per image (structural non-zeros for array layers)."""
        if self.prog is not None:
            return self.prog.cycles["macs"] // self.prog.batch
        if self.kind == "conv1x1":
            return int(np.prod(self.out_shape)) * self.in_shape[0]
        if self.kind == "linear":
            return int(self.node.arrays["weight"].size)
        return 0


def centre_layer(node, name: str | None = None) -> QLayer:
    """A 1x1 conv node as the 3x3 layer the array runs: the weight at the centre, padding 1."""
    w1 = node.arrays["weight"]
    w = np.zeros(w1.shape[:2] + (3, 3), np.int8)
    w[:, :, CENTRE // 3, CENTRE % 3] = w1[:, :, 0, 0]
    return QLayer(name or node.name, w, node.arrays["bias"], node.attrs["stride"], 1,
                  (node.arrays["M"], node.arrays["shift"], bool(node.attrs["relu"])))


def conv_layer(node, name: str | None = None) -> QLayer:
    """A 3x3 conv node as the layer the array runs (its weights, bias, stride, padding, requantisation)."""
    a = node.attrs
    return QLayer(name or node.name, node.arrays["weight"], node.arrays["bias"], a["stride"], a["padding"],
                  (node.arrays["M"], node.arrays["shift"], bool(a["relu"])))


def array_layer(stage) -> QLayer:
    """The layer an array stage runs: its 3x3 conv, or its 1x1 conv at the centre of a 3x3 (centre_layer)."""
    return centre_layer(stage.node) if stage.kind == "conv1x1" else conv_layer(stage.node)


def pool_out(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


def _layer_pps(node) -> PPS | str:
    """The PPS a conv node records: a PPS (JSON), "dense", "any" (the cheapest cover of the zeros)
    or "auto" (a regular PPS inferred from the zeros, else an error)."""
    p = node.attrs.get("pps", "any")
    if p in ("auto", "any"):
        return p
    return PPS.dense() if p == "dense" else PPS.from_json(p)


def batch_divisors(batch: int) -> list[int]:
    """The images per program a layer of a network batch of `batch` may use: the divisors, largest first."""
    return [b for b in range(batch, 0, -1) if batch % b == 0]


class NetProgram:
    def __init__(self, qnet, cfg: ArrayConfig | None = None, batch: int = 1):
        self.qnet = qnet
        self.cfg = cfg if cfg is not None else load_config()
        if not isinstance(batch, int) or isinstance(batch, bool) or not 1 <= batch <= self.cfg.ACC_DEPTH:
            raise ValueError(f"{qnet.name}: batch must be an integer in 1..ACC_DEPTH={self.cfg.ACC_DEPTH}, "
                             f"got {batch!r}")
        self.batch = batch
        self.stages: list[Stage] = []
        shapes = {"input": tuple(qnet.input_shape)}
        for node in qnet.nodes:
            shp = shapes[node.inputs[0]]
            a = node.attrs
            if node.op == "conv":
                st = self._conv_stage(node, shp)
            elif node.op in ("maxpool", "avgpool"):
                k, s, p = a.get("k", 2), a.get("stride", 2), a.get("padding", 0)
                st = Stage(node.op, node.name, node.inputs, node.out, shp,
                           (shp[0], pool_out(shp[1], k, s, p), pool_out(shp[2], k, s, p)), node)
            elif node.op == "relu":
                st = Stage("relu", node.name, node.inputs, node.out, shp, shp, node)
            elif node.op == "gap":
                st = Stage("gap", node.name, node.inputs, node.out, shp, (shp[0], 1, 1), node)
            elif node.op == "flatten":
                st = Stage("flatten", node.name, node.inputs, node.out, shp, (int(np.prod(shp)), 1, 1), node)
            elif node.op == "add":
                if shapes[node.inputs[1]] != shp:
                    raise ValueError(f"layer {node.name!r}: adds shapes {list(shp)} and {list(shapes[node.inputs[1]])}")
                st = Stage("add", node.name, node.inputs, node.out, shp, shp, node)
            elif node.op == "linear":
                st = Stage("linear", node.name, node.inputs, node.out, shp, (node.arrays["weight"].shape[0],), node)
            else:
                raise ValueError(f"layer {node.name!r}: unknown op {node.op!r}")
            shapes[node.out] = st.out_shape
            st.batch = batch
            self.stages.append(st)

    def _conv_stage(self, node, shp) -> Stage:
        a, w = node.attrs, node.arrays["weight"]
        k = w.shape[2]
        if k == 3:
            prog = self._compile(conv_layer(node), _layer_pps(node), shp)
            return Stage("conv3x3", node.name, node.inputs, node.out, shp, (prog.F, prog.Hout, prog.Wout), node, prog)
        if k == 1 and a["padding"] == 0:
            s = a["stride"]
            out = (w.shape[0], (shp[1] - 1) // s + 1, (shp[2] - 1) // s + 1)
            ch_max = (1 << self.cfg.CH_BITS) - 1
            if max(w.shape[:2]) > ch_max:
                return Stage("conv1x1", node.name, node.inputs, node.out, shp, out, node,
                             note=f"{w.shape[1]} channels x {w.shape[0]} filters: more than the "
                                  f"{self.cfg.CH_BITS}-bit channel registers count ({ch_max})")
            prog = self._compile(centre_layer(node), UNFOLDED_PPS, shp)
            return Stage("conv1x1", node.name, node.inputs, node.out, shp, out, node, prog)
        raise ValueError(f"layer {node.name!r}: a {k}x{k} conv with padding {a['padding']} is neither a 3x3 "
                         "(padding 0 or 1) nor a 1x1 (padding 0) layer")

    def _compile(self, layer: QLayer, pps, shp, batch: int | None = None) -> LayerProgram:
        """The layer compiled for the images per program (a divisor of the network's batch) with the
        fewest predicted cycles per image (ties: the larger batch); `batch` forces one. The error of
        batch 1 when no batch compiles."""
        best, err = None, None
        for b in ([batch] if batch else batch_divisors(self.batch)):
            try:
                prog = compile_layer(layer, self.cfg, pps, H=shp[1], W=shp[2], batch=b)
            except ValueError as e:
                err = e
                continue
            if best is None or prog.cycles["total"] * best.batch < best.cycles["total"] * b:
                best = prog
        if best is None:
            raise err
        return best

    @property
    def array_stages(self) -> list[Stage]:
        return [s for s in self.stages if s.prog is not None]

    def dense_program(self, stage: Stage) -> LayerProgram:
        """The same layer forced to dense mode (P=1), for as many images per program as the stage's:
        the baseline for speedups. A 1x1 layer's dense form is itself (its one position is all there is)."""
        n = stage.node
        if stage.kind == "conv1x1":
            return stage.prog
        return self._compile(conv_layer(n, n.name + "_dense"), PPS.dense(), stage.in_shape, stage.prog.batch)

    @property
    def input_shape(self) -> tuple:
        """What schedule() and run() take: the network's input, with a leading batch axis when batch > 1."""
        one = tuple(self.qnet.input_shape)
        return (self.batch,) + one if self.batch > 1 else one

    # ---- execution ---------------------------------------------------------------------------
    def schedule(self, x: np.ndarray):
        """Generator: yields (stage, program) for every program run of the array stages, receives
        their int8 outputs; returns the dict of all tensors (StopIteration.value), with a leading
        batch axis when batch > 1."""
        x = np.asarray(x)
        if x.dtype != np.int8 or tuple(x.shape) != self.input_shape:
            raise ValueError(f"{self.qnet.name}: input must be int8 {list(self.input_shape)}, "
                             f"got {x.dtype} {list(x.shape)}")
        B = self.batch
        t = {"input": x if B > 1 else x[None]}
        for st in self.stages:
            ins = [t[i] for i in st.inputs]
            if st.prog is not None:
                b = st.prog.batch
                outs = []
                for k in range(0, B, b):
                    chunk = ins[0][k:k + b]
                    y = yield st, st.prog.set_input(chunk if b > 1 else chunk[0])
                    y = np.asarray(y)
                    want = ((b,) if b > 1 else ()) + tuple(st.out_shape)
                    if y.shape != want:
                        raise ValueError(f"layer {st.name!r}: array returned shape {list(y.shape)}, "
                                         f"expected {list(want)}")
                    outs.append(y.astype(np.int8).reshape((b,) + tuple(st.out_shape)))
                t[st.out] = np.concatenate(outs)
            else:
                t[st.out] = np.stack([host_op(st, [v[k] for v in ins]) for k in range(B)])
        return t if B > 1 else {k: v[0] for k, v in t.items()}

    def run(self, x: np.ndarray, array_fn=None) -> dict:
        """Run one image (a batch [B, ...] when batch > 1); array_fn(stage, prog) -> int8 output
        (default: the functional model)."""
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
        per = [(s.name, storage_report(s.prog.F, *_stored_shape(s.prog), b=b, pmax=self.cfg.PMAX,
                                       kernel=1 if s.kind == "conv1x1" else 3))
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


def _host_pool(is_max: bool, x: np.ndarray, k: int, s: int, p: int, include_pad: bool) -> np.ndarray:
    """k x k max or mean pool over a padded copy: the k*k window offsets as strided views."""
    C, H, W = x.shape
    Ho, Wo = pool_out(H, k, s, p), pool_out(W, k, s, p)
    fill = -128 if is_max else 0
    xp = np.full((C, H + 2 * p + k, W + 2 * p + k), fill, np.int64)
    xp[:, p:p + H, p:p + W] = x
    inb = np.zeros(xp.shape[1:], np.int64)
    inb[p:p + H, p:p + W] = 1
    views = [(xp[:, dy:dy + (Ho - 1) * s + 1:s, dx:dx + (Wo - 1) * s + 1:s],
              inb[dy:dy + (Ho - 1) * s + 1:s, dx:dx + (Wo - 1) * s + 1:s]) for dy in range(k) for dx in range(k)]
    if is_max:
        return np.max([v for v, _ in views], axis=0).astype(np.int8)
    total = np.sum([v for v, _ in views], axis=0)
    n = np.full((Ho, Wo), k * k, np.int64) if include_pad else np.sum([m for _, m in views], axis=0)
    q = total // n
    twice_r = 2 * (total - q * n)
    return (q + ((twice_r > n) | ((twice_r == n) & (q & 1 == 1)))).astype(np.int8)


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
    if st.kind in ("maxpool", "avgpool"):
        return _host_pool(st.kind == "maxpool", ins[0], a.get("k", 2), a.get("stride", 2), a.get("padding", 0),
                          bool(a.get("count_include_pad", False)))
    if st.kind == "gap":
        C, H, W = ins[0].shape
        total = ins[0].astype(np.int64).reshape(C, -1).sum(axis=1)
        q = np.floor_divide(total, H * W)
        twice_r = 2 * (total - q * H * W)
        up = (twice_r > H * W) | ((twice_r == H * W) & (q & 1 == 1))
        return (q + up).astype(np.int8).reshape(C, 1, 1)
    if st.kind == "relu":
        return np.where(ins[0] > 0, ins[0], 0).astype(np.int8)
    if st.kind == "flatten":
        return np.ascontiguousarray(ins[0]).reshape(-1, 1, 1)
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
