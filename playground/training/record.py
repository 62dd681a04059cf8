"""What a saved run keeps beside its weights, and the checks it passes when it comes back from a file (anyone's,
for an uploaded zip): the loss and metric histories, trained time and the user's marks (plain JSON, meta.json's
"record") and the timeline's frames (timeline.npz, each array's header checked before any of its data is read).
A part that fails its checks is left out with a warning: the run's weights, the user's work, still load."""
from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass, field

import numpy as np

from playground.engine.run_files import MAX_RECORD_FILE_BYTES, TIMELINE_FILE
from playground.training.history import History
from playground.training.snapshot import METRIC_HISTORY_KEYS
from playground.training.timeline import CAPACITY, FRAME_DTYPES, Timeline

METRIC_HISTORY_POINTS = 200  # live metrics arrive every few seconds: 200 points span a long run
MAX_MARKS = 50               # user actions marked on the loss chart
MAX_STEP = 2**53             # steps beyond any real run (and beyond what JSON numbers keep exactly)


def new_metric_history() -> History:
    return History(METRIC_HISTORY_KEYS, METRIC_HISTORY_POINTS)


def saved_record(history: History, metric_history: History, wall_time: float, marks) -> dict:
    """The JSON part: loss and metric histories (non-finite values as null), trained seconds, marks."""
    steps, values = history.export()
    metric_steps, metric_values = metric_history.export()
    return {"wall_time": wall_time, "history_steps": steps.tolist(), "history": _json_columns(values),
            "metric_steps": metric_steps.tolist(), "metric_history": _json_columns(metric_values),
            "marks": [[step, label] for step, label in marks]}


def _json_columns(values: dict) -> dict:
    return {key: [float(v) if np.isfinite(v) else None for v in column] for key, column in values.items()}


def saved_files(timeline: Timeline) -> dict:
    """The file part: {file name: bytes}; the timeline compressed (sample grids are mostly flat), when it has frames."""
    arrays = timeline.arrays()
    if arrays is None:
        return {}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return {TIMELINE_FILE: buffer.getvalue()}


@dataclass
class Restored:
    """What a saved record gave back; None where a part was absent or failed its checks (said in `problems`)."""
    history: History | None = None
    wall_time: float = 0.0
    marks: list = field(default_factory=list)
    metric_history: History | None = None
    timeline: Timeline | None = None
    problems: list = field(default_factory=list)


def restored(record, files: dict, kind: str, frame_shape: tuple) -> Restored:
    """A saved run's record and record files, each part checked; `kind` and `frame_shape` are what the loaded
    run draws (a timeline of other pictures is left out)."""
    kept = Restored()
    if not isinstance(record, dict):
        record = {"history_steps": record}      # fails the history's checks: said once, like any bad part
    if "history_steps" in record:
        _attempt(kept, "saved history", lambda: _restore_losses(kept, record))
    if "metric_steps" in record:
        _attempt(kept, "saved metric history", lambda: setattr(kept, "metric_history", checked_history(
            record["metric_steps"], record.get("metric_history"), new_metric_history())))
    if TIMELINE_FILE in files:
        _attempt(kept, "saved timeline", lambda: setattr(kept, "timeline", read_timeline(
            files[TIMELINE_FILE], kind, frame_shape)))
    return kept


def _attempt(kept: Restored, part: str, restore) -> None:
    try:
        restore()
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        kept.problems.append(f"This run's {part} could not be read ({exc}); it loads without it.")


def _restore_losses(kept: Restored, record: dict) -> None:
    wall_time = record["wall_time"]
    if not _is_number(wall_time) or not 0 <= wall_time < 1e9:
        raise ValueError(f"trained time {wall_time!r} is not a number of seconds")
    marks = record.get("marks", [])
    if not isinstance(marks, list) or not all(isinstance(m, list) and len(m) == 2 and _is_step(m[0]) for m in marks):
        raise ValueError("marks must be [step, label] pairs")
    kept.history = checked_history(record["history_steps"], record.get("history"), History())
    kept.wall_time = float(wall_time)
    kept.marks = [(step, str(label)[:60]) for step, label in marks[-MAX_MARKS:]]


def checked_history(steps, columns, history: History) -> History:
    """`history` (empty) filled from saved steps and {key: values}; ValueError / TypeError say what is wrong."""
    if not isinstance(steps, list) or len(steps) > 2 * history.max_points or not isinstance(columns, dict):
        raise ValueError(f"its steps must be a list of at most {2 * history.max_points:,}, with a table of values")
    if not all(_is_step(step) for step in steps) or any(later < step for step, later in zip(steps, steps[1:])):
        raise ValueError("its steps must be whole numbers that never go down")
    known = [key for key in history.keys if key in columns]
    for key in known:
        if not isinstance(columns[key], list) or len(columns[key]) != len(steps):
            raise ValueError(f"{key} must hold one value per step")
        if not all(v is None or (_is_number(v) and np.isfinite(v)) for v in columns[key]):
            raise ValueError(f"{key} must hold finite numbers (or null)")
    for i, step in enumerate(steps):
        history.add(step, {key: np.nan if columns[key][i] is None else float(columns[key][i]) for key in known})
    return history


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_step(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_STEP


# -- the timeline file -------------------------------------------------------------------------------------------
def read_timeline(data: bytes, kind: str, frame_shape: tuple) -> Timeline:
    """timeline.npz's bytes → Timeline: exactly `steps` (F,) ints increasing, `frames` (F, *frame_shape) of the
    kind's dtype and `every` (a whole number), F at most CAPACITY; ValueError says what is wrong."""
    if len(data) > MAX_RECORD_FILE_BYTES:
        raise ValueError(f"{TIMELINE_FILE} is over {MAX_RECORD_FILE_BYTES // 2**20} MB, more than any run's timeline")
    try:
        archive = _opened(data)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError(f"{TIMELINE_FILE} holds one bare array, not the arrays steps, frames and every")
        with archive:
            _check_headers(archive, kind, frame_shape)
            steps, frames, every = archive["steps"], archive["frames"], int(archive["every"])
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise ValueError(f"{TIMELINE_FILE} is not a readable NumPy archive ({type(exc).__name__})") from exc
    if steps.min() < 1 or steps.max() >= MAX_STEP or np.any(np.diff(steps.astype(np.int64)) <= 0):
        raise ValueError(f"{TIMELINE_FILE}: its steps must be whole numbers from 1 that only go up")
    if not 1 <= every < MAX_STEP:
        raise ValueError(f"{TIMELINE_FILE}: its interval must be a whole number of steps from 1, got {every}")
    if not np.isfinite(frames).all():
        raise ValueError(f"{TIMELINE_FILE}: its frames hold NaN or infinite values")
    return Timeline.restored(every, steps, frames)


def _opened(data: bytes):
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:     # NumPy's words suggest loading it unsafely: never
        raise ValueError(f"{TIMELINE_FILE} is not a NumPy archive (a pickle is never loaded)") from exc


def _check_headers(archive, kind: str, frame_shape: tuple) -> None:
    """Each array's shape and dtype, from its header alone: nothing larger than a real timeline is ever read."""
    if sorted(archive.files) != ["every", "frames", "steps"]:
        raise ValueError(f"{TIMELINE_FILE} must hold exactly the arrays every, frames and steps, not "
                         f"{sorted(archive.files)[:5]}")
    (steps_shape, steps_dtype), (frames_shape, frames_dtype), (every_shape, every_dtype) = (
        _header(archive, name) for name in ("steps", "frames", "every"))
    if steps_dtype.kind not in "iu" or len(steps_shape) != 1 or not 1 <= steps_shape[0] <= CAPACITY:
        raise ValueError(f"{TIMELINE_FILE}: steps must be 1 to {CAPACITY} whole numbers, got {steps_dtype} "
                         f"{steps_shape}")
    if every_dtype.kind not in "iu" or every_shape != ():
        raise ValueError(f"{TIMELINE_FILE}: every must be one whole number, got {every_dtype} {every_shape}")
    expected = (steps_shape[0], *frame_shape)
    if frames_dtype != FRAME_DTYPES[kind] or tuple(frames_shape) != expected:
        raise ValueError(f"{TIMELINE_FILE}: frames must be {FRAME_DTYPES[kind]} {expected} for this run, got "
                         f"{frames_dtype} {tuple(frames_shape)}")


def _header(archive, name: str) -> tuple:
    with archive.zip.open(f"{name}.npy") as stream:
        version = np.lib.format.read_magic(stream)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"{TIMELINE_FILE}: {name} has an unknown .npy version {version}")
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(stream)
    if dtype.hasobject:
        raise ValueError(f"{TIMELINE_FILE}: {name} holds Python objects, which are never loaded (they could run code)")
    return shape, dtype
