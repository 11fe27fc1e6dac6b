"""Small CNNs that differ from each other and from the project's own networks, exported from
PyTorch to ONNX by the tests (nothing stored): the zoo `sps import` is tried on."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.pps import PPS


def _cbr(c_in, c_out, k=3, s=1, p=1, relu=True):
    layers = [nn.Conv2d(c_in, c_out, k, s, p), nn.BatchNorm2d(c_out)]
    return nn.Sequential(*layers, nn.ReLU()) if relu else nn.Sequential(*layers)


class ResStride2(nn.Module):
    """Residual block with a stride-2 1x1 projection shortcut, GAP, Linear (3x12x12)."""
    shape = (3, 12, 12)

    def __init__(self):
        super().__init__()
        self.stem = _cbr(3, 8)
        self.a, self.b = _cbr(8, 16, s=2), _cbr(16, 16, relu=False)
        self.short = _cbr(8, 16, k=1, s=2, p=0, relu=False)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)
        y = torch.relu(self.b(self.a(x)) + self.short(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))


class NonSquare(nn.Module):
    """Non-square 1x10x14 input, C of 1, 5, 13, max pool, flatten + Gemm."""
    shape = (1, 10, 14)

    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 5, 3, padding=1), nn.Conv2d(5, 13, 3, stride=2, padding=1)
        self.fc = nn.Linear(13 * 3 * 4, 4)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.c1(x)), 2)
        return self.fc(torch.flatten(torch.relu(self.c2(x)), 1))


class OddPad0(nn.Module):
    """A 3x3 conv with pads 0, F of 7 and 17, average pool, global average pool (3x11x9)."""
    shape = (3, 11, 9)

    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(3, 7, 3, padding=0), nn.Conv2d(7, 17, 3, padding=1)
        self.fc = nn.Linear(17, 6)

    def forward(self, x):
        x = nn.functional.avg_pool2d(torch.relu(self.c2(torch.relu(self.c1(x)))), 2)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class OneByOne(nn.Module):
    """1x1-heavy: 1x1 convs at stride 1 and 2, a ResNet-stem max pool (3x3, stride 2, pad 1) and
    a two-layer classifier (the inner Linear runs on the array as a 1x1 conv) (5x8x8)."""
    shape = (5, 8, 8)

    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(5, 16, 1), nn.Conv2d(16, 16, 3, padding=1)
        self.c3, self.c4 = nn.Conv2d(16, 24, 1, stride=2), nn.Conv2d(24, 8, 1)
        self.fc1, self.fc2 = nn.Linear(8 * 2 * 2, 10), nn.Linear(10, 3)

    def forward(self, x):
        x = torch.relu(self.c2(torch.relu(self.c1(x))))
        x = torch.relu(self.c4(torch.relu(self.c3(x))))
        x = nn.functional.max_pool2d(x, 3, 2, 1)
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))


class AllConvView(nn.Module):
    """No pooling but a 3x3 average pool at stride 1; stride-2 convs with pads 1 and 0, a 1x1 conv,
    `x.reshape(x.shape[0], -1)` (a Shape / Gather / Concat / Reshape chain in the export) and a
    bias-free classifier (MatMul) (2x13x17)."""
    shape = (2, 13, 17)

    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(nn.Conv2d(2, 9, 3, 1, 1), nn.BatchNorm2d(9), nn.ReLU(),
                               nn.Conv2d(9, 11, 3, 2, 1), nn.ReLU(), nn.Conv2d(11, 6, 1), nn.ReLU(),
                               nn.AvgPool2d(3, 1, 1), nn.Conv2d(6, 12, 3, 2, 0), nn.ReLU())
        self.head = nn.Linear(12 * 3 * 4, 5, bias=False)

    def forward(self, x):
        return self.head(self.f(x).reshape(x.shape[0], -1))


class _Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a, self.bn, self.b = nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c), nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, x):
        return torch.relu(x + self.b(torch.relu(self.bn(self.a(x)))))


class ResMLPHead(nn.Module):
    """A pads-0 stride-2 stem, identity residual blocks, a stride-2 1x1 conv, average pooling, a
    mean over H and W (ReduceMean) feeding a two-layer classifier: the pooled vector is an int8
    tensor read by an inner dense layer on the array (3x23x19)."""
    shape = (3, 23, 19)

    def __init__(self):
        super().__init__()
        self.stem, self.b1, self.down = nn.Conv2d(3, 10, 3, 2, 0), _Block(10), nn.Conv2d(10, 20, 1, 2)
        self.b2, self.fc1, self.fc2 = _Block(20), nn.Linear(20, 16), nn.Linear(16, 7)

    def forward(self, x):
        x = self.b1(torch.relu(self.stem(x)))
        x = self.b2(nn.functional.avg_pool2d(torch.relu(self.down(x)), 2, 2))
        return self.fc2(torch.relu(self.fc1(x.mean((2, 3)))))


class PPSTrained(ResStride2):
    """ResStride2 with its 3x3 convs (but the stem) masked to PS-4/P4, as masked training leaves
    them: `--pps auto` must find the PPS in the weights."""

    def __init__(self):
        super().__init__()
        with torch.no_grad():
            for conv in (self.a[0], self.b[0]):
                mask = PPS.ps(4).kernel_mask(*conv.weight.shape[:2])
                conv.weight.mul_(torch.from_numpy(mask).float())


ZOO = {"res_stride2": ResStride2, "nonsquare": NonSquare, "odd_pad0": OddPad0, "one_by_one": OneByOne,
       "allconv_view": AllConvView, "res_mlp_head": ResMLPHead, "pps_trained": PPSTrained}


def build(name: str, seed: int = 0) -> nn.Module:
    """The zoo model `name`, random weights and BN statistics of seed `seed`, in eval mode."""
    torch.manual_seed(seed)
    m = ZOO[name]()
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.3, 0.3)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
    return m.eval()


def images(shape, n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, *shape)).astype(np.float32)


def export(model: nn.Module, shape, path: Path, fold_bn: bool = True, opset: int = 17, batch: int | None = None) -> Path:
    """torch.onnx.export (TorchScript exporter), batch dimension free (or fixed to `batch`);
    fold_bn=False keeps BatchNormalization as a node."""
    dynamic = {"input": {0: "N"}} if batch is None else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(batch or 1, *shape), str(path), dynamo=False, opset_version=opset,
                          input_names=["input"], output_names=["logits"], dynamic_axes=dynamic,
                          do_constant_folding=fold_bn)
    return path


def quantize_qdq(float_path: Path, calib: np.ndarray, path: Path, symmetric: bool = True) -> Path:
    """onnxruntime.quantization.quantize_static: QDQ, int8, per-channel weights."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"input": calib[i:i + 1]} for i in range(len(calib))])

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(float_path), str(path), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                    extra_options={"ActivationSymmetric": symmetric, "WeightSymmetric": True})
    return path
