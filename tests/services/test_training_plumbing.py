"""Training plumbing without training: worker wire format, α curve, policy hash, refusals."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

from prop_desktop.services import App
from prop_desktop.services.alpha_curve import SLIDER_GRID, interpolate
from prop_desktop.services.errors import NoActiveProfileError
from prop_desktop.services.models import AlphaMetrics, KeyScore, PrivacyReport, TrainingState
from prop_desktop.services.training_wire import (
    pack_arrays,
    read_frame,
    report_from_json,
    report_to_json,
    unpack_arrays,
    write_frame,
)


def test_frames_roundtrip_arrays_without_pickle():
    arrays = {"0.q": np.arange(12, dtype=np.float32).reshape(2, 6), "0.t": np.array([0.0, 0.02])}
    buf = io.BytesIO()
    write_frame(buf, {"type": "progress", "step": 3}, pack_arrays(arrays))
    write_frame(buf, {"type": "cancelled"})
    buf.seek(0)
    header, body = read_frame(buf)
    got = unpack_arrays(body)
    assert header == {"type": "progress", "step": 3}
    np.testing.assert_array_equal(got["0.q"], arrays["0.q"])
    assert read_frame(buf) == ({"type": "cancelled"}, b"")
    with pytest.raises(EOFError):
        read_frame(buf)


def test_report_survives_json():
    k = KeyScore("x", 0.1, 0.2, 0.3, 0.4, 8)
    report = PrivacyReport(k, k, k, {1: k, 16: k}, (k,), 0.01, "fine")
    assert report_from_json(report_to_json(report)) == report


def test_alpha_curve_interpolates_between_measured_points():
    curve = [AlphaMetrics(a, 1.0 - a, a, 0.1 * a, 0.0) for a in SLIDER_GRID]
    mid = interpolate(curve, 0.525)
    assert mid.alpha == 0.525
    assert mid.personalization_score == pytest.approx(0.525)
    assert mid.personalization_error == pytest.approx(0.475)
    assert interpolate(curve, 1.0).personalization_score == pytest.approx(1.0)


def test_policy_hash_matches_the_policy_layer(app: App, require_base_policy):
    from prop_desktop.policy.base import base_policy_hash

    from .svc_helpers import base_policy_dir

    assert app.policy.hash() == base_policy_hash(base_policy_dir())


def test_importing_the_services_does_not_import_torch():
    import subprocess

    code = "import sys, prop_desktop.services.app, prop_desktop.services.training_job; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_training_needs_a_profile_and_demonstrations(app: App, require_base_policy):
    with pytest.raises(NoActiveProfileError):
        app.training.start()
    app.profiles.create("Ana", shared=True)
    job = app.training.start()
    result = job.wait(60)
    assert result.state is TrainingState.FAILED and "Record" in result.message
    with pytest.raises(Exception, match="Train first"):
        job.evaluate_alpha(0.5)


def test_alpha_lives_in_the_adapter_and_an_old_skill_moves_it_there_once(sim_app: App, require_base_policy):
    """A skill saved when the metadata held α too (it won when driving) keeps that α, now inside the adapter;
    the slider writes α into the adapter, and driving Personalized runs the adapter at that α."""
    import torch

    from prop_desktop.policy.base import DEFAULT_PROP_LAYERS
    from prop_desktop.prop import Adapter, adapter_alpha, attach, wrap
    from prop_desktop.services.skill import skill_meta

    app = sim_app
    base = app.policy.model()
    keyed = wrap(base, list(DEFAULT_PROP_LAYERS))
    with torch.no_grad():  # a made-up adapter with a visible effect (its α stays 1.0, as the engine wrote it)
        for encoder in keyed.encoders.per_layer.values():
            encoder.out.weight.fill_(0.05)
    k = KeyScore("x", 0.0, 0.0, 0.0, 0.0)
    curve = [AlphaMetrics(a, 1.0 - a, a, 0.0, 0.0) for a in SLIDER_GRID]
    session = app.profiles.session()
    old_meta = {"trained": "2026-12-01T10:00:00", "episodes": [], "alpha": 0.4,
                **skill_meta(PrivacyReport(k, k, k, {}, (), None, "fine"), curve)}
    session.adapters.save(app.policy.hash(), keyed.adapter.to_bytes(), old_meta)

    skill = app.training.skills.get()
    assert skill is not None and skill.alpha == 0.4
    blob, meta = session.adapters.load_with_meta(app.policy.hash())
    assert "alpha" not in meta and adapter_alpha(blob) == 0.4 and meta["trained"] == old_meta["trained"]
    assert app.training.skills.get().alpha == 0.4  # moved once: read from the adapter from now on

    app.training.skills.apply_alpha(0.7)
    blob, meta = session.adapters.load_with_meta(app.policy.hash())
    assert "alpha" not in meta and adapter_alpha(blob) == 0.7 and app.training.skills.get().alpha == 0.7

    # Driving uses the adapter as deployed at its α: the module it runs is the engine's folded copy at 0.7.
    change = app.drive.set_personalized(True)
    assert change.personalized, change.reason
    obs = torch.zeros(1, 14)
    expected = attach(Adapter.from_bytes(blob, base), base).specialize(bytes(session.network_key), 0.7)
    with torch.no_grad():
        assert torch.equal(app.drive._deployed(obs), expected(obs))
        assert not torch.equal(expected(obs), base(obs))
    app.drive.set_personalized(False)
