"""minifw.schedules against torch.optim.lr_scheduler (and Keras InverseTimeDecay) over 30 epochs."""
import os

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minifw.module import Parameter
from minifw.optim import SGD
from minifw.schedules import CosineAnnealingWarmRestarts, CyclicLR, ExponentialLR, InverseTimeLR, StepLR

EPOCHS = 30
LR0 = 0.1
lrs = torch.optim.lr_scheduler

# (minifw factory, torch factory): each takes an optimizer whose lr is LR0
CASES = {
    "StepLR": (lambda o: StepLR(o, step_size=7, gamma=0.5), lambda o: lrs.StepLR(o, step_size=7, gamma=0.5)),
    "StepLR-default-gamma": (lambda o: StepLR(o, 3), lambda o: lrs.StepLR(o, 3)),
    "ExponentialLR": (lambda o: ExponentialLR(o, gamma=0.9), lambda o: lrs.ExponentialLR(o, gamma=0.9)),
    "CyclicLR-triangular": (
        lambda o: CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4),
        lambda o: lrs.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4, cycle_momentum=False)),
    "CyclicLR-triangular2-asymmetric": (
        lambda o: CyclicLR(o, 0.01, 0.1, step_size_up=3, step_size_down=5, mode="triangular2"),
        lambda o: lrs.CyclicLR(o, 0.01, 0.1, step_size_up=3, step_size_down=5, mode="triangular2",
                               cycle_momentum=False)),
    "CyclicLR-exp_range": (
        lambda o: CyclicLR(o, 0.001, 0.05, step_size_up=5, mode="exp_range", gamma=0.95),
        lambda o: lrs.CyclicLR(o, 0.001, 0.05, step_size_up=5, mode="exp_range", gamma=0.95,
                               cycle_momentum=False)),
    "CosineAnnealingWarmRestarts": (
        lambda o: CosineAnnealingWarmRestarts(o, T_0=7),
        lambda o: lrs.CosineAnnealingWarmRestarts(o, T_0=7)),
    "CosineAnnealingWarmRestarts-T_mult": (
        lambda o: CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
        lambda o: lrs.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001)),
}


def minifw_optimizer() -> SGD:
    return SGD([Parameter(np.zeros(2))], lr=LR0)


@pytest.mark.parametrize("name", list(CASES))
def test_thirty_epochs_match_torch(name):
    make_ours, make_theirs = CASES[name]
    opt = minifw_optimizer()
    sched = make_ours(opt)
    topt = torch.optim.SGD([torch.zeros(2, dtype=torch.float64, requires_grad=True)], lr=LR0)
    tsched = make_theirs(topt)
    ours, theirs = [opt.lr], [topt.param_groups[0]["lr"]]
    for _ in range(EPOCHS):
        topt.step()  # no gradients: a no-op that keeps torch's call-order check quiet
        tsched.step()
        assert sched.step() == opt.lr
        ours.append(opt.lr)
        theirs.append(topt.param_groups[0]["lr"])
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    assert len(set(np.round(ours, 12))) > 2  # the schedule does move


@pytest.mark.parametrize("name", list(CASES))
def test_lr_at_is_pure_and_agrees_with_step(name):
    sched = CASES[name][0](minifw_optimizer())
    planned = [sched.lr_at(t) for t in range(EPOCHS + 1)]
    assert sched.lr == planned[0] and sched.last_epoch == 0  # lr_at changed nothing
    stepped = [sched.lr] + [sched.step() for _ in range(EPOCHS)]
    assert stepped == planned


def test_without_optimizer_for_plotting():
    sched = StepLR(None, step_size=10, gamma=0.5, base_lr=0.1)
    assert [sched.lr_at(t) for t in (0, 9, 10, 25)] == [0.1, 0.1, 0.05, 0.025]
    assert sched.step() == 0.1
    with pytest.raises(ValueError, match="StepLR: needs an optimizer or a base_lr, got neither"):
        StepLR(None, step_size=3)


def test_base_lr_overrides_optimizer_lr_and_optimizer_uses_it():
    p = Parameter(np.zeros(1))
    opt = SGD([p], lr=0.5)
    sched = ExponentialLR(opt, gamma=0.5, base_lr=0.2)
    assert opt.lr == 0.2
    sched.step()
    p.grad[...] = 1.0
    opt.step()
    np.testing.assert_allclose(p.data, [-0.1])


@pytest.mark.parametrize("staircase", [False, True])
def test_inverse_time_matches_keras(staircase):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras = pytest.importorskip("keras")
    theirs_fn = keras.optimizers.schedules.InverseTimeDecay(np.float64(LR0), decay_steps=4, decay_rate=0.5,
                                                            staircase=staircase)
    theirs = [float(keras.ops.convert_to_numpy(theirs_fn(t))) for t in range(EPOCHS + 1)]
    opt = minifw_optimizer()
    sched = InverseTimeLR(opt, decay_steps=4, decay_rate=0.5, staircase=staircase)
    ours = [opt.lr] + [sched.step() for _ in range(EPOCHS)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@given(T_0=st.integers(1, 10), T_mult=st.integers(1, 3), eta_min=st.floats(0, 0.05), t=st.integers(0, 500))
@settings(max_examples=60, deadline=None)
def test_warm_restarts_bounds_and_restarts(T_0, T_mult, eta_min, t):
    sched = CosineAnnealingWarmRestarts(None, T_0, T_mult, eta_min, base_lr=LR0)
    t_cur, t_i = sched.period(t)
    assert 0 <= t_cur < t_i
    assert eta_min - 1e-15 <= sched.lr_at(t) <= LR0 + 1e-15
    if t_cur == 0:
        assert sched.lr_at(t) == pytest.approx(LR0)
    else:
        assert sched.lr_at(t) < sched.lr_at(t - 1)  # decreasing inside a period


@given(mode=st.sampled_from(CyclicLR.MODES), up=st.integers(1, 8), down=st.integers(1, 8), t=st.integers(0, 200))
@settings(max_examples=60, deadline=None)
def test_cyclic_stays_between_base_and_max(mode, up, down, t):
    sched = CyclicLR(None, base_lr=0.01, max_lr=0.1, step_size_up=up, step_size_down=down, mode=mode, gamma=0.99)
    assert 0.01 - 1e-15 <= sched.lr_at(t) <= 0.1 + 1e-15
    assert sched.lr_at((up + down) * (t // (up + down))) == pytest.approx(0.01)  # each cycle starts at base_lr


@pytest.mark.parametrize("make, message", [
    (lambda o: StepLR(o, step_size=0), "StepLR: step_size must be an integer >= 1, got 0"),
    (lambda o: StepLR(o, step_size=2.5), "StepLR: step_size must be an integer >= 1, got 2.5"),
    (lambda o: ExponentialLR(o, gamma=0), "ExponentialLR: gamma must be > 0, got 0"),
    (lambda o: ExponentialLR(o, gamma=0.9, base_lr=-1), "ExponentialLR: base_lr must be >= 0, got -1"),
    (lambda o: InverseTimeLR(o, decay_steps=0, decay_rate=0.5), "InverseTimeLR: decay_steps must be > 0, got 0"),
    (lambda o: InverseTimeLR(o, decay_steps=1, decay_rate=-1), "InverseTimeLR: decay_rate must be >= 0"),
    (lambda o: CyclicLR(o, 0.01, 0.1, mode="cosine"), "CyclicLR: mode must be one of .*, got 'cosine'"),
    (lambda o: CyclicLR(o, 0.01, 0.1, step_size_up=0), "CyclicLR: step_size_up must be > 0, got 0"),
    (lambda o: CosineAnnealingWarmRestarts(o, T_0=0), "CosineAnnealingWarmRestarts: T_0 must be an integer >= 1"),
    (lambda o: CosineAnnealingWarmRestarts(o, T_0=5, T_mult=0), "T_mult must be an integer >= 1, got 0"),
])
def test_bad_hyper_parameters(make, message):
    with pytest.raises(ValueError, match=message):
        make(minifw_optimizer())
