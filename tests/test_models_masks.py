"""models.masks and models.train: PPS masks, projection, pattern choice, masked training."""
import itertools
from typing import NamedTuple

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from models.masks import (MaskSet, apply_masks, assign_pps, best_fit_pps, check_masks, choose_pps,
                          conv_mask, kept_energy, mask_gradients, masks_for, phase_energy,
                          project_model, project_to_pps)
from models.pps import PPS, PPSError
from models.train import evaluate, fit, train_epoch
from tb.env.cases import random_pps


class Net(nn.Module):
    """first conv 3x3, a 1x1, a grouped 3x3, nested 3x3 convs, a 5x5."""

    def __init__(self, classes=3):
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.body = nn.Sequential(nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(6, 6, 1), nn.ReLU(),
                                  nn.Conv2d(6, 6, 3, padding=1, groups=2), nn.ReLU())
        self.block = nn.ModuleDict({"a": nn.Conv2d(6, 8, 3, padding=1, stride=2),
                                    "b": nn.Conv2d(8, 8, 5, padding=2)})
        self.head = nn.Linear(8, classes)

    def forward(self, x):
        x = self.body(self.stem(x))
        x = torch.relu(self.block["b"](torch.relu(self.block["a"](x))))
        return self.head(x.mean(dim=(2, 3)))


# ---- conv_mask / assign_pps ---------------------------------------------------------------------

def hand_mask(patterns, offset, F, C):
    """The phase rule written out: kernel (f, c) keeps exactly PI[(f + c + o) mod P]."""
    P = len(patterns)
    m = torch.zeros(F, C, 9, dtype=torch.bool)
    for f, c in itertools.product(range(F), range(C)):
        for q in patterns[(f + c + offset) % P]:
            m[f, c, q] = True
    return m.reshape(F, C, 3, 3)


class PhaseCase(NamedTuple):
    pps: PPS
    patterns: tuple          # PI, as the case was built
    offset: int              # as given (may be negative or >= P)
    n: int
    psd: bool
    F: int
    C: int


def phase_rule_cases(count=50, seed=42):
    """Random F, C in 1..19 (mostly not multiples of P or of 8), P in 1, 2, 4, 8, PS-n (n in 1, 2, 4)
    or PSD, offsets in -P..3P-1; the patterns from the PPS constructors or drawn at random."""
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        P, n = int(rng.choice([1, 2, 4, 8])), int(rng.choice([1, 2, 4]))
        psd, offset = bool(rng.integers(2)), int(rng.integers(-P, 3 * P))
        F, C = int(rng.integers(1, 20)), int(rng.integers(1, 20))
        dense_phase = int(rng.integers(P))
        if rng.integers(2):                     # the named families
            pps = PPS.psd(n, P, offset, dense_phase) if psd else PPS.ps(n, P, offset)
            patterns = pps.patterns
        else:                                   # any pattern list of those sizes
            patterns = list(random_pps(rng, P, n, offset).patterns)
            if psd:
                patterns[dense_phase] = tuple(range(9))
            pps = PPS(tuple(patterns), offset)
        cases.append(PhaseCase(pps, tuple(patterns), offset, n, psd, F, C))
    return cases


PHASE_CASES = phase_rule_cases()


def test_phase_rule_cases_cover_the_space():
    cs = PHASE_CASES
    assert {c.pps.period for c in cs} == {1, 2, 4, 8} and {c.n for c in cs} == {1, 2, 4}
    assert {c.psd for c in cs} == {False, True}
    assert any(c.offset < 0 for c in cs) and any(c.offset >= c.pps.period for c in cs)
    assert sum(c.F % c.pps.period != 0 and c.C % c.pps.period != 0 for c in cs) >= 10
    assert sum(c.F % 8 != 0 and c.C % 8 != 0 for c in cs) >= 30


@pytest.mark.parametrize("case", PHASE_CASES)
def test_conv_mask_phase_rule(case):
    pps, patterns, offset, n, psd, F, C = case
    # the pattern list has the sizes asked for: n everywhere, one dense phase for PSD
    assert sorted(len(p) for p in patterns) == sorted([n] * (len(patterns) - psd) + [9] * psd)
    expect = hand_mask(patterns, offset, F, C)
    m = conv_mask(nn.Conv2d(C, F, 3), pps)
    assert m.dtype == torch.bool and torch.equal(m, expect)
    # whole-module mask generation: the first conv and the 1x1 convs stay dense, the 3x3 follows
    torch.manual_seed(F * 100 + C)
    net = nn.Sequential(nn.Conv2d(3, C, 3, padding=1), nn.ReLU(), nn.Conv2d(C, C, 1),
                        nn.Conv2d(C, F, 3, padding=1), nn.Conv2d(F, F, 1))
    before = {k: v.detach().clone() for k, v in net.state_dict().items()}
    masks = project_model(net, assign_pps(net, pps), choose=False)
    assert set(masks) == {"3"} and masks.pps == {"3": pps} and torch.equal(masks["3"], expect)
    after = net.state_dict()
    for k in before:
        if k != "3.weight":
            assert torch.equal(after[k], before[k]), k          # dense layers and biases untouched
    assert torch.equal(after["3.weight"], before["3.weight"] * expect)


@pytest.mark.parametrize("mod,match", [(nn.Conv2d(2, 3, 1), r"kernel \(1, 1\)"),
                                       (nn.Conv2d(2, 3, 5), r"kernel \(5, 5\)"),
                                       (nn.Conv2d(4, 4, 3, groups=2), "groups=2"),
                                       (nn.Linear(2, 3), "Linear, PPS masks need nn.Conv2d")])
def test_conv_mask_errors(mod, match):
    with pytest.raises(PPSError, match="layer 'x'.*" + match):
        conv_mask(mod, PPS.ps(4), name="x")


def test_assign_pps_skips_first_1x1_grouped_and_non3x3():
    net = Net()
    a = assign_pps(net, PPS.ps(4))
    assert a == {"body.1": PPS.ps(4), "block.a": PPS.ps(4)}
    assert set(assign_pps(net, PPS.ps(2), skip_first=False)) == {"stem", "body.1", "block.a"}
    # a callable chooses per layer; None keeps the layer dense
    b = assign_pps(net, lambda name, conv: None if conv.stride == (2, 2) else PPS.ps(1, conv.out_channels))
    assert b == {"body.1": PPS.ps(1, 6)}
    with pytest.raises(PPSError, match="layer 'body.1'.*returned str"):
        assign_pps(net, lambda name, conv: "PS-4")
    with pytest.raises(PPSError, match="pps must be a PPS or a callable"):
        assign_pps(net, "PS-4")
    with pytest.raises(PPSError, match="pps must be a PPS, got str"):
        conv_mask(net.stem, "PS-4")


def test_assign_pps_first_conv_is_first_in_module_order_even_if_1x1():
    net = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 4, 3), nn.Conv2d(4, 4, 3))
    assert set(assign_pps(net, PPS.ps(4))) == {"1", "2"}


# ---- projection and pattern choice -------------------------------------------------------------

def test_project_to_pps_keeps_exactly_the_mask():
    w = torch.randn(6, 5, 3, 3)
    pps = PPS.psd(4, period=3, offset=1)
    m = torch.from_numpy(pps.kernel_mask(6, 5))
    p = project_to_pps(w, pps)
    assert torch.equal(p[m], w[m]) and torch.all(p[~m] == 0)
    pn = project_to_pps(w.numpy().astype(np.float64), pps)
    assert isinstance(pn, np.ndarray) and pn.dtype == np.float64
    np.testing.assert_array_equal(pn, p.numpy())
    with pytest.raises(PPSError, match=r"\[F, C, 3, 3\]"):
        project_to_pps(torch.zeros(2, 2, 1, 1), pps)
    with pytest.raises(PPSError, match=r"weight must be \[F, C, 3, 3\], got shape \(2, 2, 1, 1\)"):
        project_to_pps(np.zeros((2, 2, 1, 1)), pps)


@pytest.mark.parametrize("call", [lambda w: phase_energy(w, 4), lambda w: kept_energy(w, PPS.ps(4)),
                                  lambda w: choose_pps(w), lambda w: project_to_pps(w, PPS.ps(4))],
                         ids=["phase_energy", "kept_energy", "choose_pps", "project_to_pps"])
def test_weights_must_be_tensor_or_array(call):
    w = np.arange(36.0).reshape(2, 2, 3, 3)
    call(w)                                           # the same values as an array are accepted
    with pytest.raises(PPSError, match="weight must be a tensor or array, got list"):
        call(w.tolist())


def weights_from(pps, F, C, rng, noise=0.01):
    """Weights that follow `pps` (magnitudes >= 0.5) plus small noise at pruned positions."""
    w = rng.normal(0, noise, size=(F, C, 3, 3))
    big = rng.uniform(0.5, 2.0, size=w.shape) * rng.choice([-1, 1], size=w.shape)
    return np.where(pps.kernel_mask(F, C), big, w)


@pytest.mark.parametrize("n,period,F,C", [(4, 4, 16, 12), (2, 3, 9, 7), (1, 5, 10, 10),
                                          (4, 2, 5, 3), (4, 1, 4, 4)])
def test_choose_pps_recovers_generating_patterns(n, period, F, C):
    rng = np.random.default_rng(n * 100 + period)
    truth = random_pps(rng, period, n)
    w = torch.from_numpy(weights_from(truth, F, C, rng)).float()
    got = choose_pps(w, n=n, period=period)
    assert got.offset == 0 and got.pattern_sizes == (n,) * period
    np.testing.assert_array_equal(got.kernel_mask(F, C), truth.kernel_mask(F, C))
    again = choose_pps(w, n=n, period=period, offset=truth.offset)
    assert again == truth                       # with the true offset: the same description


def test_choose_pps_is_optimal_by_brute_force():
    rng = np.random.default_rng(5)
    w = rng.normal(size=(5, 4, 3, 3))
    cands = [tuple(sorted(rng.choice(9, size=3, replace=False))) for _ in range(8)]
    for period, offset in [(2, 0), (2, 1), (3, 2)]:
        got = choose_pps(w, n=3, period=period, candidates=cands, offset=offset)
        assert got.offset == offset and all(p in cands for p in got.patterns)
        best = max(kept_energy(w, PPS(pats, offset)) for pats in itertools.product(cands, repeat=period))
        assert kept_energy(w, got) == pytest.approx(best, rel=1e-12)
    # without candidates: each phase class keeps its n largest per-position energies
    got = choose_pps(w, n=4, period=3)
    E = phase_energy(w, 3)
    assert kept_energy(w, got) == pytest.approx(sum(np.sort(E[i])[-4:].sum() for i in range(3)))


def test_choose_pps_measure_l1_vs_l2():
    w = np.zeros((2, 1, 3, 3))
    w[0, 0, 0, 0] = 3.0                    # position 0: l1 = 3, l2 = 9
    w[:, 0, 0, 1] = 2.0                    # position 1: l1 = 4, l2 = 8
    assert choose_pps(w, n=1, period=1, measure="l2").patterns == ((0,),)
    assert choose_pps(w, n=1, period=1, measure="l1").patterns == ((1,),)
    assert kept_energy(w, PPS(((0,),)), "l1") == 3.0
    with pytest.raises(ValueError, match="measure must be"):
        choose_pps(w, n=1, period=1, measure="l3")


def test_choose_pps_psd_sizes_follow_offset():
    rng = np.random.default_rng(6)
    truth = PPS.psd(4, period=4, offset=1, dense_phase=0)
    w = weights_from(truth, 8, 8, rng)
    got = choose_pps(w, n=truth.pattern_sizes, period=4, offset=truth.offset)
    assert got == truth


@pytest.mark.parametrize("kwargs,match", [
    (dict(n=(4, 4)), "n gives 2 pattern sizes, period is 4"),
    (dict(n=10), "pattern size must be an integer in 1..9"),
    (dict(period=0), "period must be an integer >= 1"),
    (dict(candidates=[(0, 1)]), "no candidate pattern of size 4"),
    (dict(candidates=[(0, 9, 1, 2)]), "not a set of positions"),
    (dict(offset=0.5), "offset must be an integer"),
])
def test_choose_pps_errors(kwargs, match):
    with pytest.raises(PPSError, match=match):
        choose_pps(np.ones((2, 2, 3, 3)), **kwargs)


def test_choose_pps_rejects_bad_weight_shape():
    with pytest.raises(PPSError, match=r"\[F, C, 3, 3\]"):
        choose_pps(np.ones((2, 2, 1, 1)))


@pytest.mark.parametrize("offset", [0, 1, 2, 3])
def test_best_fit_pps_finds_rotation_of_default_family(offset):
    rng = np.random.default_rng(offset)
    truth = PPS.ps(4, offset=offset)
    w = weights_from(truth, 6, 10, rng)
    assert best_fit_pps(w) == truth
    fam = PPS.ps(2, period=3, offset=0)
    w2 = weights_from(PPS(fam.patterns, 2), 6, 10, rng)
    assert best_fit_pps(w2, family=fam) == PPS(fam.patterns, 2)


# ---- model-level masking -----------------------------------------------------------------------

def test_apply_and_check_masks():
    torch.manual_seed(0)
    net = Net()
    masks = masks_for(net, assign_pps(net, PPS.ps(4)))
    assert isinstance(masks, MaskSet) and set(masks.pps) == set(masks) == {"body.1", "block.a"}
    with pytest.raises(PPSError, match=r"layer 'body.1': filter \d+ channel \d+ has a non-zero"):
        check_masks(net, masks)
    before = net.block["a"].weight.detach().clone()
    apply_masks(net, masks)
    check_masks(net, masks)
    w = net.block["a"].weight.detach()
    m = masks["block.a"]
    assert torch.equal(w[m], before[m]) and torch.all(w[~m] == 0)


@pytest.mark.parametrize("masks,match", [
    ({"nope": torch.ones(1, dtype=torch.bool)}, "no module named 'nope'"),
    ({"body.1": torch.ones(6, 4, 3, dtype=torch.bool)}, "mask shape"),
    ({"body.1": torch.ones(6, 4, 3, 3)}, "must be a bool tensor"),
    ({"body.0": torch.ones(1, dtype=torch.bool)}, "has no weight tensor"),
])
def test_mask_errors(masks, match):
    with pytest.raises(PPSError, match=match):
        apply_masks(Net(), masks)


def test_mask_gradients_zeroes_exactly_the_pruned_gradients():
    torch.manual_seed(1)
    net = Net()
    masks = project_model(net, assign_pps(net, PPS.ps(4)), choose=False)
    x, y = torch.randn(4, 1, 8, 8), torch.tensor([0, 1, 2, 0])
    nn.functional.cross_entropy(net(x), y).backward()
    before = {name: net.get_submodule(name).weight.grad.clone() for name in masks}
    assert all(torch.any(g[~masks[name]] != 0) for name, g in before.items())
    mask_gradients(net, masks)
    for name, m in masks.items():
        g = net.get_submodule(name).weight.grad
        assert torch.all(g[~m] == 0) and torch.equal(g[m], before[name][m])


def test_project_model_choose_and_fixed():
    torch.manual_seed(2)
    net = Net()
    ref = {n: net.get_submodule(n).weight.detach().clone() for n in ("body.1", "block.a")}
    assignment = assign_pps(net, PPS.psd(4, period=4, offset=1))
    masks = project_model(net, assignment, choose=True)
    for name, pps in masks.pps.items():
        assert (pps.period, pps.offset, pps.pattern_sizes) == (4, 1, (9, 4, 4, 4))
        assert kept_energy(ref[name], pps) >= kept_energy(ref[name], assignment[name])
        assert torch.equal(masks[name], torch.from_numpy(pps.kernel_mask(*ref[name].shape[:2])))
        w = net.get_submodule(name).weight.detach()
        assert torch.equal(w, ref[name] * masks[name])
    net2 = Net()
    masks2 = project_model(net2, assign_pps(net2, PPS.ps(2)), choose=False)
    assert masks2.pps == {"body.1": PPS.ps(2), "block.a": PPS.ps(2)}
    check_masks(net2, masks2)


# ---- masked training ---------------------------------------------------------------------------

def synthetic_loader(n=96, seed=0, batch=16):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = 0.3 * torch.randn(n, 1, 8, 8, generator=g)
    for k in range(3):                          # class k: a bright horizontal band at rows 3k..3k+1
        x[y == k, 0, 3 * k:3 * k + 2, :] += 1.5
    return DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True, generator=g)


def mean_loss(net, loader):
    with torch.no_grad():
        net.eval()
        tot = sum(float(nn.functional.cross_entropy(net(x), y, reduction="sum")) for x, y in loader)
        return tot / len(loader.dataset)


def tiny_net():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(8, 8, 3, padding=1, stride=2), nn.ReLU(),
                         nn.Flatten(), nn.Linear(8 * 16, 3))


def test_train_epoch_keeps_masks_and_reduces_loss():
    torch.manual_seed(1)
    net = tiny_net()
    loader = synthetic_loader()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3)
    train_epoch(net, loader, opt, progress=False)                  # dense: momentum builds up
    masks = project_model(net, assign_pps(net, PPS.ps(4)))
    assert set(masks) == {"2", "4"}
    start = mean_loss(net, loader)
    losses = [train_epoch(net, loader, opt, masks=masks, progress=False) for _ in range(2)]
    check_masks(net, masks)                                          # exactly zero, every layer
    for name, m in masks.items():
        assert torch.all(net.get_submodule(name).weight[~m] == 0)
    end = mean_loss(net, loader)
    assert end < 0.8 * start and losses[1] < losses[0]
    assert evaluate(net, loader, progress=False) > 0.8              # 3 classes, easy task


def test_train_epoch_on_an_empty_loader_is_an_error():
    torch.manual_seed(3)
    net = tiny_net()
    before = [p.detach().clone() for p in net.parameters()]
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)
    empty = DataLoader(TensorDataset(torch.zeros(0, 1, 8, 8), torch.zeros(0, dtype=torch.long)),
                       batch_size=4)
    with pytest.raises(ValueError, match="train_epoch: the loader yielded no samples"):
        train_epoch(net, empty, opt, progress=False)
    with pytest.raises(ValueError, match="train_epoch: the loader yielded no samples"):
        fit(net, empty, opt, epochs=1, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))   # no step was taken


def test_without_reapplying_masks_momentum_regrows_pruned_weights():
    # why train_epoch re-applies the masks: gradient masking alone is not enough
    torch.manual_seed(4)
    net = Net()
    loader = synthetic_loader()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    train_epoch(net, loader, opt, progress=False)
    masks = project_model(net, assign_pps(net, PPS.ps(4)))
    x, y = next(iter(loader))
    opt.zero_grad()
    nn.functional.cross_entropy(net(x), y).backward()
    mask_gradients(net, masks)
    opt.step()
    with pytest.raises(PPSError, match="non-zero weight at a pruned position"):
        check_masks(net, masks)


def test_evaluate_counts_exactly_and_restores_mode():
    class Pick(nn.Module):          # predicts class round(x[:, 0]) among 3
        def forward(self, x):
            return nn.functional.one_hot(x[:, 0].round().long().clamp(0, 2), 3).float()

    x = torch.tensor([[0.0], [1.0], [2.0], [2.0], [1.0]])
    y = torch.tensor([0, 1, 1, 2, 0])
    model = Pick().train()
    loader = DataLoader(TensorDataset(x, y), batch_size=2)
    assert evaluate(model, loader, progress=False) == pytest.approx(3 / 5)
    assert model.training                                           # mode restored
    assert evaluate(model.eval(), loader, progress=False) == pytest.approx(3 / 5)
    assert not model.training
    with pytest.raises(ValueError, match="no samples"):
        evaluate(model, [], progress=False)


def test_fit_with_masks_and_scheduler():
    torch.manual_seed(5)
    net = Net()
    loader = synthetic_loader(seed=1)
    masks = masks_for(net, assign_pps(net, PPS.ps(4)))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    hist = fit(net, loader, opt, epochs=3, masks=masks, val_loader=loader, scheduler=sched,
               progress=False)
    assert [h["epoch"] for h in hist] == [0, 1, 2]
    assert opt.param_groups[0]["lr"] == pytest.approx(1.25e-3)
    check_masks(net, masks)                                         # masked from the first step
    assert hist[-1]["loss"] < hist[0]["loss"] and all(0 <= h["val_acc"] <= 1 for h in hist)
    with pytest.raises(ValueError, match=r"\(inputs, targets\) pair"):
        train_epoch(net, [torch.zeros(2, 1, 8, 8)], opt, progress=False)
    with pytest.raises(ValueError, match="epochs must be >= 0"):
        fit(net, loader, opt, epochs=-1, progress=False)
