"""minifw.schedules against torch.optim.lr_scheduler (and Keras InverseTimeDecay) over 30 epochs."""
import os

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minifw.module import Parameter
from minifw.optim import SGD
from minifw.schedules import (
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    CyclicLR,
    ExponentialLR,
    InverseTimeLR,
    LinearLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)

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
    "CosineAnnealingLR": (lambda o: CosineAnnealingLR(o, T_max=12), lambda o: lrs.CosineAnnealingLR(o, T_max=12)),
    "CosineAnnealingLR-eta_min": (lambda o: CosineAnnealingLR(o, T_max=30, eta_min=0.01),
                                  lambda o: lrs.CosineAnnealingLR(o, T_max=30, eta_min=0.01)),
    "LinearLR-warmup": (lambda o: LinearLR(o, start_factor=0.1, total_iters=6),
                        lambda o: lrs.LinearLR(o, start_factor=0.1, total_iters=6)),
    "LinearLR-decay": (lambda o: LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=20),
                       lambda o: lrs.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=20)),
    "warmup-then-cosine": (
        lambda o: SequentialLR(o, [LinearLR(o, 0.1, total_iters=5), CosineAnnealingLR(o, T_max=25)], [5]),
        lambda o: lrs.SequentialLR(o, [lrs.LinearLR(o, 0.1, total_iters=5), lrs.CosineAnnealingLR(o, T_max=25)], [5])),
    "warmup-step-exponential": (
        lambda o: SequentialLR(o, [LinearLR(o, 0.5, total_iters=3), StepLR(o, 4, 0.5), ExponentialLR(o, 0.9)],
                               [3, 15]),
        lambda o: lrs.SequentialLR(o, [lrs.LinearLR(o, 0.5, total_iters=3), lrs.StepLR(o, 4, 0.5),
                                       lrs.ExponentialLR(o, 0.9)], [3, 15])),
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


PLATEAU_CASES = [
    dict(),
    dict(patience=2, factor=0.5),
    dict(mode="max", patience=1, factor=0.3, cooldown=2),
    dict(patience=0, threshold=0.1, threshold_mode="abs", min_lr=0.02),
    dict(patience=1, threshold=0.05, cooldown=1, factor=0.9, eps=0.02),
]


@pytest.mark.parametrize("kwargs", PLATEAU_CASES, ids=[str(k) for k in PLATEAU_CASES])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reduce_lr_on_plateau_matches_torch(kwargs, seed):
    rng = np.random.default_rng(seed)
    values = np.concatenate([np.linspace(1, 0.5, 5), 0.5 + 0.05 * rng.standard_normal(35)])
    opt = minifw_optimizer()
    sched = ReduceLROnPlateau(opt, **kwargs)
    topt = torch.optim.SGD([torch.zeros(2, dtype=torch.float64, requires_grad=True)], lr=LR0)
    tsched = lrs.ReduceLROnPlateau(topt, **kwargs)
    ours, theirs = [], []
    for v in values:
        topt.step()
        tsched.step(float(v))
        ours.append(sched.step(v))
        theirs.append(topt.param_groups[0]["lr"])
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert opt.lr == ours[-1]
    assert (len(set(ours)) == 1) == ("eps" in kwargs)  # it drops, unless the drop is below eps (as torch)


def test_reduce_lr_on_plateau_bad_arguments():
    opt = minifw_optimizer()
    for kwargs, message in [(dict(mode="up"), "mode must be 'min' or 'max', got 'up'"),
                            (dict(factor=1.0), r"factor must be in \(0, 1\), got 1.0"),
                            (dict(patience=-1), "patience must be an integer >= 0, got -1"),
                            (dict(threshold_mode="pct"), "threshold_mode must be 'rel' or 'abs'")]:
        with pytest.raises(ValueError, match="ReduceLROnPlateau: " + message):
            ReduceLROnPlateau(opt, **kwargs)
    with pytest.raises(ValueError, match="the monitored value must be finite, got nan"):
        ReduceLROnPlateau(opt).step(float("nan"))


@given(T_max=st.integers(1, 50), eta_min=st.floats(0, 0.05), t=st.integers(0, 200))
@settings(max_examples=60, deadline=None)
def test_cosine_annealing_bounds(T_max, eta_min, t):
    sched = CosineAnnealingLR(None, T_max, eta_min, base_lr=LR0)
    assert eta_min - 1e-15 <= sched.lr_at(t) <= LR0 + 1e-15
    assert sched.lr_at(T_max) == pytest.approx(eta_min) and sched.lr_at(0) == LR0
    if 0 < t <= T_max:
        assert sched.lr_at(t) < sched.lr_at(t - 1)


@given(start=st.floats(0.01, 1.0), total=st.integers(1, 20), t=st.integers(0, 100))
@settings(max_examples=60, deadline=None)
def test_linear_warmup_rises_to_the_base_rate_and_stays(start, total, t):
    sched = LinearLR(None, start_factor=start, total_iters=total, base_lr=LR0)
    assert sched.lr_at(0) == pytest.approx(start * LR0)
    assert sched.lr_at(total + t) == pytest.approx(LR0)
    assert sched.lr_at(min(t, total)) >= sched.lr_at(max(min(t, total) - 1, 0)) - 1e-15


def test_without_optimizer_for_plotting():
    sched = StepLR(None, step_size=10, gamma=0.5, base_lr=0.1)
    assert [sched.lr_at(t) for t in (0, 9, 10, 25)] == [0.1, 0.1, 0.05, 0.025]
    assert sched.step() == 0.1
    with pytest.raises(ValueError, match="StepLR: needs an optimizer or a base_lr, got neither"):
        StepLR(None, step_size=3)



def test_a_rate_set_by_hand_is_overwritten_at_the_next_step_where_torch_chains_from_it():
    """Documented difference: torch's StepLR multiplies the current rate at its boundaries, so a rate
    changed by hand persists; minifw's step() sets lr_at(t), the closed form, whatever came before."""
    opt = minifw_optimizer()
    t_opt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=LR0)
    sched, t_sched = StepLR(opt, 3, 0.5), lrs.StepLR(t_opt, 3, 0.5)
    opt.lr = t_opt.param_groups[0]["lr"] = 0.02
    ours, theirs = [], []
    for _ in range(4):
        t_opt.step()
        t_sched.step()
        ours.append(sched.step())
        theirs.append(t_opt.param_groups[0]["lr"])
    assert ours == [sched.lr_at(t) for t in range(1, 5)] == [0.1, 0.1, 0.05, 0.05]
    assert theirs == pytest.approx([0.02, 0.02, 0.01, 0.01])  # halved from 0.02 at t = 3

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



class _Weights:
    """Just enough of a model for an early-stopping callback: one weight, set to the epoch number."""

    stop_training = False

    def __init__(self) -> None:
        self.w = np.zeros(1)
        self.network = self  # minifw's callback saves model.network.state_dict()

    def get_weights(self):
        return [self.w.copy()]

    def set_weights(self, weights) -> None:
        self.w = weights[0].copy()

    def state_dict(self):
        return {"w": self.w.copy()}

    def load_state_dict(self, state) -> None:
        self.w = state["w"].copy()


def _early_stop(callback, model, values, minifw: bool):
    """Run the callback over the monitored values; (last epoch run, best epoch, weights kept at the end)."""
    callback.on_train_begin(model) if minifw else (callback.set_model(model), callback.on_train_begin())
    for epoch, value in enumerate(values):
        model.w[...] = epoch
        callback.on_epoch_end(epoch, {"val_loss": value})
        if model.stop_training:
            break
    callback.on_train_end()
    return epoch, callback.best_epoch, float(model.w[0])


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.sampled_from([1.0, 0.9, 0.95, 0.85, 0.86, 0.5]), min_size=1, max_size=12),
       patience=st.integers(0, 3), min_delta=st.sampled_from([0.0, 0.02, 0.2]))
def test_early_stopping_stops_and_restores_as_keras(values, patience, min_delta):
    """The same stopping epoch, best epoch and restored weights as Keras's EarlyStopping (mode "min")."""
    keras = pytest.importorskip("keras")
    from minifw.callbacks import EarlyStopping

    ours = _early_stop(EarlyStopping("val_loss", patience, min_delta, mode="min", restore_best_weights=True),
                       _Weights(), values, minifw=True)
    theirs = _early_stop(keras.callbacks.EarlyStopping("val_loss", min_delta, patience, mode="min",
                                                       restore_best_weights=True), _Weights(), values, minifw=False)
    assert ours == theirs

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
    (lambda o: CosineAnnealingLR(o, T_max=0), "CosineAnnealingLR: T_max must be an integer >= 1, got 0"),
    (lambda o: LinearLR(o, start_factor=0), r"LinearLR: start_factor must be in \(0, 1\], got 0"),
    (lambda o: SequentialLR(o, [StepLR(o, 2)], [3]), "SequentialLR: expected n schedules and n - 1 milestones"),
    (lambda o: SequentialLR(o, [StepLR(o, 2), StepLR(o, 2)], [0]), "milestones must be increasing integers >= 1"),
])
def test_bad_hyper_parameters(make, message):
    with pytest.raises(ValueError, match=message):
        make(minifw_optimizer())
