"""Load test: many browser sessions at once against the GAN Playground's Gradio API.

    python scripts/load_test.py --sessions 8 --seconds 60 [--cap 7] [--json] [--url http://127.0.0.1:PORT]

Starts the app's server in this process on a free 127.0.0.1 port (or targets --url, which must be 127.0.0.1;
that server must then run with GAN_MAX_TRAININGS equal to --cap). Every session is its own gradio_client
Client (its own session hash) in its own thread. All sessions press Train at the same moment, with the
training cap set to --cap (default sessions - 1), so exactly sessions - cap of them must be told "busy".
Then, for --seconds, each drags latent sliders (the /explore_render endpoint: its own live model, or the
bundled ring checkpoint if it was turned away) and polls its own /run_status; trained sessions stop at the end.

Isolation is checked concretely: each session trains a different (dataset, seed, latent size), and
  - its /run_status always names its own dataset, and its step never goes backwards;
  - /explore_refresh on its live model reports its own latent size (so the sampler it drags is its own);
  - a turned-away session keeps status "none" and its live render fails with "no model yet".
Slider latency is measured on the path the page itself uses: slider events skip Gradio's queue, so the
browser POSTs them to /gradio_api/run/explore_render with its session hash and then fetches the image the
answer points to. Every fourth drag goes through gradio_client instead (its queue join, event stream and
50 ms polling add their own cost), reported separately, as is /run_status (queued, no model work).
Reports slider latency (median / p95 / max; goal p95 < 250 ms), trainings started, turned away, errors.
Exits 1 if isolation or the cap check fails, or any request failed unexpectedly.
"""
from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import pathlib
import re
import socket
import statistics
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))                      # `python scripts/load_test.py` from anywhere
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")     # (playground/__init__ sets one TF thread per op, as app.py)

DATASETS = ("ring", "grid", "spiral", "moons")
P95_GOAL_MS = 250.0
CALL_TIMEOUT = 60.0          # one API call; a hung server fails the run instead of hanging it
GATE_TIMEOUT = 180.0         # waiting for every session to connect, or every model to take its first step
SLIDERS = 6
STARTED = time.monotonic()
# The server is plain HTTP on 127.0.0.1 (checked_url), so there is no certificate to verify. With verification on,
# gradio_client builds a fresh SSL context with the full CA bundle for every call, twice (~30-60 ms of CPU each on
# this machine, against ~1 ms without): 8 sessions' calls then kept most of a core busy in this process, a core
# the server under test was competing for. Browsers on a real Space do not run on the server's CPU.
NO_TLS = dict(ssl_verify=False)
BUSY = re.compile(r"busy — (\d+) trainings are running, try again in a minute")


def problem_of(outputs) -> str:
    """The problem an action reports in its message area (its last output, as the page shows it); "" if none."""
    message = outputs[-1] if isinstance(outputs, (list, tuple)) and outputs else ""
    if not isinstance(message, str) or "gan-error" not in message:
        return ""
    return html.unescape(re.sub(r"<style>.*?</style>|<[^>]+>", "", message)).replace("⚠️", "").strip()


def log(message: str) -> None:
    """Progress on stderr (stdout is the report), with seconds since start."""
    print(f"[{time.monotonic() - STARTED:7.1f} s] {message}", file=sys.stderr, flush=True)


# -- server and calls ------------------------------------------------------------------------------------
def checked_url(url: str) -> str:
    """Only servers on this machine's loopback: this script generates real load."""
    parts = urllib.parse.urlparse(url)
    if parts.scheme != "http" or parts.hostname != "127.0.0.1" or parts.port is None:
        raise SystemExit(f"error: --url must look like http://127.0.0.1:PORT, got {url!r}")
    return f"http://127.0.0.1:{parts.port}/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(cap: int):
    """The app's demo, as app.py builds it (registry from the environment), on a free loopback port."""
    os.environ["GAN_MAX_TRAININGS"] = str(cap)
    from playground.web.sessions import SessionRegistry
    from playground.web.app import build_demo, warm_up

    registry = SessionRegistry.from_env()
    registry.max_per_visitor = cap            # every session comes from 127.0.0.1: one visitor
    demo = build_demo(registry=registry)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(),
                            quiet=True)
    with contextlib.redirect_stdout(sys.stderr):   # keep stdout for the report (--json)
        warm_up()                                  # TF import + first trace, not inside the measured renders
    log(f"server up at {url} (training cap {registry.max_trainings})")
    return demo, checked_url(url), registry


def stop_server(demo, registry) -> None:
    if registry is not None:
        registry.close_all()                       # stops any trainer still running
    if demo is not None:
        with contextlib.redirect_stdout(sys.stderr):   # Gradio prints "Closing server..."
            demo.close()


def call(client, api_name: str, *args, timeout: float = CALL_TIMEOUT):
    """client.predict with a bound on the wait."""
    return client.submit(*args, api_name=api_name).result(timeout=timeout)


class PagePath:
    """A slider event as the page sends it: one POST to /gradio_api/run/<api> (the event skips the queue), then a
    GET of any image file in the answer. Same session hash as the session's gradio_client Client."""

    def __init__(self, url: str, session_hash: str):
        import httpx                                # gradio_client's own HTTP library

        self.url, self.session_hash = url, session_hash
        self.http = httpx.Client(timeout=CALL_TIMEOUT)

    def call(self, api_name: str, *data) -> list:
        answer = self.http.post(f"{self.url}gradio_api/run/{api_name}",
                                json={"data": list(data), "session_hash": self.session_hash})
        body = answer.json()
        if answer.status_code != 200:
            raise PageError(body.get("error") or answer.text[:300])
        outputs = body["data"]
        for output in outputs:
            if isinstance(output, dict) and output.get("url"):
                self.http.get(output["url"]).raise_for_status()
        return outputs

    def close(self) -> None:
        self.http.close()


class PageError(RuntimeError):
    """The server refused a page event (gr.Error): the message the page would show."""


def train_settings(dataset: str, seed: int, latent_dim: int) -> list:
    """/train's inputs: the dataset's own defaults (what one click on Train uses) with our seed and latent size."""
    from playground.engine.config import default_config

    c = default_config(dataset, seed=seed, latent_dim=latent_dim)
    return [c.dataset, c.loss, c.width, c.latent_dim, c.batch_size, c.lr_g, c.lr_d, c.d_steps, c.seed, c.ema,
            c.r1_gamma, c.augment, "auto", c.clusters, c.max_images, "", None]


def slider_values(t: float, phase: float) -> list[float]:
    """A smooth drag: every slider sweeps back and forth at its own rate."""
    import math

    return [round(2.0 * math.sin(0.7 * t * (k + 1) + phase), 2) for k in range(SLIDERS)]


def summary_ms(seconds: list[float]) -> dict:
    if not seconds:
        return {"count": 0, "median_ms": None, "p95_ms": None, "max_ms": None}
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return {"count": len(ms), "median_ms": round(statistics.median(ms), 1), "p95_ms": round(p95, 1),
            "max_ms": round(ms[-1], 1)}


def wait_for(predicate, deadline: float, pause: float = 0.2):
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(pause)
    return None


# -- one session -----------------------------------------------------------------------------------------
@dataclass
class SessionResult:
    index: int
    dataset: str
    seed: int
    latent_dim: int
    trained: bool = False
    refusal: str | None = None
    first_step_s: float | None = None                # Train pressed → first step seen (model build under load)
    final_step: int = 0
    polls: int = 0
    latencies: list = field(default_factory=list)          # /explore_render as the page sends it, seconds
    client_latencies: list = field(default_factory=list)   # /explore_render through gradio_client, seconds
    status_latencies: list = field(default_factory=list)   # /run_status: Gradio + client cost with no model work
    problems: list = field(default_factory=list)    # isolation violations
    errors: list = field(default_factory=list)      # unexpected failures


class SessionRun:
    """One simulated visitor: press Train with everyone else, drag sliders, poll status, stop."""

    def __init__(self, result: SessionResult, url: str, gates: tuple, seconds: float, pause: float,
                 ring_checkpoint: str):
        self.r, self.url, self.seconds, self.pause = result, url, seconds, pause
        self.start_gate, self.ready_gate = gates
        self.ring_checkpoint, self.last_step = ring_checkpoint, 0

    def __call__(self):
        from gradio_client import Client

        client = page = None
        try:
            client = Client(self.url, verbose=False, **NO_TLS)
            page = PagePath(self.url, client.session_hash)
            self.start_gate.wait(timeout=GATE_TIMEOUT)      # everyone presses Train together
            self.press_train(client)
            source = self.prepare_trained(client) if self.r.trained else self.prepare_refused(client, page)
            # Drag only once every model exists, so the measured window is N sessions dragging while the
            # trainings run (building N models at once is a separate, reported cost: first_step_s).
            self.ready_gate.wait(timeout=GATE_TIMEOUT)
            self.drag(client, page, source, time.monotonic() + self.seconds)
            if self.r.trained:
                self.stop(client)
        except Exception as exc:  # noqa: BLE001 — recorded and reported; the other sessions go on
            self.r.errors.append(f"{type(exc).__name__}: {exc}")
            self.start_gate.abort()                 # do not leave the others waiting at a gate for us
            self.ready_gate.abort()
        finally:
            for connection in (page, client):
                if connection is not None:
                    connection.close()

    def press_train(self, client):
        """Train's problems come back in its message area (its last output), as the page shows them."""
        refusal = problem_of(call(client, "/train", *train_settings(self.r.dataset, self.r.seed, self.r.latent_dim)))
        if refusal:
            self.r.refusal = refusal
        else:
            self.r.trained = True

    def prepare_trained(self, client):
        """Wait for the first steps, then check the live model is this session's own (its latent size)."""
        pressed = time.monotonic()
        if not wait_for(lambda: self.poll(client)["step"] > 0, pressed + GATE_TIMEOUT / 2):
            raise RuntimeError("training never took a step")
        self.r.first_step_s = round(time.monotonic() - pressed, 2)
        *_, info, _ = call(client, "/explore_refresh", "live", "raw", 0, 1.0, None, *[0.0] * SLIDERS)
        if f"latent size {self.r.latent_dim}" not in info:
            self.r.problems.append(f"live model is not ours: {info!r} (our latent size is {self.r.latent_dim})")
        return "live"

    def prepare_refused(self, client, page):
        """A turned-away session must see nothing of the others' runs; it explores a bundled checkpoint."""
        self.poll(client)
        for render in (lambda *a: call(client, "/explore_render", *a), lambda *a: page.call("explore_render", *a)):
            refusal = problem_of(render("live", "raw", 0, 1.0, None, *[0.0] * SLIDERS))
            if not refusal:
                self.r.problems.append("a session without a run could render a live model")
            elif "no model yet" not in refusal:
                self.r.errors.append(f"unexpected live-render refusal: {refusal}")
        # As the page does on load: open the bundled model once (loading it is not a slider render).
        *_, info, _ = call(client, "/explore_refresh", self.ring_checkpoint, "raw", 0, 1.0, None, *[0.0] * SLIDERS)
        if "2D generator" not in info:
            self.r.errors.append(f"the bundled ring checkpoint did not open as a 2D model: {info!r}")
        return self.ring_checkpoint

    def drag(self, client, page, source, deadline):
        phase, next_poll = self.r.index * 0.9, time.monotonic() + 1.0
        for event in range(1_000_000):             # bounded; the deadline ends it
            if time.monotonic() >= deadline:
                break
            values = slider_values(time.monotonic(), phase)
            through_client = event % 4 == 3
            started = time.perf_counter()
            if through_client:
                outputs = call(client, "/explore_render", source, "raw", 0, 1.0, None, *values)
            else:
                outputs = page.call("explore_render", source, "raw", 0, 1.0, None, *values)
            (self.r.client_latencies if through_client else self.r.latencies).append(time.perf_counter() - started)
            if problem_of(outputs):
                self.r.errors.append(f"a slider render was refused: {problem_of(outputs)}")
            elif '"data"' not in str(outputs[1]):
                self.r.errors.append("a slider render returned no figure")
            if time.monotonic() >= next_poll:
                self.poll(client)
                next_poll = time.monotonic() + 1.0
            time.sleep(self.pause)                 # a dragging hand sends ~20 events a second at most

    def poll(self, client) -> dict:
        """/run_status, checked: our dataset, a step that never goes back; nothing at all if turned away."""
        started = time.perf_counter()
        status = call(client, "/run_status")
        self.r.status_latencies.append(time.perf_counter() - started)
        self.r.polls += 1
        if not self.r.trained:
            if status != {"status": "none", "step": 0}:
                self.r.problems.append(f"turned-away session sees a run: {status}")
            return status
        if status.get("dataset") != self.r.dataset:
            self.r.problems.append(f"status names dataset {status.get('dataset')!r}, ours is {self.r.dataset!r}")
        if status["step"] < self.last_step:
            self.r.problems.append(f"step went back from {self.last_step} to {status['step']}")
        if status.get("error"):
            self.r.errors.append(f"training error: {status['error']}")
        self.last_step = max(self.last_step, status["step"])
        return status

    def stop(self, client):
        call(client, "/stop")
        stopped = self.poll(client)
        time.sleep(0.6)                             # longer than one publish interval
        later = self.poll(client)
        if stopped["status"] != "stopped" or later["step"] != stopped["step"]:
            self.r.problems.append(f"stop did not hold: {stopped} then {later}")
        self.r.final_step = later["step"]


# -- the whole test --------------------------------------------------------------------------------------
def plan(sessions: int, seed: int) -> list[SessionResult]:
    """A different dataset (in turn), seed and latent size per session, so every run is recognisably its own."""
    return [SessionResult(i, DATASETS[i % len(DATASETS)], seed + i, 2 + i) for i in range(sessions)]


def monitor_running(registry, stop: threading.Event, peak: list) -> None:
    """The most trainings ever running at once (in-process only): must never exceed the cap."""
    while not stop.wait(0.05):
        peak[0] = max(peak[0], registry.running_count())


def run_load(url, sessions, seconds, cap, pause, seed, registry=None) -> dict:
    from playground.web.sessions import checkpoints_root

    results = plan(sessions, seed)
    gates = (threading.Barrier(sessions, action=lambda: log(f"{sessions} sessions connected; all press Train")),
             threading.Barrier(sessions, action=lambda: log(f"every model took a step; dragging for {seconds:g} s")))
    ring = str(checkpoints_root() / "ring")
    threads = [threading.Thread(target=SessionRun(r, url, gates, seconds, pause, ring), name=f"session-{r.index}")
               for r in results]
    stop, peak = threading.Event(), [0]
    watcher = threading.Thread(target=monitor_running, args=(registry, stop, peak), daemon=True) if registry else None
    for t in threads + ([watcher] if watcher else []):
        t.start()
    for t in threads:
        t.join(timeout=seconds + 2 * GATE_TIMEOUT + 60)    # bounded: a stuck session is reported, not awaited
    stop.set()
    log("sessions done")
    stuck = [t.name for t in threads if t.is_alive()]
    return report(results, cap, peak[0] if registry else None, stuck, seconds)


def cap_check(results, cap, peak) -> tuple[bool, list[str]]:
    sessions, problems = len(results), []
    started = [r for r in results if r.trained]
    refused = [r for r in results if not r.trained]
    expected_refused = max(0, sessions - cap)
    if len(refused) != expected_refused:
        problems.append(f"{len(refused)} sessions turned away, expected {expected_refused}")
    for r in refused:
        match = BUSY.search(r.refusal or "")
        if not match or int(match.group(1)) != cap:
            problems.append(f"session {r.index} was refused without the busy message: {r.refusal!r}")
    problems += [f"session {r.index} started but never trained (final step 0)" for r in started if r.final_step <= 0]
    if peak is not None and peak > cap:
        problems.append(f"{peak} trainings ran at once, above the cap of {cap}")
    return not problems, problems


def report(results, cap, peak, stuck, seconds) -> dict:
    cap_ok, cap_problems = cap_check(results, cap, peak)
    latency = summary_ms([x for r in results for x in r.latencies])
    errors = [f"session {r.index}: {e}" for r in results for e in r.errors]
    errors += [f"{name} did not finish" for name in stuck]
    isolation = [f"session {r.index}: {p}" for r in results for p in r.problems]
    return {
        "sessions": len(results), "cap": cap, "seconds": seconds,
        "slider_latency": latency,
        "slider_latency_gradio_client": summary_ms([x for r in results for x in r.client_latencies]),
        "status_latency": summary_ms([x for r in results for x in r.status_latencies]),
        "load_average": [round(x, 2) for x in os.getloadavg()],   # the machine is shared: context for the numbers
        "p95_goal_ms": P95_GOAL_MS, "p95_goal_met": latency["p95_ms"] is not None and latency["p95_ms"] < P95_GOAL_MS,
        "trainings_started": sum(r.trained for r in results),
        "turned_away": sum(not r.trained for r in results),
        "busy_messages": [r.refusal for r in results if not r.trained],
        "peak_running": peak,
        "cap_ok": cap_ok, "cap_problems": cap_problems,
        "isolation_ok": not isolation, "isolation_problems": isolation,
        "errors": len(errors), "error_messages": errors[:20],
        "per_session": [{"index": r.index, "dataset": r.dataset, "seed": r.seed, "latent_dim": r.latent_dim,
                         "trained": r.trained, "first_step_s": r.first_step_s, "final_step": r.final_step,
                         "renders": len(r.latencies),
                         "polls": r.polls} for r in results],
    }


def print_human(out: dict) -> None:
    lat = out["slider_latency"]
    print(f"{out['sessions']} sessions for {out['seconds']:g} s, cap {out['cap']}: "
          f"{out['trainings_started']} trained, {out['turned_away']} turned away, {out['errors']} errors")
    print(f"slider renders: {lat['count']}  median {lat['median_ms']} ms  p95 {lat['p95_ms']} ms  "
          f"max {lat['max_ms']} ms  (goal p95 < {P95_GOAL_MS:g} ms: {'met' if out['p95_goal_met'] else 'NOT met'})")
    cl = out["slider_latency_gradio_client"]
    print(f"the same renders through gradio_client: {cl['count']}  median {cl['median_ms']} ms  p95 {cl['p95_ms']} ms")
    st = out["status_latency"]
    print(f"/run_status through gradio_client (no model work): median {st['median_ms']} ms  p95 {st['p95_ms']} ms  max {st['max_ms']} ms;"
          f" load average {out['load_average']}")
    for s in out["per_session"]:
        print(f"  session {s['index']}: {s['dataset']:<6} seed {s['seed']} latent {s['latent_dim']} "
              f"{'trained to step ' + str(s['final_step']) if s['trained'] else 'turned away'}, {s['renders']} renders"
              + (f", first step after {s['first_step_s']} s" if s["first_step_s"] is not None else ""))
    print(f"cap check: {'ok' if out['cap_ok'] else 'FAILED ' + '; '.join(out['cap_problems'])}")
    print(f"isolation: {'ok' if out['isolation_ok'] else 'FAILED ' + '; '.join(out['isolation_problems'][:5])}")
    for message in out["error_messages"]:
        print(f"  error: {message}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=8, help="simultaneous sessions (at least 2)")
    p.add_argument("--seconds", type=float, default=60.0, help="how long each session drags sliders")
    p.add_argument("--cap", type=int, help="GAN_MAX_TRAININGS for the server (default: sessions - 1)")
    p.add_argument("--pause", type=float, default=0.05, help="seconds between one session's slider events")
    p.add_argument("--seed", type=int, default=100, help="first session's training seed (then +1 each)")
    p.add_argument("--url", help="an already running server, http://127.0.0.1:PORT only")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = p.parse_args(argv)
    args.cap = args.sessions - 1 if args.cap is None else args.cap
    if args.sessions < 2 or not 1 <= args.cap or not 0 < args.seconds <= 3600:
        p.error("need --sessions >= 2, --cap >= 1 and 0 < --seconds <= 3600")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    demo = registry = None
    try:
        if args.url:
            url = checked_url(args.url)
        else:
            demo, url, registry = start_server(args.cap)
        out = run_load(url, args.sessions, args.seconds, args.cap, args.pause, args.seed, registry)
    finally:
        stop_server(demo, registry)
    print(json.dumps(out), flush=True) if args.json else print_human(out)
    return 0 if out["cap_ok"] and out["isolation_ok"] and not out["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
