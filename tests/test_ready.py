"""playground.training.ready for real: a tiny run prepared ahead is the run a fresh build trains, one step on."""
import numpy as np
from conftest import wait_for

from playground.engine.config import default_config
from playground.engine.run import Run
from playground.training import trainer as trainer_module
from playground.training.ready import ReadyRuns

TINY = default_config("ring", width=16, batch_size=32, latent_dim=4, seed=3)


def test_a_ready_run_is_a_fresh_run_one_step_on_and_only_its_exact_settings_take_it(monkeypatch):
    pool = ReadyRuns()
    pool.add(TINY)
    assert pool.take(TINY.replace(seed=4)) is None and pool.take(TINY, points=np.zeros((8, 2))) is None
    ready = pool.take(TINY)
    assert ready.run.step == 1 and ready.seconds > 0
    fresh = Run.build(TINY)
    assert fresh.train_for(steps=1).logs == ready.logs, "the same first step as a run built on the click"
    assert pool.take(TINY) is None, "taken once; a replacement comes later"

    pool.add(TINY)
    monkeypatch.setattr(trainer_module, "READY_RUNS", pool)
    trainer = trainer_module.Trainer(TINY)
    trainer.start()
    try:
        assert wait_for(lambda: trainer.snapshot().step >= 1)
        assert trainer.snapshot().history_steps[0] == 1, "the ready step is the history's first point"
    finally:
        trainer.stop()


def test_a_replacement_waits_until_no_run_trains(monkeypatch):
    # Building one stalls a training run for seconds on 2 cores, so it waits for a quiet moment.
    import threading
    import time

    from playground.training import ready as ready_module

    monkeypatch.setattr(ready_module, "REFILL_DELAY_SECONDS", 0.0)
    pool, quiet = ReadyRuns(), threading.Event()
    pool.add(TINY)
    pool.prepared_seconds.clear()
    assert pool.take(TINY, quiet=quiet.is_set) is not None
    time.sleep(2.0)
    assert "ring" not in pool.prepared_seconds, "built while a run was training"
    quiet.set()
    assert wait_for(lambda: "ring" in pool.prepared_seconds)

    import weakref

    monkeypatch.setattr(trainer_module, "_TRAINERS", weakref.WeakSet())    # other tests' trainers do not count
    trainer = trainer_module.Trainer(TINY, publish_interval=0.1)
    assert trainer_module.none_training()
    trainer.start()
    try:
        assert wait_for(lambda: trainer.snapshot().step >= 1) and not trainer_module.none_training()
        trainer.pause()
        assert trainer_module.none_training(), "a paused run does not train"
    finally:
        trainer.stop()
