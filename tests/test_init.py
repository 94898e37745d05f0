"""Initializers: the spread each one promises, by name or by function, and clear errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import minifw as mf
from minifw import init

SHAPE = (400, 300)
# name -> expected standard deviation of the weights for SHAPE = (fan_in, fan_out)
EXPECTED_STD = {
    "normal": 0.01,
    "xavier_normal": np.sqrt(2 / 700),
    "xavier_uniform": np.sqrt(6 / 700) / np.sqrt(3),  # U(-a, a) has std a / sqrt(3)
    "he_normal": np.sqrt(2 / 400),
    "he_uniform": np.sqrt(6 / 400) / np.sqrt(3),
}


@pytest.mark.parametrize("name", EXPECTED_STD)
def test_initializer_spread(name):
    w = init.get(name)(SHAPE, np.random.default_rng(0))
    assert w.shape == SHAPE and w.dtype == np.float32
    assert abs(w.mean()) < 0.05 * EXPECTED_STD[name]
    assert w.std() == pytest.approx(EXPECTED_STD[name], rel=0.02)


def test_uniform_initializers_stay_in_their_bounds():
    rng = np.random.default_rng(0)
    assert np.abs(init.xavier_uniform(SHAPE, rng)).max() <= np.sqrt(6 / 700)
    assert np.abs(init.he_uniform(SHAPE, rng)).max() <= np.sqrt(6 / 400)


def test_zeros_and_layer_defaults():
    assert not init.zeros(SHAPE).any()
    layer = mf.Linear(400, 300, seed=0)  # documented default: He uniform weights, zero bias
    assert np.abs(layer.W.data).max() <= np.sqrt(6 / 400)
    assert layer.W.data.std() == pytest.approx(EXPECTED_STD["he_uniform"], rel=0.02)
    assert not layer.b.data.any()
    glorot = mf.Linear(400, 300, init="glorot_normal", seed=0)
    assert glorot.W.data.std() == pytest.approx(EXPECTED_STD["xavier_normal"], rel=0.02)
    custom = mf.Linear(3, 2, init=lambda shape, rng: np.full(shape, 0.5, dtype=np.float32))
    assert np.all(custom.W.data == 0.5)


def test_unknown_initializer_is_named():
    with pytest.raises(ValueError, match="unknown initializer 'he'; expected one of"):
        mf.Linear(3, 2, init="he")


# minifw initializer -> the torch.nn.init call that draws from the same distribution
TORCH_TWINS = {
    "normal": lambda w: torch.nn.init.normal_(w, std=0.01),
    "xavier_normal": torch.nn.init.xavier_normal_,
    "xavier_uniform": torch.nn.init.xavier_uniform_,
    "he_normal": lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "he_uniform": lambda w: torch.nn.init.kaiming_uniform_(w, nonlinearity="relu"),
}


@pytest.mark.parametrize("shape", [(400, 300), (64, 1000), (1000, 32)], ids=str)
@pytest.mark.parametrize("name", TORCH_TWINS)
def test_initializers_draw_from_torch_nn_init_distributions(name, shape):
    """Same fans (minifw's W is (fan_in, fan_out), torch's weight (fan_out, fan_in)), same quantiles."""
    ours = init.get(name)(shape, np.random.default_rng(0)).astype(np.float64).ravel()
    torch.manual_seed(0)
    theirs = TORCH_TWINS[name](torch.empty(shape[::-1], dtype=torch.float64)).numpy().ravel()
    std = theirs.std()
    assert ours.std() == pytest.approx(std, rel=0.03)
    q = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]
    np.testing.assert_allclose(np.quantile(ours, q), np.quantile(theirs, q), atol=0.05 * std)
    if name.endswith("uniform"):  # the same bound a: both fill (-a, a)
        a = np.sqrt(3) * std
        assert np.abs(ours).max() == pytest.approx(np.abs(theirs).max(), rel=1e-3) == pytest.approx(a, rel=0.02)


def test_linear_default_init_is_he_uniform_not_torchs_default():
    """Documented difference: torch.nn.Linear draws U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform
    with a = sqrt(5)); minifw's Linear uses He uniform, sqrt(6) times wider, which suits ReLU."""
    ours = mf.Linear(400, 300, seed=0).W.data
    torch.manual_seed(0)
    theirs = torch.nn.Linear(400, 300).weight.detach().numpy()
    assert np.abs(theirs).max() == pytest.approx(1 / np.sqrt(400), rel=1e-3)
    assert np.abs(ours).max() == pytest.approx(np.sqrt(6 / 400), rel=1e-3)
