"""Metrics shared by the attack suite and the privacy report."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from prop_desktop.prop import (
    evaluate,
    fidelity,
    key_scores,
    key_to_signs,
    near_key_fidelity,
    new_key,
    no_key_fidelity,
    personalization_score,
    random_signs,
    retention_error,
    score_mask,
)


def test_score_is_zero_for_base_one_for_user_and_clipped():
    base = np.zeros((4, 2))
    user = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [0.0, 0.0]])
    assert np.allclose(personalization_score(base, base, user), 0)
    assert np.allclose(personalization_score(user, base, user)[:3], 1)
    assert np.allclose(personalization_score(0.5 * user, base, user)[:3], 0.5)
    assert np.allclose(personalization_score(3 * user, base, user)[:3], 1)  # clipped
    assert np.allclose(personalization_score(-user, base, user)[:3], 0)  # away from the user: no leak
    # Where the user acts like the base (row 3) there is nothing personal to reveal: score 0, masked out.
    assert personalization_score(np.ones((4, 2)), base, user)[3] == 0
    assert score_mask(base, user).tolist() == [True, True, True, False]


def test_orthogonal_difference_scores_zero():
    base = np.zeros((1, 2))
    user = np.array([[1.0, 0.0]])
    assert personalization_score(np.array([[0.0, 5.0]]), base, user)[0] == pytest.approx(0.0)


def test_metrics_on_a_trained_adapter(trained):
    keyed, key, task, _ = trained
    x = task.test_states
    assert no_key_fidelity(keyed, x) == 0.0
    near = near_key_fidelity(keyed, key, x, distances=(1, 16), n_keys=8)
    assert set(near) == {1, 16} and all(set(v) == {"mean", "max"} for v in near.values())
    assert fidelity(keyed, x, random_signs(8))["max"] < 1e-4
    scores = key_scores(keyed, key, torch.stack([key_to_signs(key), key_to_signs(new_key())]), x)
    assert scores[0] > 0.95 and scores[1] < 0.05
    assert retention_error(keyed, None, x) == 0.0


def test_evaluate_report_shape(trained):
    keyed, key, task, _ = trained
    report = evaluate(keyed, key, task.test_states, task.personal(task.test_states), other_keys=[new_key()],
                      retain_states=task.states[:50], distances=(1, 2), n_keys=8)
    assert {"personal", "none", "random", "near", "other", "retention", "scores", "scale"} <= set(report)
    assert set(report["near"]) == {"1", "2"}
    assert report["personal"] < 0.05 and report["none"] == 0.0
    assert report["scores"]["near"]["1"]["max"] < 0.05
    assert report["other"]["max"] < 0.01
