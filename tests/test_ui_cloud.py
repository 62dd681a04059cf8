"""The Explore tab's sample cloud for a 2D model that keeps training: redrawn at most once per
CLOUD_REFRESH_SECONDS, so slider drags on a live model do not rebuild it at every publish."""
import pathlib
import types

import numpy as np

from playground.web import app as ui
from playground.web import explore as ui_explore
from playground.engine.checkpoints import load_sampler
from playground.web.sessions import SessionRegistry

RING = pathlib.Path(__file__).resolve().parents[1] / "checkpoints" / "ring"


def test_a_training_models_cloud_is_redrawn_at_most_once_per_refresh_interval(monkeypatch):
    handlers = ui.PlaygroundUI(SessionRegistry(max_trainings=1), RING.parent).explore
    request = types.SimpleNamespace(session_hash="cloud-test")
    sampler = load_sampler(RING)
    clock = [1000.0]
    monkeypatch.setattr(ui_explore.time, "monotonic", lambda: clock[0])

    first = handlers._cloud(request, sampler, 1.0, None)
    assert first.shape == (1000, 2)
    weights = sampler._weights
    sampler.update_weights([w * 0.5 for w in weights])        # a publish: new version, different weights
    clock[0] += ui_explore.CLOUD_REFRESH_SECONDS / 2
    assert handlers._cloud(request, sampler, 1.0, None) is first           # too soon: the cached cloud
    clock[0] += ui_explore.CLOUD_REFRESH_SECONDS
    later = handlers._cloud(request, sampler, 1.0, None)
    assert later is not first and not np.allclose(later, first)            # the new weights, once it is due
    assert handlers._cloud(request, sampler, 0.5, None) is not later       # a new truncation: drawn at once
