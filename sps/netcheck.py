"""A user's network (`sps report --net`, `sps demo --net`): its QNet file, its images, and the
second oracle, onnxruntime (sps.onnx_oracle), run beside the integer reference."""
from __future__ import annotations

import zipfile
import zlib
import dataclasses
from pathlib import Path

import numpy as np

from models.qnet import QNet, run_reference
from sps.npyio import load_npy


def load_qnet(path: str) -> QNet:
    """The QNet in `path` (an .npz archive written by `sps import`); ValueError with one line
    otherwise (not found, a .npy array, a truncated or foreign archive)."""
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise ValueError(f"a .npy array {z.dtype} {list(z.shape)}, not an .npz archive")
        z.close()
        return QNet.load(path)
    except FileNotFoundError:
        raise ValueError(f"--net {path}: not found") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(f"--net {path}: not a QNet file from sps import ({first})") from None


def load_images(path: str, qnet: QNet, labels: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """float32 images [N, C, H, W] as the model expects them, and optional integer labels [N]."""
    x = load_npy(path, "--images")
    shape = tuple(qnet.input_shape)
    if x.dtype.kind != "f" or x.ndim != 4 or tuple(x.shape[1:]) != shape or not len(x):
        raise ValueError(f"--images {path}: expected float images [N, {', '.join(map(str, shape))}], "
                         f"got {x.dtype} {list(x.shape)}")
    y = None
    if labels:
        y = load_npy(labels, "--labels")
        if y.dtype.kind not in "iu" or y.shape != (len(x),):
            raise ValueError(f"--labels {labels}: expected integer labels [{len(x)}], got {y.dtype} {list(y.shape)}")
    return x.astype(np.float32), y


def oracle_checks(qnet: QNet, images: np.ndarray, labels, float_model: str | None):
    """oracle(run, net) for sps.commands.report.network_report: onnxruntime per array layer and end
    to end; returns (Markdown lines, report.json entries)."""
    from sps.onnx_oracle import end_to_end, per_layer_agreement, qnet_to_qdq

    def oracle(run, net):
        xq = qnet.quantize_input(images)
        tensors = [run_reference(qnet, x) for x in xq]
        ours = np.array([t["logits"] for t in tensors])
        array_nodes = {st.name for st in net.array_stages}
        per_layer = {k: v for k, v in per_layer_agreement(qnet, tensors).items() if k in array_nodes}
        e2e = end_to_end(qnet, qnet_to_qdq(qnet), images, ours, float_model, labels)
        worst = min((v["exact_fraction"] for v in per_layer.values()), default=1.0)
        maxdiff = max((v["max_abs_diff"] for v in per_layer.values()), default=0)
        lines = ["## Second oracle: onnxruntime", "",
                 f"- every array layer alone as QDQ on the same int8 input ({len(images)} image(s)): worst layer "
                 f"{worst:.4%} of outputs equal, largest difference {maxdiff}",
                 f"- whole network as QDQ (our scales and integer weights): top-1 agreement "
                 f"{e2e['top1_agreement_qdq']:.2%}, mean logits cosine {e2e['logits_cosine_qdq']:.5f}"]
        if "top1_agreement_float" in e2e:
            lines.append(f"- the original float model: top-1 agreement {e2e['top1_agreement_float']:.2%}")
        if "accuracy" in e2e:
            lines.append("- accuracy: " + ", ".join(f"{k} {v:.2%}" for k, v in e2e["accuracy"].items()))
        lines.append("")
        entries = {"onnxruntime": {"per_layer": per_layer, **{k: v for k, v in e2e.items() if k != "accuracy"}}}
        if "accuracy" in e2e:
            entries["accuracy"] = e2e["accuracy"]
        return lines, entries
    return oracle


@dataclasses.dataclass
class UserNet:
    """A user's network and what it runs on: --net, --images (float and int8), --labels, and the
    onnxruntime checks (an oracle for sps.commands.report.network_report; None without images)."""
    qnet: QNet
    images: np.ndarray | None = None
    images_int8: np.ndarray | None = None
    labels: np.ndarray | None = None
    oracle: object = None


def load_user_net(a, need_images: bool, max_images: int | None = None) -> UserNet:
    """--net / --images / --labels / --onnx, every file checked before anything is simulated;
    max_images keeps the first images only."""
    qnet = load_qnet(a.net)
    if not a.images:
        if need_images:
            raise ValueError("--net needs --images X.npy (float32 [N, C, H, W]) to run on the RTL "
                             "(or --cycles model)")
        if a.labels or a.onnx:
            raise ValueError("--labels and --onnx need --images")
        return UserNet(qnet)
    x, y = load_images(a.images, qnet, a.labels)
    if max_images is not None:
        x, y = x[:max_images], None if y is None else y[:max_images]
    if a.onnx:
        check_float_model(a.onnx, qnet, x)
    return UserNet(qnet, x, qnet.quantize_input(x), y, oracle_checks(qnet, x, y, a.onnx))


def check_float_model(path: str, qnet: QNet, images: np.ndarray) -> None:
    """--onnx: the float model opens in onnxruntime, takes the network's input and gives one logit
    per class on the first image; ValueError with one line otherwise. Run before anything is
    simulated."""
    from sps.onnx_oracle import float_model_session, run_batched

    what = f"--onnx {path}"
    if not Path(path).is_file():
        raise ValueError(f"{what}: not found")
    sess = float_model_session(path, qnet.input_shape, what)
    out = next(run_batched(sess, images[:1], what=what))[0]
    K = qnet.nodes[-1].arrays["weight"].shape[0]
    if out.size != K:
        raise ValueError(f"{what}: gives {out.size} values per image; the network has {K} classes")
