"""Saved runs: saving a session's run as a checkpoint folder, zipping it for download and unpacking an uploaded
run zip; listing the saved runs; and the process-wide cache of loaded checkpoint generators.

A saved run belongs to the browser that saved it: it lives in checkpoints/user/<owner>/<name>, where <owner> is
a hash of that browser's secret (Session.owner); a visitor is shown, and may load, only the bundled runs and
their own. Bundled runs are never written.

TensorFlow (through playground.engine.checkpoints) is imported only when a checkpoint is first saved or loaded.
"""
from __future__ import annotations

import pathlib
import shutil
import threading
from collections import OrderedDict

from playground.engine.run_files import REQUIRED_FILES, RUN_FILES
from playground.text import shown
from playground.web.sessions import Session, SessionError, env_number

# Saved runs are kept on the server's disk: a cap per browser, and one for all of them together (running-in-public.md).
DEFAULT_MAX_SAVED_RUNS = 20
DEFAULT_MAX_SAVED_MB = 2000


class SamplerCache:
    """Loaded checkpoint generators, shared by all sessions (a Sampler is thread-safe); least recently used
    are dropped beyond `size`. Keyed by path and meta.json's mtime, so a re-saved checkpoint reloads."""

    def __init__(self, size: int = 6):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, directory):
        from playground.engine.checkpoints import load_sampler

        path = pathlib.Path(directory).resolve()
        meta = path / "meta.json"
        key = (str(path), meta.stat().st_mtime_ns if meta.is_file() else None)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        sampler = load_sampler(path)       # outside the lock: loading takes a second, other sessions go on
        with self._lock:
            self._items[key] = sampler
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return sampler


ZIP_JUNK = ("__MACOSX/", ".DS_Store")


def user_checkpoints_root(root: pathlib.Path) -> pathlib.Path:
    """Runs users save from the app (git-ignored), beside the bundled ones: one folder per browser."""
    return pathlib.Path(root) / "user"


def owner_checkpoints_root(root, owner: str) -> pathlib.Path:
    """The folder of one browser's saved runs (owner: Session.owner_key(), a hex hash)."""
    return user_checkpoints_root(root) / owner


def checkpoint_choices(root, owner: str | None) -> list[tuple[str, str]]:
    """(label, path) for every run this visitor may load: bundled ones first (digits and ring lead), then the
    runs this owner saved (none when owner is None)."""
    from playground.engine.checkpoints import list_checkpoints

    root = pathlib.Path(root)
    favourites = {"digits": 0, "ring": 1}
    bundled = sorted(list_checkpoints(root), key=lambda p: (favourites.get(p.name, 2), p.name))
    saved = list_checkpoints(owner_checkpoints_root(root, owner)) if owner else []
    return ([(f"bundled: {p.name}", str(p)) for p in bundled] + [(f"saved: {p.name}", str(p)) for p in saved])


class NoRoomToSave(SessionError):
    """The saved-run caps are reached; the run can still be downloaded (save_for_download)."""


def save_session_run(session: Session, name: str, root) -> pathlib.Path:
    """Save the session's run as checkpoints/user/<owner>/<name>. A name is claimed atomically (two saves racing
    for it: one wins, the other is told it exists); only the session that saved a name may save over it."""
    name = _checked_name(name)
    target = owner_checkpoints_root(root, session.owner_key()) / name
    if name not in session.saved_names:
        check_room_to_save(root, target.parent)
    session.saved_step = _write(session, target, replace=name in session.saved_names)
    session.saved_names.add(name)
    return target


def save_for_download(session: Session, name: str) -> pathlib.Path:
    """The session's run written to its temporary folder only, for a zip download (not listed, not kept)."""
    target = session.temp_dir() / "download" / _checked_name(name)
    _write(session, target, replace=True)
    return target


def _checked_name(name: str) -> str:
    from playground.engine.checkpoints import safe_run_name

    return safe_run_name(name)


def _write(session: Session, target: pathlib.Path, replace: bool) -> int:
    from playground.engine.checkpoints import save_run

    trainer = session.trainer
    if trainer is None or trainer.run is None:
        raise SessionError("there is no run to save yet; press Train (or Step) first")
    with trainer.lock:           # between two training steps, so the files describe one consistent step
        trainer.keep_record()
        save_run(trainer.run, target, replace=replace)
        return trainer.run.step


def check_room_to_save(root, owner_folder: pathlib.Path, environ=None) -> None:
    """Refuse a new saved run beyond GAN_MAX_SAVED_RUNS for this browser or GAN_MAX_SAVED_MB for the server."""
    most = int(env_number("GAN_MAX_SAVED_RUNS", DEFAULT_MAX_SAVED_RUNS, int, environ))
    if owner_folder.is_dir() and sum(1 for p in owner_folder.iterdir() if not p.name.startswith(".")) >= most:
        raise NoRoomToSave(f"you have {most} saved run{'s' if most > 1 else ''}, as many as one browser may keep "
                           "here; save over one of your names to keep it here")
    budget = env_number("GAN_MAX_SAVED_MB", DEFAULT_MAX_SAVED_MB, float, environ) * 2**20
    used = sum(f.stat().st_size for f in user_checkpoints_root(root).rglob("*") if f.is_file())
    if used >= budget:
        raise NoRoomToSave("the server's room for saved runs is full")


def zip_run(directory, out_dir) -> pathlib.Path:
    """<out_dir>/<run name>.zip holding the run folder, for the browser to download."""
    directory = pathlib.Path(directory)
    base = pathlib.Path(out_dir) / directory.name
    return pathlib.Path(shutil.make_archive(str(base), "zip", root_dir=directory.parent, base_dir=directory.name))


def unpack_run_zip(zip_path, destination) -> pathlib.Path:
    """Check an uploaded run zip from its table of contents, then copy its few known files to `destination`.

    Nothing is extracted by path: only the known run files are read (bounded by their declared sizes), so
    `../` tricks and zip bombs cannot write anywhere or fill the disk. Limits: GAN_MAX_UPLOAD_MB and
    GAN_MAX_EXPANDED_MB (see playground/data/uploads.py).
    """
    import zipfile

    from playground.data.uploads import MB, SAFE_COMPRESSION, UploadLimits, read_zip_member

    limits, path = UploadLimits.from_env(), pathlib.Path(zip_path)
    if path.suffix.lower() != ".zip":
        raise SessionError(f"{shown(path.name)} is not a .zip; upload the zip that 'Download run' gave you")
    if path.stat().st_size > limits.max_upload_mb * MB:
        raise SessionError(f"{shown(path.name)} is larger than the {limits.max_upload_mb:g} MB upload limit")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise SessionError(f"{shown(path.name)} is not a valid zip ({shown(str(err))}); download the run again") from err
    pathlib.Path(destination).mkdir(parents=True, exist_ok=True)
    with archive:
        members = _run_members(archive, path.name)
        if sum(info.file_size for info in members.values()) > limits.max_expanded_mb * MB:
            raise SessionError(f"{shown(path.name)} expands beyond {limits.max_expanded_mb:g} MB; that is not a run zip")
        for name, info in members.items():
            if info.flag_bits & 0x1 or info.compress_type not in SAFE_COMPRESSION:
                raise SessionError(f"{shown(path.name)}: {name} is encrypted or uses an unusual compression; "
                                   "zip the run folder again with standard settings")
            (pathlib.Path(destination) / name).write_bytes(read_zip_member(archive, info))
    return pathlib.Path(destination)


def _run_members(archive, source: str) -> dict:
    members, folders = {}, set()
    for info in archive.infolist():
        name = info.filename.replace("\\", "/")
        if info.is_dir() or name.startswith(ZIP_JUNK) or name.endswith(ZIP_JUNK):
            continue
        parts = name.split("/")
        if len(parts) > 2 or parts[-1] not in RUN_FILES or name.startswith("/") or ".." in parts:
            raise SessionError(f"{shown(source)} holds {shown(name)}, which is not part of a run; a run zip holds only "
                               f"{', '.join(RUN_FILES)} (optionally in one folder)")
        if parts[-1] in members:
            raise SessionError(f"{shown(source)} holds more than one run; upload one run at a time")
        folders.add(parts[0] if len(parts) == 2 else "")
        members[parts[-1]] = info
    missing = [name for name in REQUIRED_FILES if name not in members]
    if missing:
        raise SessionError(f"{shown(source)} is not a complete run (missing {', '.join(missing)})")
    if len(folders) > 1:
        raise SessionError(f"{shown(source)} spreads one run over several folders; zip a single run folder")
    return members
