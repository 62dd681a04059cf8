"""scripts/load_test.py and scripts/soak.py, run for real with tiny durations, judged by their JSON reports.

Both run in this process through their main(argv) (one TensorFlow import instead of three: on two busy cores
that is most of the difference between one and two minutes); each starts its own server on a free 127.0.0.1
port. The command line itself is exercised by the --url refusal test, which needs no server.
"""
import contextlib
import io
import json
import pathlib
import subprocess
import sys
import time

import pytest

SCRIPTS = pathlib.Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import load_test  # noqa: E402
import soak  # noqa: E402

LOAD = ["--sessions", "3", "--seconds", "5", "--cap", "2", "--seed", "7", "--json"]
# The soak's own default limit (10% RSS growth after warm-up), the bar a real 30-minute soak must pass; 15 s catch gross
# growth only, a slow leak is the long soak's to find.
SOAK = ["--seconds", "15", "--interval", "1.5", "--max-growth", "0.10", "--sessions", "1", "--cycle", "5", "--seed",
        "3", "--json"]


def _run(main, argv):
    """(exit code, the JSON report) of one script run in-process."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(argv)
    lines = stdout.getvalue().strip().splitlines()
    assert lines, "the script printed no report"
    return code, json.loads(lines[-1])


@pytest.fixture(scope="module")
def reports():
    patcher = pytest.MonkeyPatch()        # the scripts set GAN_MAX_TRAININGS / GRADIO_HEARTBEAT_INTERVAL: undo after
    for name in ("GAN_MAX_TRAININGS", "GRADIO_HEARTBEAT_INTERVAL"):
        patcher.setenv(name, "")
    try:
        yield {"load": _run(load_test.main, LOAD), "soak": _run(soak.main, SOAK)}
    finally:
        patcher.undo()


def test_load_test_turns_exactly_one_away_and_keeps_sessions_apart(reports):
    code, out = reports["load"]
    assert code == 0, out
    assert out["errors"] == 0, out["error_messages"]
    assert out["cap_ok"] and out["isolation_ok"], (out["cap_problems"], out["isolation_problems"])
    assert out["trainings_started"] == 2 and out["turned_away"] == 1
    assert out["busy_messages"] == ["busy — 2 trainings are running, try again in a minute"]
    assert 0 < out["peak_running"] <= 2
    trained = [s for s in out["per_session"] if s["trained"]]
    assert len(trained) == 2 and all(s["final_step"] > 0 and s["first_step_s"] > 0 for s in trained)
    assert {s["dataset"] for s in out["per_session"]} == {"ring", "grid", "spiral"}
    assert [s["latent_dim"] for s in out["per_session"]] == [2, 3, 4]
    assert all(s["renders"] > 0 and s["polls"] > 0 for s in out["per_session"])


def test_load_test_reports_slider_latency(reports):
    _, out = reports["load"]
    latency = out["slider_latency"]
    assert latency["count"] == sum(s["renders"] for s in out["per_session"]) >= 3
    assert 0 < latency["median_ms"] <= latency["p95_ms"] <= latency["max_ms"] < 60_000
    assert out["status_latency"]["median_ms"] > 0
    # Every fourth drag goes through gradio_client: both paths were measured, in about a 3:1 ratio.
    through_client = out["slider_latency_gradio_client"]["count"]
    assert 0 < through_client and latency["count"] >= 2 * through_client
    assert out["p95_goal_met"] == (latency["p95_ms"] < 250)


def test_soak_samples_rss_and_cleans_up_closed_sessions(reports):
    code, out = reports["soak"]
    assert code == 0, (out["rss"], out["cleanup"], out["error_messages"])
    assert out["errors"] == 0, out["error_messages"]
    samples = out["samples"]
    assert len(samples) >= 8, "one sample every 1.5 s over 15 s, plus the end"
    assert all(s["rss_mb"] > 50 for s in samples)
    assert [s["t_s"] for s in samples] == sorted(s["t_s"] for s in samples)
    rss = out["rss"]
    assert rss["start_mb"] == samples[0]["rss_mb"] and rss["end_mb"] == samples[-1]["rss_mb"]
    assert rss["peak_mb"] == max(s["rss_mb"] for s in samples) >= rss["after_warmup_mb"]
    assert rss["max_growth"] == 0.10 and rss["growth_ok"] and rss["growth_after_warmup"] <= 0.10
    cleanup = out["cleanup"]
    assert cleanup["ok"] and cleanup["sessions_closed"] == out["sessions_opened"] >= 1
    assert cleanup["sessions_left_in_registry"] == cleanup["trainer_threads_alive"] == 0
    assert cleanup["trainers_checked"] == out["runs_started"] and cleanup["trainers_alive_after_gc"] == 0
    assert samples[-1]["sessions"] == samples[-1]["running"] == 0
    assert out["render_latency"]["count"] > 0 and out["render_latency"]["median_ms"] > 0


# -- pure helpers, in-process ----------------------------------------------------------------------------
def test_only_loopback_urls_are_accepted():
    assert load_test.checked_url("http://127.0.0.1:7860") == "http://127.0.0.1:7860/"
    for url in ("http://example.com:7860", "http://localhost:7860", "http://0.0.0.0:7860", "https://127.0.0.1:7860",
                "http://127.0.0.1", "http://10.0.0.1:80"):
        with pytest.raises(SystemExit, match="127.0.0.1:PORT"):
            load_test.checked_url(url)


def test_load_test_refuses_a_remote_url_before_sending_anything():
    result = subprocess.run([sys.executable, str(SCRIPTS / "load_test.py"), "--url", "http://example.com:80",
                             "--seconds", "1"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "127.0.0.1:PORT" in result.stderr


def test_latency_summary():
    out = load_test.summary_ms([0.010 * i for i in range(1, 101)])     # 10 ms .. 1000 ms
    assert out == {"count": 100, "median_ms": 505.0, "p95_ms": 950.0, "max_ms": 1000.0}
    assert load_test.summary_ms([])["p95_ms"] is None


def test_cap_check_needs_exactly_the_overflow_turned_away_with_the_busy_message():
    def result(i, trained, refusal=None, step=5):
        r = load_test.SessionResult(i, "ring", i, 2 + i, trained=trained, refusal=refusal)
        r.final_step = step if trained else 0
        return r

    busy = "busy — 2 trainings are running, try again in a minute"
    assert load_test.cap_check([result(0, True), result(1, True), result(2, False, busy)], 2, 2) == (True, [])
    ok, problems = load_test.cap_check([result(0, True), result(1, True), result(2, True)], 2, 3)
    assert not ok and "0 sessions turned away, expected 1" in problems[0] and "above the cap" in problems[-1]
    ok, problems = load_test.cap_check([result(0, True), result(1, True), result(2, False, "oops")], 2, None)
    assert not ok and "without the busy message" in problems[0]
    ok, problems = load_test.cap_check([result(0, True, step=0), result(1, True), result(2, False, busy)], 2, 2)
    assert not ok and "never trained" in problems[0]


def test_plan_gives_every_session_its_own_run():
    plans = load_test.plan(8, seed=100)
    assert len({(p.dataset, p.seed, p.latent_dim) for p in plans}) == 8
    assert len({p.latent_dim for p in plans}) == 8, "the latent size is what proves a live model is one's own"


def test_memory_summary_measures_growth_from_the_first_sample_after_warm_up():
    samples = [{"t_s": t, "rss_mb": mb} for t, mb in [(0, 500.0), (5, 800.0), (10, 820.0), (15, 900.0), (20, 840.0)]]
    out = soak.memory_summary(samples, warmup_s=10, max_growth=0.05)
    assert (out["start_mb"], out["after_warmup_mb"], out["peak_mb"], out["end_mb"]) == (500.0, 820.0, 900.0, 840.0)
    assert out["growth_after_warmup"] == pytest.approx(20 / 820, abs=1e-4) and out["growth_ok"] is True
    assert soak.memory_summary(samples, warmup_s=10, max_growth=0.01)["growth_ok"] is False


def test_rss_reads_this_process():
    assert 10 < soak.rss_mb() < 100_000


def test_stall_watch_dumps_every_thread_once_a_request_waits_too_long(tmp_path):
    dump = tmp_path / "stalls.txt"
    watch = soak.StallWatch(seconds=0.05, path=str(dump), limit=1)
    with watch.guard("a slow render"):
        time.sleep(0.3)
    with watch.guard("a quick render"):      # finishes before its timer: no dump
        pass
    with watch.guard("another slow render"):  # over the limit of one dump
        time.sleep(0.3)
    text = dump.read_text()
    assert watch.dumps == 1 and text.count("===") == 1
    assert "a slow render has waited 0.05 s" in text
    assert "test_stall_watch_dumps_every_thread" in text      # the stack of the thread that was waiting
