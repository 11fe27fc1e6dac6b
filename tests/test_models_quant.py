"""models.quant: BN folding, int8 quantisation, fixed-point multipliers, bit-exact requantisation."""
import numpy as np
import pytest
import torch
from torch import nn

from models.pps import PPS
from models.fold import fold_bn, fold_bn_model
from models.quant import (calibrate_activation_scale, quantize_activation,
                          quantize_bias, quantize_multiplier, quantize_weights, requant_params,
                          requantize)
from models.reference import conv2d_int


# ---- requantize: the ARCHITECTURE.md section 6 rule ---------------------------------------------

def spec_requant(acc, bias, M, sh, relu):
    """Section 6 written with Python integers, one value at a time."""
    v = (acc + bias + 2**31) % 2**32 - 2**31
    t = v * M
    if sh > 0:
        t = (t + 2**(sh - 1)) >> sh
    if relu:
        t = max(t, 0)
    return min(max(t, -128), 127)


@pytest.mark.parametrize("acc,expect", [(5, 3), (-5, -2), (3, 2), (-3, -1), (1, 1), (-1, 0),
                                        (7, 4), (-7, -3), (4, 2), (-4, -2)])
def test_requantize_ties_round_up(acc, expect):
    # M/2**sh = 1/2: x.5 rounds towards +infinity, both signs (2.5 -> 3, -2.5 -> -2)
    out = requantize(np.array([acc], np.int32), np.array([0], np.int32), np.array([1], np.uint16),
                     np.array([1], np.uint8), relu=False)
    assert out.dtype == np.int8 and out[0] == expect == spec_requant(acc, 0, 1, 1, False)


def test_requantize_quarter_steps():
    acc = np.array([[-7, -6, -5, 5, 6, 7]], np.int32)          # /4: -1.75 -1.5 -1.25 1.25 1.5 1.75
    out = requantize(acc, 0, 1, 2, relu=False)
    np.testing.assert_array_equal(out, [[-2, -1, -1, 1, 2, 2]])


def test_requantize_shift_zero_is_plain_product():
    acc = np.array([[-3, 0, 2, 40, 63, 64]], np.int32)
    out = requantize(acc, np.array([1], np.int32), np.array([2], np.uint16), np.array([0], np.uint8),
                     relu=False)
    np.testing.assert_array_equal(out, [[-4, 2, 6, 82, 127, 127]])


def test_requantize_relu_and_saturation():
    acc = np.array([[-10**6, -300, -129, -1, 0, 1, 127, 128, 10**6]], np.int32)
    np.testing.assert_array_equal(requantize(acc, 0, 1, 0, relu=False),
                                  [[-128, -128, -128, -1, 0, 1, 127, 127, 127]])
    np.testing.assert_array_equal(requantize(acc, 0, 1, 0, relu=True),
                                  [[0, 0, 0, 0, 0, 1, 127, 127, 127]])


def test_requantize_int32_wrap_of_acc_plus_bias():
    acc = np.array([2**31 - 1, -(2**31)], np.int32)
    bias = np.array([1, -1], np.int32)          # wraps to -2**31 and to 2**31 - 1
    out = requantize(acc, bias, np.array([1, 1], np.uint16), np.array([31, 31], np.uint8), relu=False)
    # -2**31 / 2**31 = -1 exactly; (2**31 - 1 + 2**30) >> 31 = 1
    np.testing.assert_array_equal(out, [-1, 1])
    assert [spec_requant(2**31 - 1, 1, 1, 31, False), spec_requant(-(2**31), -1, 1, 31, False)] == [-1, 1]


def test_requantize_matches_spec_exhaustively_random():
    rng = np.random.default_rng(0)
    F, n = 64, 200
    acc = rng.integers(-(2**31), 2**31, size=(F, n), dtype=np.int64)
    acc[:, :4] = [-(2**31), 2**31 - 1, 0, -1]
    acc = acc.astype(np.int32)
    bias = rng.integers(-(2**31), 2**31, size=F, dtype=np.int64).astype(np.int32)
    M = rng.integers(0, 2**16, size=F).astype(np.uint16)
    M[:2] = [65535, 32768]
    sh = np.arange(F).astype(np.uint8)                          # every shift 0..63
    for relu in (False, True):
        out = requantize(acc, bias, M, sh, relu)
        ref = [[spec_requant(int(acc[f, i]), int(bias[f]), int(M[f]), int(sh[f]), relu)
                for i in range(n)] for f in range(F)]
        np.testing.assert_array_equal(out, np.array(ref))


def test_requantize_small_values_near_the_rounding_point():
    # values chosen so that t / 2**sh lands in -130..130 for shifts 1..40, including exact ties
    rng = np.random.default_rng(1)
    for sh in (1, 2, 15, 16, 24, 40):
        M = 40000
        t_target = rng.integers(-130 * 2**sh, 130 * 2**sh, size=300)
        acc = np.clip(t_target // M, -(2**31), 2**31 - 1).astype(np.int32)
        out = requantize(acc[None], 7, M, sh, False)[0]
        np.testing.assert_array_equal(out, [spec_requant(int(a), 7, M, sh, False) for a in acc])


def test_requantize_extreme_shift_63():
    acc = np.array([[-(2**31), 2**31 - 1, 0]], np.int32)
    out = requantize(acc, np.array([-(2**31)], np.int32), np.array([65535], np.uint16),
                     np.array([63], np.uint8), relu=False)
    np.testing.assert_array_equal(out, [[spec_requant(int(a), -(2**31), 65535, 63, False)
                                         for a in acc[0]]])


def test_requantize_per_filter_broadcast_and_axis():
    rng = np.random.default_rng(2)
    acc = rng.integers(-5000, 5000, size=(3, 4, 2, 5), dtype=np.int32)     # [N, F, H, W]
    bias = np.array([1, -2, 3, -4], np.int32)
    M = np.array([33000, 40000, 50000, 65000], np.uint16)
    sh = np.array([17, 18, 19, 20], np.uint8)
    out = requantize(acc, bias, M, sh, relu=True, axis=1)
    for n in range(3):
        np.testing.assert_array_equal(out[n], requantize(acc[n], bias, M, sh, relu=True))
    for f in range(4):
        np.testing.assert_array_equal(out[:, f], requantize(acc[:, f][None], bias[f:f + 1],
                                                            M[f:f + 1], sh[f:f + 1], True)[0])
    # None bias is zero bias
    np.testing.assert_array_equal(requantize(acc[0], None, M, sh, False),
                                  requantize(acc[0], np.zeros(4, np.int32), M, sh, False))


@pytest.mark.parametrize("kwargs,match", [
    (dict(acc=np.zeros((2, 3), np.float32)), "acc must be integers"),
    (dict(acc=np.array([[2**31, 0, 0], [0, 0, 0]], np.int64)), "acc values must fit in int32"),
    (dict(acc=np.int32(5)), "acc must have a filter axis"),
    (dict(M=np.array([1, 65536])), r"M must be in 0\.\.65535"),
    (dict(M=np.array([1.0, 2.0])), "M must be integers"),
    (dict(shift=np.array([0, 64])), r"shift must be in 0\.\.63"),
    (dict(shift=np.array([0, 1, 2])), r"shift must be a scalar or \[2\]"),
    (dict(bias=np.array([2**31, 0])), "bias must be in"),
    (dict(axis=2), "axis 2 out of range"),
])
def test_requantize_errors(kwargs, match):
    args = dict(acc=np.zeros((2, 3), np.int32), bias=np.zeros(2, np.int32),
                M=np.ones(2, np.uint16), shift=np.zeros(2, np.uint8), relu=False)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        requantize(**args)


# ---- quantize_multiplier -------------------------------------------------------------------------

def test_multiplier_accuracy_and_range():
    rng = np.random.default_rng(3)
    scales = 2.0 ** rng.uniform(-47, 15.999, size=2000)
    M, sh = quantize_multiplier(scales)
    assert M.dtype == np.uint16 and sh.dtype == np.uint8 and M.shape == sh.shape == scales.shape
    assert np.all(M >= 2**15) and np.all(sh <= 63)
    approx = M.astype(np.float64) / 2.0 ** sh.astype(np.float64)
    assert np.max(np.abs(approx / scales - 1)) < 2**-15


@pytest.mark.parametrize("r,M,sh", [(1.0, 32768, 15), (0.5, 32768, 16), (2.0**15, 32768, 0),
                                    (0.75, 49152, 16), (65535.9, 65535, 0), (65535.0, 65535, 0),
                                    (2.0**-48, 32768, 63), (2.0**-50, 8192, 63)])
def test_multiplier_known_values(r, M, sh):
    m, s = quantize_multiplier(r)
    assert (m, s) == (M, sh) and isinstance(m, int) and isinstance(s, int)


def test_multiplier_mantissa_rounding_up_renormalises():
    r = (2**16 - 0.25) / 2**20            # r * 2**20 = 65535.75 rounds to 65536
    m, s = quantize_multiplier(r)
    assert (m, s) == (32768, 19)
    assert abs(m / 2**s / r - 1) < 2**-15


@pytest.mark.parametrize("r", [0.0, -1.0, 2.0**16, 1e6, float("nan"), float("inf"), 2.0**-70])
def test_multiplier_errors(r):
    with pytest.raises(ValueError, match="requant scale"):
        quantize_multiplier(r)
    with pytest.raises(ValueError, match="requant scale"):
        quantize_multiplier(np.array([1.0, r]))


def test_requant_params_round_trip_through_requantize():
    s_in, s_w, s_out = 0.02, np.array([0.003, 0.01]), 0.05
    M, sh = requant_params(s_in, s_w, s_out)
    acc = np.array([[1000, -1000], [300, -300]], np.int32)
    out = requantize(acc, None, M, sh, relu=False)
    expect = np.rint(acc * (s_in * s_w / s_out)[:, None])
    np.testing.assert_array_equal(out, expect)
    with pytest.raises(ValueError, match="output scale must be"):
        requant_params(s_in, s_w, 0.0)
    with pytest.raises(ValueError, match="input scale must be"):
        requant_params(-1.0, s_w, s_out)


# ---- weights, activations, bias ------------------------------------------------------------------

def test_quantize_weights_keeps_zeros_and_scales_per_filter():
    rng = np.random.default_rng(4)
    w = rng.normal(size=(6, 5, 3, 3)) * np.array([1, 10, 0.01, 3, 1, 1])[:, None, None, None]
    w[rng.random(w.shape) < 0.5] = 0.0
    w[4] = 0.0                                  # an all-zero filter
    w[5, 0, 0, 0] = -0.0
    wt = torch.from_numpy(w).float()
    w = wt.double().numpy()                     # compare against what was quantised
    q, s = quantize_weights(wt)
    assert q.dtype == np.int8 and s.dtype == np.float64 and s.shape == (6,)
    assert np.all(q[w == 0] == 0)               # pruned weights stay pruned
    big = np.abs(w) > 0.5 * s[:, None, None, None] * (1 + 1e-9)
    assert np.all(q[big] != 0)                  # only weights below half a step round to zero
    assert s[4] == 1.0 and np.all(q[4] == 0)
    for f in (0, 1, 2, 3, 5):
        assert np.abs(q[f]).max() == 127
        assert s[f] == pytest.approx(np.abs(w[f]).max() / 127, rel=1e-6)
        assert np.max(np.abs(q[f] * s[f] - w[f])) <= s[f] / 2 * (1 + 1e-6)
    assert q.min() >= -127


def test_quantize_weights_round_half_even():
    w = np.array([[127.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5]])    # scale exactly 1
    q, s = quantize_weights(w)
    assert s[0] == 1.0
    np.testing.assert_array_equal(q[0], [127, 0, 2, 2, 0, -2, -2, 126])


def test_quantize_weights_errors():
    with pytest.raises(ValueError, match="NaN"):
        quantize_weights(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="leading output-channel axis"):
        quantize_weights(np.float64(1.0))
    with pytest.raises(ValueError, match="tensor or array"):
        quantize_weights("w")
    with pytest.raises(ValueError, match="weights must be real numbers, got dtype bool"):
        quantize_weights(np.ones((2, 9), bool))
    with pytest.raises(ValueError, match="weights must be real numbers, got dtype complex128"):
        quantize_weights(np.ones((2, 9), complex))
    q, s = quantize_weights(np.ones((2, 9), np.int16) * 3)          # integers are real numbers
    assert np.all(q == 127) and np.all(s == 3 / 127)


def test_calibrate_activation_scale():
    a = torch.tensor([[-3.0, 1.0], [2.0, 0.5]])
    assert calibrate_activation_scale(a) == pytest.approx(3.0 / 127)
    batches = [np.array([0.1, -0.2]), torch.tensor([5.0, -1.0]), np.zeros(0)]
    assert calibrate_activation_scale(batches) == pytest.approx(5.0 / 127)
    assert calibrate_activation_scale(iter(batches)) == pytest.approx(5.0 / 127)
    vals = np.arange(1, 101, dtype=np.float64)
    assert calibrate_activation_scale([vals[:50], -vals[50:]], percentile=50) == \
        pytest.approx(np.percentile(vals, 50) / 127)
    assert calibrate_activation_scale(np.zeros(4)) == 1.0
    with pytest.raises(ValueError, match="no calibration tensors"):
        calibrate_activation_scale([])
    with pytest.raises(ValueError, match="percentile must be in"):
        calibrate_activation_scale(a, percentile=0)
    with pytest.raises(ValueError, match="calibration item 1 is a float"):
        calibrate_activation_scale([a, 1.0])
    with pytest.raises(ValueError, match="expected a tensor"):
        calibrate_activation_scale(3.0)


def test_quantize_activation():
    x = torch.tensor([0.5, 1.5, 2.5, -0.5, -2.5, 300.0, -300.0, 127.4, -128.4])
    q = quantize_activation(x, 1.0)
    assert q.dtype == np.int8
    np.testing.assert_array_equal(q, [0, 2, 2, 0, -2, 127, -128, 127, -128])
    np.testing.assert_array_equal(quantize_activation(np.array([1.0, -1.0]), 0.25), [4, -4])
    for bad in (0.0, -1.0, float("nan"), "1"):
        with pytest.raises(ValueError, match="activation scale must be"):
            quantize_activation(x, bad)


def test_quantize_bias():
    b = np.array([1.0, -2.0, 0.0, 0.3125])
    q = quantize_bias(b, 0.5, np.array([0.01, 0.02, 1.0, 0.25]))
    assert q.dtype == np.int32
    np.testing.assert_array_equal(q, [200, -200, 0, 2])        # 2.5 -> 2 (half even)
    np.testing.assert_array_equal(quantize_bias(None, 0.5, np.ones(3)), [0, 0, 0])
    with pytest.raises(OverflowError, match="filter 1"):
        quantize_bias(np.array([1.0, 1e9]), 1e-2, np.array([1.0, 1e-2]))
    q = quantize_bias(np.array([1.0, 1e9, -1e9]), 1e-2, np.array([1.0, 1e-2, 1e-2]), clamp=True)
    np.testing.assert_array_equal(q, [100, 2**31 - 1, -(2**31)])
    with pytest.raises(ValueError, match="input scale"):
        quantize_bias(b, 0.0, np.ones(4))
    with pytest.raises(ValueError, match="weight scale must be a scalar or"):
        quantize_bias(b, 1.0, np.ones(3))
    with pytest.raises(ValueError, match="weight scales must be > 0"):
        quantize_bias(b, 1.0, np.array([1.0, 0.0, 1.0, 1.0]))
    # bias None means zeros, but only per-filter scales say how many filters there are
    with pytest.raises(ValueError, match="bias None needs per-filter weight scales"):
        quantize_bias(None, 0.5, 0.25)
    np.testing.assert_array_equal(quantize_bias(b, 0.5, 0.25), [8, -16, 0, 2])  # a scalar s_w is fine
    with pytest.raises(ValueError, match=r"bias must be 1-D \[F\], got shape \(2, 2\)"):
        quantize_bias(b.reshape(2, 2), 0.5, 0.25)


# ---- BN folding ----------------------------------------------------------------------------------

def random_bn(F, affine=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    bn = nn.BatchNorm2d(F, affine=affine)
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(F, generator=g))
        bn.running_var.copy_(torch.rand(F, generator=g) + 0.1)
        if affine:
            bn.weight.copy_(torch.randn(F, generator=g))
            bn.bias.copy_(torch.randn(F, generator=g))
    return bn.eval()


@pytest.mark.parametrize("conv_bias,affine,stride,padding", [(False, True, 1, 1), (True, True, 2, 0),
                                                              (True, False, 1, 0)])
def test_fold_bn_matches_module(conv_bias, affine, stride, padding):
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, 3, stride=stride, padding=padding, bias=conv_bias)
    with torch.no_grad():
        conv.weight[:, :, 0, 0] = 0.0                 # pruned weights must stay pruned
    bn = random_bn(6, affine)
    folded = fold_bn(conv, bn)
    x = torch.randn(2, 4, 9, 7)
    torch.testing.assert_close(folded(x), bn(conv(x)), rtol=1e-5, atol=1e-5)
    assert folded.bias is not None and (folded.stride, folded.padding) == (conv.stride, conv.padding)
    assert torch.all(folded.weight[:, :, 0, 0] == 0)
    assert (conv.bias is not None) == conv_bias and torch.any(conv.weight != folded.weight)


def test_fold_bn_errors():
    conv = nn.Conv2d(2, 3, 3)
    with pytest.raises(ValueError, match="4 features, conv has 3 output channels"):
        fold_bn(conv, nn.BatchNorm2d(4))
    with pytest.raises(ValueError, match="no running statistics"):
        fold_bn(conv, nn.BatchNorm2d(3, track_running_stats=False))
    with pytest.raises(ValueError, match="conv must be nn.Conv2d"):
        fold_bn(nn.Linear(2, 3), nn.BatchNorm2d(3))
    with pytest.raises(ValueError, match="bn must be nn.BatchNorm2d, got BatchNorm1d"):
        fold_bn(conv, nn.BatchNorm1d(3))


def test_fold_bn_model_sequential_and_pairs():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), random_bn(4, seed=1), nn.ReLU(),
                          nn.Sequential(nn.Conv2d(4, 5, 1), random_bn(5, seed=2)),
                          nn.Conv2d(5, 2, 3)).eval()
    x = torch.randn(2, 3, 8, 8)
    folded = fold_bn_model(model)
    torch.testing.assert_close(folded(x), model(x), rtol=1e-5, atol=1e-5)
    assert isinstance(folded[1], nn.Identity) and isinstance(folded[3][1], nn.Identity)
    assert isinstance(model[1], nn.BatchNorm2d)            # the original is not modified

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(3, 4, 3, padding=1), random_bn(4, seed=3)

        def forward(self, x):
            return torch.relu(self.bn1(self.conv1(x))) + 1

    blk = Block().eval()
    fb = fold_bn_model(blk, pairs=[("conv1", "bn1")])
    torch.testing.assert_close(fb(x), blk(x), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="no module named 'conv9'"):
        fold_bn_model(blk, pairs=[("conv9", "bn1")])


# ---- the whole int8 path against float -----------------------------------------------------------

def test_int8_pipeline_approximates_float_conv():
    torch.manual_seed(2)
    conv = nn.Conv2d(8, 6, 3, padding=1)
    with torch.no_grad():
        conv.weight.mul_(torch.from_numpy(PPS.ps(4).kernel_mask(6, 8)).float())
    x = torch.randn(8, 10, 10)
    y = torch.relu(conv(x[None])[0]).detach()
    s_x, s_y = calibrate_activation_scale(x), calibrate_activation_scale(y)
    wq, s_w = quantize_weights(conv.weight)
    assert np.all((wq != 0) <= PPS.ps(4).kernel_mask(6, 8))
    bq = quantize_bias(conv.bias, s_x, s_w)
    acc = conv2d_int(quantize_activation(x, s_x), wq, bq, stride=1, padding=1)
    M, sh = requant_params(s_x, s_w, s_y)
    yq = requantize(acc, None, M, sh, relu=True)
    err = np.abs(yq * s_y - y.numpy())
    assert err.max() < 1.5 * s_y                 # within about one output step everywhere
    assert err.mean() < 0.5 * s_y
