"""models.reference: the integer reference conv/linear against torch in float64 (exact here)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as Fn

from models.reference import conv2d_int, linear_int


def torch_conv(x, w, bias, stride, padding):
    xt = torch.from_numpy(x.astype(np.float64))
    wt = torch.from_numpy(w.astype(np.float64))
    bt = None if bias is None else torch.from_numpy(bias.astype(np.float64))
    batched = x.ndim == 4
    y = Fn.conv2d(xt if batched else xt[None], wt, bt, stride=stride, padding=padding)
    y = y.numpy() if batched else y[0].numpy()
    assert np.all(y == np.round(y))           # float64 is exact for these magnitudes
    return y.astype(np.int64)


def rand_i8(rng, shape):
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


CASES = [  # C, H, W, F, K, stride, padding
    (3, 7, 9, 5, 3, 1, 1),
    (3, 7, 9, 5, 3, 2, 1),
    (5, 8, 6, 7, 3, 1, 0),
    (5, 9, 11, 3, 3, 2, 0),
    (1, 3, 3, 1, 3, 1, 0),      # single output pixel
    (2, 1, 1, 4, 3, 1, 1),      # 1x1 input, padding makes the window
    (11, 5, 5, 13, 1, 1, 0),    # 1x1 kernel
    (11, 5, 6, 13, 1, 2, 1),    # 1x1 kernel, stride 2, padding
    (4, 9, 8, 3, 2, 1, 0),      # even kernel
    (4, 9, 8, 3, 5, 2, 2),      # 5x5 kernel
]


@pytest.mark.parametrize("C,H,W,F,K,s,p", CASES)
@pytest.mark.parametrize("with_bias", [False, True])
def test_conv_matches_torch_random(C, H, W, F, K, s, p, with_bias):
    rng = np.random.default_rng(C * 1000 + H * 100 + W * 10 + F + K + s + p)
    x, w = rand_i8(rng, (C, H, W)), rand_i8(rng, (F, C, K, K))
    b = rng.integers(-2**20, 2**20, size=F, dtype=np.int32) if with_bias else None
    y = conv2d_int(x, w, b, stride=s, padding=p)
    assert y.dtype == np.int32
    assert y.shape == (F, (H + 2 * p - K) // s + 1, (W + 2 * p - K) // s + 1)
    np.testing.assert_array_equal(y, torch_conv(x, w, b, s, p))


@pytest.mark.parametrize("xv,wv", [(-128, -128), (127, 127), (-128, 127), (127, -128)])
@pytest.mark.parametrize("s,p", [(1, 0), (1, 1), (2, 1)])
def test_conv_extreme_values(xv, wv, s, p):
    C, H, W, F = 37, 5, 7, 3
    x = np.full((C, H, W), xv, np.int8)
    w = np.full((F, C, 3, 3), wv, np.int8)
    b = np.array([0, 2**31 - 1 - C * 9 * 128 * 128, -(2**31) + C * 9 * 128 * 128], np.int32)
    y = conv2d_int(x, w, b, stride=s, padding=p)
    np.testing.assert_array_equal(y, torch_conv(x, w, b, s, p))
    if p == 0:  # interior pixels: all C*9 products equal xv*wv
        assert y[0, 0, 0] == C * 9 * xv * wv


def test_conv_batched_equals_per_image():
    rng = np.random.default_rng(7)
    x, w = rand_i8(rng, (3, 4, 7, 5)), rand_i8(rng, (6, 4, 3, 3))
    b = rng.integers(-1000, 1000, size=6, dtype=np.int32)
    y = conv2d_int(x, w, b, stride=2, padding=1)
    assert y.shape == (3, 6, 4, 3)
    np.testing.assert_array_equal(y, torch_conv(x, w, b, 2, 1))
    for n in range(3):
        np.testing.assert_array_equal(y[n], conv2d_int(x[n], w, b, stride=2, padding=1))


def test_conv_accepts_torch_int8_tensors():
    rng = np.random.default_rng(8)
    x, w = rand_i8(rng, (2, 5, 5)), rand_i8(rng, (3, 2, 3, 3))
    np.testing.assert_array_equal(conv2d_int(torch.from_numpy(x), torch.from_numpy(w)),
                                  conv2d_int(x, w))


def test_conv_overflow_names_layer_and_value():
    x = np.full((1, 3, 3), 127, np.int8)
    w = np.full((1, 1, 3, 3), 127, np.int8)
    b = np.array([2**31 - 1 - 9 * 127 * 127 + 1], np.int32)   # one past int32 max
    with pytest.raises(OverflowError, match=r"layer 'conv3'.*2147483648.*f=0"):
        conv2d_int(x, w, b, name="conv3")
    b[0] -= 1                                                  # exactly int32 max: fine
    assert conv2d_int(x, w, b)[0, 0, 0] == 2**31 - 1
    with pytest.raises(OverflowError, match="int32"):
        conv2d_int(-x, w, np.array([-(2**31) + 9 * 127 * 127 - 1], np.int32))


GOOD_X = np.zeros((2, 5, 5), np.int8)
GOOD_W = np.zeros((3, 2, 3, 3), np.int8)


@pytest.mark.parametrize("kwargs,match", [
    (dict(x=GOOD_X.astype(np.int16)), "x dtype must be int8"),
    (dict(x=GOOD_X.astype(np.float32)), "x dtype must be int8"),
    (dict(w=GOOD_W.astype(np.int32)), "w dtype must be int8"),
    (dict(bias=np.zeros(3, np.int64)), "bias dtype must be int32"),
    (dict(x=[[[1]]]), "x must be a numpy array"),
    (dict(x=np.zeros((5, 5), np.int8)), "x must be 3-D or 4-D"),
    (dict(w=np.zeros((3, 2, 3), np.int8)), "w must be 4-D"),
    (dict(bias=np.zeros((3, 1), np.int32)), "bias must be 1-D"),
    (dict(w=np.zeros((3, 4, 3, 3), np.int8)), "channel mismatch: x has 2 channels, w expects 4"),
    (dict(bias=np.zeros(4, np.int32)), "bias has 4 entries, w has 3 filters"),
    (dict(stride=0), "stride must be >= 1"),
    (dict(stride=1.5), "stride must be an integer"),
    (dict(stride=True), "stride must be an integer"),
    (dict(padding=-1), "padding must be >= 0"),
    (dict(x=np.zeros((2, 2, 5), np.int8)), "output size < 1"),
    (dict(x=np.zeros((2, 0, 5), np.int8)), "empty dimension"),
])
def test_conv_errors(kwargs, match):
    args = dict(x=GOOD_X, w=GOOD_W, bias=None, stride=1, padding=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        conv2d_int(args["x"], args["w"], args["bias"], stride=args["stride"],
                   padding=args["padding"])


def test_linear_matches_torch():
    rng = np.random.default_rng(3)
    x, w = rand_i8(rng, (5, 37)), rand_i8(rng, (10, 37))
    b = rng.integers(-10**6, 10**6, size=10, dtype=np.int32)
    y = linear_int(x, w, b)
    ref = Fn.linear(torch.from_numpy(x.astype(np.float64)), torch.from_numpy(w.astype(np.float64)),
                    torch.from_numpy(b.astype(np.float64))).numpy()
    assert y.dtype == np.int32 and y.shape == (5, 10)
    np.testing.assert_array_equal(y, ref.astype(np.int64))
    np.testing.assert_array_equal(linear_int(x[2], w, b), y[2])
    np.testing.assert_array_equal(linear_int(x, w), y - b)


def test_linear_extremes_and_overflow():
    x = np.full((1, 1000), -128, np.int8)
    w = np.full((2, 1000), -128, np.int8)
    assert linear_int(x, w)[0, 0] == 1000 * 128 * 128
    with pytest.raises(OverflowError, match="layer 'fc'"):
        linear_int(x, w, np.array([2**31 - 1, 0], np.int32), name="fc")


@pytest.mark.parametrize("x,w,b,match", [
    (np.zeros((2, 4), np.int16), np.zeros((3, 4), np.int8), None, "x dtype must be int8"),
    (np.zeros((2, 4), np.int8), np.zeros((3, 4), np.uint8), None, "w dtype must be int8"),
    (np.zeros((2, 4), np.int8), np.zeros((3, 4), np.int8), np.zeros(3, np.int8), "bias dtype must be int32"),
    (np.zeros((2, 4, 1), np.int8), np.zeros((3, 4), np.int8), None, "x must be 1-D or 2-D"),
    (np.zeros((2, 4), np.int8), np.zeros((3, 5), np.int8), None, "feature mismatch"),
    (np.zeros((2, 4), np.int8), np.zeros((3, 4), np.int8), np.zeros(2, np.int32), "bias has 2 entries"),
    (np.zeros((2, 4), np.int8), np.zeros((0, 4), np.int8), None, r"empty dimension: w shape \(0, 4\)"),
    (np.zeros((2, 0), np.int8), np.zeros((3, 0), np.int8), None, r"empty dimension: w shape \(3, 0\)"),
    (np.zeros(0, np.int8), np.zeros((3, 0), np.int8), np.zeros(3, np.int32), "empty dimension"),
])
def test_linear_errors(x, w, b, match):
    with pytest.raises(ValueError, match=match):
        linear_int(x, w, b)
