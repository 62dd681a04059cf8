"""The files of a run directory, in one place for the writer (engine/checkpoints.py) and for the run-zip reader
(web/saved_runs.py). No TensorFlow here, so the web layer can check an upload before TensorFlow loads."""
import pathlib

from playground.text import shown

REQUIRED_FILES = ("config.json", "generator.keras", "discriminator.keras", "optimizers.npz", "meta.json")
# What the trainer saw, kept as files beside meta.json's record (training/record.py writes and checks them).
TIMELINE_FILE = "timeline.npz"
RECORD_FILES = (TIMELINE_FILE,)
OPTIONAL_FILES = ("generator_ema.keras", "points.npy") + RECORD_FILES   # an EMA generator; a points run's own data
RUN_FILES = REQUIRED_FILES + OPTIONAL_FILES
MAX_RECORD_FILE_BYTES = 50 * 2**20    # the largest timeline (64 frames x 64 images of 64 x 64 x 3 bytes = 48 MiB) fits


class CheckpointError(ValueError):
    """A checkpoint name or directory is unusable; the message says why and what to do."""


def recover(target) -> None:
    """If a crash mid-save left no `target` but its previous version set aside, restore that version."""
    target = pathlib.Path(target)
    retired = sorted(target.parent.glob(f".{target.name}.old-*")) if target.parent.is_dir() else []
    if not target.exists() and retired:
        retired[-1].rename(target)


def checked_run_folder(directory) -> pathlib.Path:
    """The run folder at `directory`, recovered from an interrupted save, with every required file in it."""
    folder = pathlib.Path(directory)
    recover(folder)
    if not folder.is_dir():
        raise CheckpointError(f"no checkpoint directory at {shown(str(folder))}")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(f"checkpoint {shown(folder.name)} is incomplete (missing {', '.join(missing)}); "
                              "it was not saved fully — pick another or train and save again")
    return folder
