"""The registry's limits for a public server (issue 19, items 4 and 5): a budget of built runs (idle ones are set
aside and come back), Step counted as a training and against the run's time limit, the per-visitor cap, and
how the client address is read. Tiny real trainers."""
import threading

import pytest
from conftest import wait_for

from playground.engine.config import default_config
from playground.web.sessions import BusyError, SessionError, SessionRegistry
from playground.web.visitors import client_address

TINY = dict(width=16, batch_size=32, latent_dim=4, seed=3)


def ring(**changes):
    return default_config("ring", **{**TINY, **changes})


@pytest.fixture
def registry():
    made = []

    def make(**limits):
        made.append(SessionRegistry(**{"max_trainings": 2, "max_train_seconds": None, **limits}))
        return made[-1]

    yield make
    for reg in made:
        reg.close_all()


def test_limits_for_the_public_server_come_from_the_environment():
    defaults = SessionRegistry.from_env({})
    assert (defaults.max_per_visitor, defaults.max_built_runs) == (1, 8)
    reg = SessionRegistry.from_env({"GAN_MAX_TRAININGS_PER_VISITOR": "2", "GAN_MAX_BUILT_RUNS": "20"})
    assert (reg.max_per_visitor, reg.max_built_runs) == (2, 20)
    with pytest.raises(SessionError, match="GAN_MAX_BUILT_RUNS"):
        SessionRegistry.from_env({"GAN_MAX_BUILT_RUNS": "0"})


# -- 4. idle runs have a budget --------------------------------------------------------------------------
def test_beyond_the_budget_the_least_recently_used_idle_run_is_set_aside_and_comes_back(registry):
    reg = registry(max_built_runs=2)
    reg.step("alice", ring(), None, 3, "both")
    reg.step("bob", ring(seed=4), None, 2, "both")
    alices_weights = reg.trainer("alice").run.gan.generator.get_weights()
    reg.session("bob")                                   # bob acted last: alice is the least recently used
    reg.step("carol", ring(), None, 1, "both")
    assert reg.built_count() == 2
    with reg._lock:
        alice = reg._sessions["alice"]
        assert alice.trainer is None and alice.parked is not None and alice.parked.is_dir(), "set aside, on disk"
    assert reg.session("bob").trainer.run is not None and reg.session("carol").trainer.run is not None

    back = reg.trainer("alice")                           # alice comes back: her run, where she left it
    assert back.run.step == 3 and back.status == "idle"
    restored = back.run.gan.generator.get_weights()
    assert all((a == b).all() for a, b in zip(alices_weights, restored))
    assert reg.built_count() == 2 and reg.session("alice").unsaved_steps() == 3
    with reg._lock:
        assert reg._sessions["bob"].trainer is None, "bob was the least recently used now"


def test_running_runs_are_never_set_aside_and_a_full_server_says_busy(registry):
    reg = registry(max_built_runs=1)
    reg.start("alice", ring())
    assert wait_for(lambda: reg.trainer("alice").snapshot().step > 0)
    with pytest.raises(BusyError, match="holds as many runs as it can"):
        reg.step("bob", ring(), None, 1, "both")
    assert reg.trainer("alice").status == "running"


def test_a_paused_run_is_set_aside_and_continues_from_its_step(registry):
    reg = registry(max_built_runs=1)
    reg.start("alice", ring())
    assert wait_for(lambda: reg.trainer("alice").snapshot().step > 5)
    reg.trainer("alice").pause()
    paused_at = reg.trainer("alice").snapshot().step
    reg.step("bob", ring(), None, 1, "both")
    assert reg.trainer("alice").run.step == paused_at          # back (and bob's run set aside in turn)
    assert "Continuing this run from step" in reg.start("alice", ring())


# -- 4. Step counts like Train ---------------------------------------------------------------------------
def test_step_counts_against_the_training_cap(registry):
    reg = registry(max_trainings=1)
    reg.start("alice", ring())
    assert wait_for(lambda: reg.trainer("alice").snapshot().step > 0)
    with pytest.raises(BusyError, match="busy — 1 trainings are running"):
        reg.step("bob", ring(), None, 1, "both")
    reg.trainer("alice").pause()
    reg.step("bob", ring(), None, 1, "both")


def test_a_step_in_progress_holds_a_training_slot(registry):
    reg = registry(max_trainings=1)
    reg.step("alice", ring(), None, 1, "both")             # built, so the long step below only trains
    stepping = threading.Thread(target=reg.step, args=("alice", ring(), None, 1000, "both"))
    stepping.start()
    try:
        assert wait_for(lambda: reg.session("alice").stepping, timeout=30)
        with pytest.raises(BusyError, match="busy"):
            reg.start("bob", ring())
    finally:
        stepping.join(120)
    reg.start("bob", ring())                                # the slot is free once the step is done


def test_step_counts_against_the_runs_time_limit(registry):
    reg = registry(max_train_seconds=0.05)
    reg.step("alice", ring(), None, 200, "both")            # 200 steps take longer than 0.05 s
    assert reg.trainer("alice").snapshot().wall_time >= 0.05
    with pytest.raises(SessionError, match="used up its training time limit"):
        reg.step("alice", ring(), None, 1, "both")


def test_a_huge_points_box_is_refused_before_its_lines_are_read():
    from playground.data.images import DataError
    from playground.data.points import parse_points

    assert len(parse_points("1, 2\n" * 5000)) == 5000
    with pytest.raises(DataError, match="the points box holds 50,000,001 characters"):
        parse_points("\n" * 50_000_000 + "1")


# -- 5. per visitor ----------------------------------------------------------------------------------------
def test_a_visitor_trains_in_one_tab_at_a_time(registry):
    reg = registry(max_trainings=3, max_per_visitor=1)
    reg.start("tab-1", ring(), visitor="8.8.8.8")
    with pytest.raises(BusyError, match="you already have 1 training"):
        reg.start("tab-2", ring(), visitor="8.8.8.8")
    with pytest.raises(BusyError, match="you already have 1 training"):
        reg.step("tab-2", ring(), None, 1, "both", visitor="8.8.8.8")
    reg.start("someone-else", ring(), visitor="9.9.9.9")
    assert reg.running_count() == 2 and reg.running_count("8.8.8.8") == 1


@pytest.mark.parametrize("forwarded, peer, use_forwarded, expected", [
    ("8.8.8.8", "10.0.0.2", True, "8.8.8.8"),                   # the Space's proxy set it
    ("1.2.3.4, 8.8.8.8", "10.0.0.2", True, "8.8.8.8"),          # a forged entry in front is ignored
    ("8.8.8.8, 10.16.3.80", "10.0.0.2", True, "8.8.8.8"),       # inner proxies' private addresses too
    ("not an address", "10.0.0.2", True, "10.0.0.2"),
    (None, "127.0.0.1", True, "127.0.0.1"),
    ("8.8.8.8", "127.0.0.1", False, "127.0.0.1"),                   # GAN_CLIENT_ADDRESS=peer
    (None, None, True, "unknown"),
])
def test_the_client_address(forwarded, peer, use_forwarded, expected):
    assert client_address(forwarded, peer, use_forwarded) == expected
