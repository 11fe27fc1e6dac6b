"""Post-training static quantisation (torch): a trained models.nets.Net -> a QNet (models.qnet),
BatchNorm folded into the convs, per-filter int8 weights, one symmetric scale per activation tensor
calibrated on images, int32 biases and the (M, shift) requantisation of every conv."""
from __future__ import annotations

import torch
from torch import nn

from .fold import fold_bn
from .nets import BasicBlock, ConvBN, Net
from .qnet import Node, QNet
from .quant import (activation_scale, quantize_bias, quantize_classifier, quantize_multiplier, quantize_weights,
                    requant_params)


def _calibrate(model: Net, images: torch.Tensor) -> dict[nn.Module, float]:
    """max |output| of every ConvBN and BasicBlock over `images` (eval mode)."""
    amax: dict[nn.Module, float] = {}
    hooks = []
    for m in model.modules():
        if isinstance(m, (ConvBN, BasicBlock)):
            hooks.append(m.register_forward_hook(
                lambda mod, inp, out: amax.__setitem__(mod, max(amax.get(mod, 0.0), float(out.abs().max())))))
    model.eval()
    try:
        with torch.no_grad():
            for i in range(0, len(images), 256):
                model(images[i:i + 256])
    finally:
        for h in hooks:
            h.remove()
    return amax


def quantize_net(model: Net, calib_images: torch.Tensor, name: str = "net",
                 pps: dict[str, dict] | None = None) -> QNet:
    """Post-training static quantisation of a models.nets.Net (eval mode, BN folded).

    calib_images: float [N, C, H, W] used to choose the activation scales. pps: module name of the
    conv (as in named_modules) -> PPS JSON, recorded per layer as its "pps" attribute; a conv not
    in the dict is recorded "dense". pps=None (not known, e.g. a bare state_dict): every conv is
    recorded "any" and the compiler infers the PPS from the weights' zero pattern (the cheapest
    cover; with no declared PPS there is nothing to reject). The compiler checks the weights
    against a recorded PPS."""
    if not isinstance(model, Net):
        raise ValueError(f"quantize_net: expected a models.nets.Net, got {type(model).__name__}")
    model = model.eval()
    amax = _calibrate(model, calib_images)
    mod_name = {m: n for n, m in model.named_modules()}
    s_in = activation_scale(float(calib_images.abs().max()))
    nodes: list[Node] = []
    scales = {"input": s_in}

    def conv(cb: ConvBN, src: str, s_src: float, s_out: float, label: str) -> str:
        f = fold_bn(cb.conv, cb.bn)
        wq, s_w = quantize_weights(f.weight)
        bias = quantize_bias(f.bias.detach().double().numpy(), s_src, s_w)
        M, sh = requant_params(s_src, s_w, s_out)
        conv_name = mod_name[cb.conv]
        out = f"t{len(nodes)}"
        nodes.append(Node("conv", label, [src], out,
                          {"stride": int(cb.conv.stride[0]), "padding": int(cb.conv.padding[0]),
                           "relu": bool(cb.relu), "module": conv_name,
                           "pps": "any" if pps is None else pps.get(conv_name, "dense")},
                          {"weight": wq, "bias": bias, "M": M, "shift": sh}))
        scales[out] = s_out
        return out

    cur, s_cur = "input", s_in
    n_conv = n_pool = n_block = 0
    for m in model.features:
        if isinstance(m, ConvBN):
            n_conv += 1
            s_o = activation_scale(amax[m])
            cur, s_cur = conv(m, cur, s_cur, s_o, f"conv{n_conv}"), s_o
        elif isinstance(m, nn.MaxPool2d):
            n_pool += 1
            out = f"t{len(nodes)}"
            nodes.append(Node("maxpool", f"pool{n_pool}", [cur], out))
            scales[out] = s_cur
            cur = out
        elif isinstance(m, BasicBlock):
            n_block += 1
            blk = f"block{n_block}"
            s_a, s_b = activation_scale(amax[m.a]), activation_scale(amax[m.b])
            a = conv(m.a, cur, s_cur, s_a, f"{blk}.a")
            b = conv(m.b, a, s_a, s_b, f"{blk}.b")
            if m.short is None:
                sc, s_sc = cur, s_cur
            else:
                s_sc = activation_scale(amax[m.short])
                sc = conv(m.short, cur, s_cur, s_sc, f"{blk}.short")
            s_o = activation_scale(amax[m])
            Ma, sha = quantize_multiplier(s_b / s_o)
            Mb, shb = quantize_multiplier(s_sc / s_o)
            out = f"t{len(nodes)}"
            nodes.append(Node("add", f"{blk}.add", [b, sc], out,
                              {"Ma": int(Ma), "sha": int(sha), "Mb": int(Mb), "shb": int(shb), "relu": True}))
            scales[out] = s_o
            cur, s_cur = out, s_o
        else:
            raise ValueError(f"quantize_net: cannot quantise a {type(m).__name__} in features")
    _, H, W = _shape_after(model, calib_images)
    wq, bias = quantize_classifier(model.fc.weight.detach().double().numpy(),
                                   model.fc.bias.detach().double().numpy(), s_cur, H * W if model.gap else 1)
    nodes.append(Node("linear", "fc", [cur], "logits", {"gap": bool(model.gap)}, {"weight": wq, "bias": bias}))
    return QNet(name, tuple(int(v) for v in calib_images.shape[1:]), s_in, nodes, scales)


def _shape_after(model: Net, images: torch.Tensor) -> tuple[int, int, int]:
    with torch.no_grad():
        return tuple(model.features(images[:1]).shape[1:])
