"""Soak test: one process runs the app's server and a few simulated visitors for a long time, and watches memory.

    python scripts/soak.py --minutes 30 [--interval 10] [--csv out.csv] [--max-growth 0.10] [--json]

Each visitor (a thread) repeats, until the time is up: open a session (a gradio_client Client), train a 2D
dataset, drag latent sliders on its live model (and now and then on the bundled digits checkpoint, the image
path), poll its status, sometimes Stop + Reset and train a fresh run, then close the session, sometimes while
still training (a closed tab). The process RSS (VmRSS from /proc/self/status) is sampled every --interval s.

At the end it reports RSS at the start, after warm-up, at the peak and at the end (after every session has
closed), the growth after warm-up, and checks that closed sessions were cleaned up: gone from the registry,
their trainers stopped with no trainer thread left, and (after garbage collection) no closed session's
Trainer still alive. Exits 1 if growth exceeds --max-growth, cleanup failed, or any request failed.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import faulthandler
import gc
import json
import os
import random
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))   # load_test.py sits beside this file

from load_test import (DATASETS, NO_TLS, call, log, problem_of, slider_values, start_server,  # noqa: E402
                       stop_server, summary_ms, train_settings, wait_for)
from playground.web.sessions import checkpoints_root  # noqa: E402  (numpy only; load_test put the repo on the path)

CLEANUP_TIMEOUT = 60.0       # closed sessions must be gone from the registry by then
FIRST_STEP_TIMEOUT = 120.0


def rss_mb() -> float:
    """This process's resident memory, from the kernel (no psutil needed)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS line in /proc/self/status (not Linux?)")


def trainer_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "gan-trainer" and t.is_alive())


@dataclass
class Stats:
    """Shared by the visitors; appended to from several threads (list.append is atomic)."""
    renders: list = field(default_factory=list)          # slider round trips, seconds
    # (session hash, [weakrefs to its trainers]). Weak on purpose: an earlier version also kept the trainers
    # themselves until the end, and that alone "leaked" ~20 MB per run in the 30-minute soak.
    closed: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    counts: dict = field(default_factory=lambda: dict(opened=0, runs=0, resets=0, abandoned=0))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str) -> None:
        with self.lock:                                  # `+=` is not atomic across threads
            self.counts[name] += 1


class StallWatch:
    """Dumps every thread's stack (faulthandler) when one request has waited `seconds`. Earlier soaks saw one
    ~40 s stall per half hour; a stack taken during it shows where the server was stuck."""

    def __init__(self, seconds: float, path: str | None, limit: int = 3):
        self.seconds, self.path, self.limit = seconds, path, limit
        self.dumps, self.lock = 0, threading.Lock()

    @contextlib.contextmanager
    def guard(self, what: str):
        timer = threading.Timer(self.seconds, self.dump, args=(what,))
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def dump(self, what: str) -> None:
        with self.lock:
            if self.dumps >= self.limit:
                return
            self.dumps += 1
            with open(self.path, "a") if self.path else contextlib.nullcontext(sys.stderr) as out:
                out.write(f"\n=== {time.strftime('%H:%M:%S')}: {what} has waited {self.seconds:g} s; every thread:\n")
                out.flush()
                faulthandler.dump_traceback(file=out, all_threads=True)


class Visitor:
    """One simulated user, opening and closing sessions one after another until the deadline."""

    def __init__(self, index, url, registry, stats, deadline, seed, cycle_seconds, pause, watch):
        self.index, self.url, self.registry, self.stats, self.watch = index, url, registry, stats, watch
        self.deadline, self.rng, self.cycle_seconds, self.pause = deadline, random.Random(seed), cycle_seconds, pause
        self.digits = str(checkpoints_root() / "digits")
        self.runs = 0

    def __call__(self):
        for _ in range(10_000):                 # bounded; the deadline ends it long before
            if time.monotonic() > self.deadline - 2:
                return
            try:
                self.one_session()
            except Exception as exc:  # noqa: BLE001 — recorded; the soak goes on with a new session
                self.stats.errors.append(f"visitor {self.index}: {type(exc).__name__}: {exc}")
                time.sleep(1.0)

    def settings(self) -> list:
        self.runs += 1
        dataset = self.rng.choice(DATASETS)
        return train_settings(dataset, seed=1000 * self.index + self.runs, latent_dim=self.rng.randint(2, 4))

    def one_session(self):
        from gradio_client import Client

        client, trainers = Client(self.url, verbose=False, **NO_TLS), []     # why: load_test.NO_TLS
        self.stats.add("opened")
        try:
            trainers.append(self.start_run(client, "/train", self.settings()))
            self.drag_for(client, self.rng.uniform(0.5, 1.0) * self.cycle_seconds)
            if self.rng.random() < 0.3 and time.monotonic() < self.deadline - 5:   # start over once
                call(client, "/stop")
                trainers.append(self.start_run(client, "/reset", self.settings(), then_train=True))
                self.stats.add("resets")
                self.drag_for(client, 0.5 * self.cycle_seconds)
            if self.rng.random() < 0.5:
                call(client, "/stop")
            else:
                self.stats.add("abandoned")       # the tab closes mid-training: cleanup must stop it
        finally:
            hash_ = client.session_hash
            client.close()
            self.stats.closed.append((hash_, [weakref.ref(t) for t in trainers if t is not None]))

    def start_run(self, client, api_name, settings, then_train=False):
        call(client, api_name, *settings)
        if then_train:
            call(client, "/train", *settings)
        self.stats.add("runs")
        if not wait_for(lambda: self.first_step_or_explore(client), time.monotonic() + FIRST_STEP_TIMEOUT, pause=0):
            raise RuntimeError("training never took a step")
        hash_ = client.session_hash                     # in-process: the server's own record
        return self.registry.trainer(hash_) if self.registry.has_session(hash_) else None

    def first_step_or_explore(self, client) -> bool:
        """While the new model builds (seconds, on a busy CPU), the visitor plays with the bundled digits model."""
        if call(client, "/run_status")["step"] > 0:
            return True
        self.render(client, self.digits, 0.0)
        return False

    def render(self, client, source, phase):
        started = time.perf_counter()
        with self.watch.guard(f"visitor {self.index}'s slider render"):
            values = slider_values(time.monotonic(), phase)
            outputs = call(client, "/explore_render", source, "raw", 0, 1.0, None, *values)
        if problem_of(outputs):                       # the page shows it in the Explore tab's message area
            raise RuntimeError(f"a slider render was refused: {problem_of(outputs)}")
        self.stats.renders.append(time.perf_counter() - started)
        time.sleep(self.pause)

    def drag_for(self, client, seconds):
        end, phase = min(self.deadline, time.monotonic() + seconds), self.rng.uniform(0, 6)
        for _ in range(100_000):
            if time.monotonic() >= end:
                return
            # Mostly the live 2D model; one drag in eight on the bundled digits model (image + PNG path).
            self.render(client, self.digits if self.rng.random() < 0.125 else "live", phase)
            if self.rng.random() < 0.1:
                call(client, "/run_status")


class RssRecorder(threading.Thread):
    """Samples RSS and the registry every `interval` seconds until stopped."""

    def __init__(self, interval, registry, stats):
        super().__init__(name="rss-recorder", daemon=True)
        self.interval, self.registry, self.stats = interval, registry, stats
        self.samples, self.started, self.halt = [], time.monotonic(), threading.Event()

    def sample(self):
        self.samples.append({"t_s": round(time.monotonic() - self.started, 1), "rss_mb": round(rss_mb(), 1),
                             "sessions": self.registry.session_count(), "running": self.registry.running_count(),
                             "trainer_threads": trainer_threads(), "renders": len(self.stats.renders)})

    def run(self):
        self.sample()
        while not self.halt.wait(self.interval):
            self.sample()


def check_cleanup(registry, stats) -> dict:
    """Every closed session gone from the registry, its trainers stopped, their threads ended and freed."""
    closed_ids = {hash_ for hash_, _ in stats.closed}
    refs = [ref for _, refs in stats.closed for ref in refs]

    def alive_trainers():
        return [t for t in (ref() for ref in refs) if t is not None]

    def done():
        # The registry forgets a session first and then stops its trainer (joining its thread): wait for both.
        return (not any(registry.has_session(h) for h in closed_ids) and trainer_threads() == 0
                and all(t.status in ("stopped", "error") for t in alive_trainers()))

    started = time.monotonic()
    wait_for(done, started + CLEANUP_TIMEOUT, pause=0.25)
    waited = round(time.monotonic() - started, 1)
    left = sorted(h for h in closed_ids if registry.has_session(h))
    not_stopped = [t.status for t in alive_trainers() if t.status not in ("stopped", "error")]
    collect_started = time.monotonic()

    def collected():
        # A request still in flight when its tab closed can hold a trainer for a moment: collect until every
        # closed trainer is freed, or the timeout says one is really kept.
        gc.collect()
        return all(ref() is None for ref in refs)

    wait_for(collected, collect_started + CLEANUP_TIMEOUT, pause=0.5)
    alive = sum(ref() is not None for ref in refs)
    log(f"cleanup checked after {waited} s (garbage collection took {time.monotonic() - collect_started:.1f} s)")
    return {"sessions_closed": len(closed_ids), "waited_s": waited, "sessions_left_in_registry": len(left),
            "trainers_checked": len(refs), "trainers_not_stopped": len(not_stopped),
            "trainer_threads_alive": trainer_threads(), "trainers_alive_after_gc": alive,
            "ok": not left and not not_stopped and trainer_threads() == 0 and alive == 0}


def memory_summary(samples, warmup_s, max_growth) -> dict:
    after = next((s for s in samples if s["t_s"] >= warmup_s), samples[-1])
    end = samples[-1]
    growth = (end["rss_mb"] - after["rss_mb"]) / after["rss_mb"]
    return {"start_mb": samples[0]["rss_mb"], "after_warmup_mb": after["rss_mb"], "after_warmup_t_s": after["t_s"],
            "peak_mb": max(s["rss_mb"] for s in samples), "end_mb": end["rss_mb"],
            "growth_after_warmup": round(growth, 4), "max_growth": max_growth, "growth_ok": growth <= max_growth}


def run_soak(seconds, interval, sessions, warmup_s, max_growth, cycle_seconds, pause, seed,
             stall_seconds=10.0, stall_dump=None) -> dict:
    os.environ["GRADIO_HEARTBEAT_INTERVAL"] = "1"   # Gradio notices a closed session within ~1 s (default 15 s)
    demo, url, registry = start_server(cap=sessions)      # one slot per visitor: nobody is turned away here
    stats, watch = Stats(), StallWatch(stall_seconds, stall_dump)
    recorder = RssRecorder(interval, registry, stats)
    try:
        recorder.start()
        log(f"soak running for {seconds:g} s with {sessions} visitors")
        deadline = time.monotonic() + seconds
        visitors = [threading.Thread(name=f"visitor-{i}", target=Visitor(
                        i, url, registry, stats, deadline, seed + i, cycle_seconds, pause, watch))
                    for i in range(sessions)]
        for v in visitors:
            v.start()
        for v in visitors:
            v.join(timeout=seconds + FIRST_STEP_TIMEOUT + 120)
        log("visitors done")
        stats.errors += [f"{v.name} did not finish" for v in visitors if v.is_alive()]
        cleanup = check_cleanup(registry, stats)
        recorder.halt.set()
        recorder.join(timeout=interval + 5)
        recorder.sample()            # the end: server still up, every session closed and collected
    finally:
        recorder.halt.set()
        stop_server(demo, registry)
    return {"seconds": seconds, "interval": interval, "sessions": sessions, "warmup_s": warmup_s,
            "rss": memory_summary(recorder.samples, warmup_s, max_growth), "samples": recorder.samples,
            "sessions_opened": stats.counts["opened"], "runs_started": stats.counts["runs"],
            "resets": stats.counts["resets"], "abandoned_while_training": stats.counts["abandoned"],
            "render_latency": summary_ms(stats.renders),
            "stall_dumps": watch.dumps, "cleanup": cleanup,
            "errors": len(stats.errors), "error_messages": stats.errors[:20],
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def write_csv(path, samples) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(samples[0]))
        writer.writeheader()
        writer.writerows(samples)


def print_human(out) -> None:
    m, c, lat = out["rss"], out["cleanup"], out["render_latency"]
    print(f"soak: {out['seconds']:g} s, {out['sessions']} visitors, {out['sessions_opened']} sessions opened, "
          f"{out['runs_started']} runs ({out['resets']} after a reset), {out['abandoned_while_training']} closed "
          f"while training, {lat['count']} slider renders (median {lat['median_ms']} ms, p95 {lat['p95_ms']} ms)")
    for s in out["samples"]:
        print(f"  t={s['t_s']:>7.1f} s  RSS {s['rss_mb']:>8.1f} MB  sessions {s['sessions']}  running {s['running']}")
    print(f"RSS: start {m['start_mb']} MB, after warm-up ({m['after_warmup_t_s']} s) {m['after_warmup_mb']} MB, "
          f"peak {m['peak_mb']} MB, end {m['end_mb']} MB; growth after warm-up {100 * m['growth_after_warmup']:.1f}% "
          f"(limit {100 * m['max_growth']:.0f}%: {'ok' if m['growth_ok'] else 'EXCEEDED'})")
    print(f"cleanup: {c['sessions_closed']} sessions closed, {c['sessions_left_in_registry']} left in the registry, "
          f"{c['trainers_not_stopped']} trainers not stopped, {c['trainer_threads_alive']} trainer threads alive, "
          f"{c['trainers_alive_after_gc']} closed trainers still in memory: {'ok' if c['ok'] else 'FAILED'}")
    print(f"errors: {out['errors']}" + "".join(f"\n  {e}" for e in out["error_messages"]))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=30.0, help="how long to run")
    p.add_argument("--seconds", type=float, help="how long to run, in seconds (overrides --minutes)")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between RSS samples")
    p.add_argument("--warmup", type=float, help="seconds before the baseline RSS (default: 20%% of the run, <= 120)")
    p.add_argument("--max-growth", type=float, default=0.10, help="allowed RSS growth after warm-up (0.10 = 10%%)")
    p.add_argument("--sessions", type=int, default=2, help="simulated visitors at once")
    p.add_argument("--cycle", type=float, default=20.0, help="seconds one session stays open (roughly)")
    p.add_argument("--pause", type=float, default=0.1, help="seconds between one visitor's slider events")
    p.add_argument("--seed", type=int, default=0, help="seeds the visitors' choices")
    p.add_argument("--stall-seconds", type=float, default=10.0,
                   help="a render waiting this long dumps every thread's stack (at most 3 dumps)")
    p.add_argument("--stall-dump", help="append those stack dumps to this file (default: stderr)")
    p.add_argument("--csv", help="also write the RSS samples to this CSV file")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = p.parse_args(argv)
    args.seconds = args.minutes * 60 if args.seconds is None else args.seconds
    args.warmup = min(120.0, 0.2 * args.seconds) if args.warmup is None else args.warmup
    if not (0 < args.seconds <= 24 * 3600 and 0 < args.interval and 1 <= args.sessions <= 16 and args.cycle > 0):
        p.error("need 0 < --seconds <= 1 day, --interval > 0, 1 <= --sessions <= 16, --cycle > 0")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    out = run_soak(args.seconds, args.interval, args.sessions, args.warmup, args.max_growth, args.cycle,
                   args.pause, args.seed, args.stall_seconds, args.stall_dump)
    if args.csv:
        write_csv(args.csv, out["samples"])
    print(json.dumps(out), flush=True) if args.json else print_human(out)
    return 0 if out["rss"]["growth_ok"] and out["cleanup"]["ok"] and not out["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
