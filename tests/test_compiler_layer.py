"""QLayer / input validation: one-line ValueErrors naming the layer and the problem."""
import numpy as np
import pytest

from compiler.layer import QLayer, Requant, check_input


def w(F=3, C=2, dtype=np.int8):
    return np.ones((F, C, 3, 3), dtype)


def test_defaults_and_conversion():
    L = QLayer("a", w(dtype=np.int64), stride=2, padding=0)
    assert L.weight.dtype == np.int8 and L.F == 3 and L.C == 2
    assert L.bias.dtype == np.int32 and (L.bias == 0).all()
    assert L.requant is None and not L.relu
    assert L.out_size(5, 7) == (2, 3)
    L = QLayer("b", w(), np.arange(3), requant=(np.array([1, 2, 3]), np.array([0, 5, 63]), True))
    assert isinstance(L.requant, Requant) and L.requant.M.dtype == np.uint16
    assert L.requant.shift.dtype == np.uint8 and L.relu


@pytest.mark.parametrize("kw, words", [
    (dict(weight=w(dtype=np.float32)), ["'L'", "weight", "dtype float32"]),
    (dict(weight=np.ones((3, 2, 3), np.int8)), ["'L'", "weight", "shape"]),
    (dict(weight=np.ones((3, 2, 1, 1), np.int8)), ["'L'", "shape", "[F, C, 3, 3]"]),
    (dict(weight=np.ones((0, 2, 3, 3), np.int8)), ["'L'", "shape"]),
    (dict(weight=w(dtype=np.int16) * 200), ["'L'", "weight", "-128..127", "200..200"]),
    (dict(weight=[[1]]), ["'L'", "weight", "numpy array"]),
    (dict(bias=np.zeros(4, np.int32)), ["'L'", "bias", "shape [4]", "[3]"]),
    (dict(bias=np.zeros(3, np.float64)), ["'L'", "bias", "dtype float64"]),
    (dict(bias="zeros"), ["'L'", "bias must be a numpy array", "got str"]),
    (dict(bias=np.full(3, 2 ** 31, np.int64)), ["'L'", "bias", "2147483647"]),
    (dict(stride=3), ["'L'", "stride", "3"]),
    (dict(stride=True), ["'L'", "stride"]),
    (dict(padding=2), ["'L'", "padding"]),
    (dict(requant=(np.zeros(3, np.int64), np.zeros(3, np.int64), 1)), ["'L'", "relu"]),
    (dict(requant=(np.full(3, 70000), np.zeros(3, np.int64))), ["'L'", "requant M", "0..65535"]),
    (dict(requant=(np.ones(3, np.int64), np.full(3, 64))), ["'L'", "requant shift", "0..63"]),
    (dict(requant=(np.ones(2, np.int64), np.ones(3, np.int64))), ["'L'", "requant M", "shape"]),
    (dict(requant=(np.ones(3, np.float32), np.ones(3, np.int64))), ["'L'", "requant M", "dtype"]),
    (dict(requant="x"), ["'L'", "requant"]),
    (dict(requant=(np.ones(3, np.int64), 2.5)), ["'L'", "requant shift must be a numpy array", "got float"]),
])
def test_errors(kw, words):
    args = dict(name="L", weight=w())
    args.update(kw)
    with pytest.raises(ValueError) as e:
        QLayer(**args)
    msg = str(e.value)
    assert "\n" not in msg
    for word in words:
        assert word in msg, msg


def test_name_required():
    with pytest.raises(ValueError, match="name"):
        QLayer("", w())


def test_input_checks():
    L = QLayer("net.conv1", w(), padding=0)
    x = np.zeros((2, 4, 5), np.int16)
    assert check_input(x, L).dtype == np.int8
    for bad, word in [(np.zeros((3, 4, 5), np.int8), "shape"), (np.zeros((2, 4), np.int8), "shape"),
                      (np.zeros((2, 4, 5), np.float32), "dtype"), (np.full((2, 4, 5), 300), "-128..127"),
                      (np.zeros((2, 2, 5), np.int8), "smaller than the 3x3 kernel"), ([1, 2], "numpy")]:
        with pytest.raises(ValueError) as e:
            L.check_input(bad)
        assert "'net.conv1'" in str(e.value) and word in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ValueError, match="H"):
        L.out_size(0, 4)
