"""Initializers: the spread each one promises, by name or by function, and clear errors."""
from __future__ import annotations

import numpy as np
import pytest

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
