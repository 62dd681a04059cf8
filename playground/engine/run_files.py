"""The files of a run directory, in one place for the writer (engine/checkpoints.py) and for the run-zip reader
(web/saved_runs.py). No TensorFlow here, so the web layer can check an upload before TensorFlow loads."""
REQUIRED_FILES = ("config.json", "generator.keras", "discriminator.keras", "optimizers.npz", "meta.json")
# What the trainer saw, kept as files beside meta.json's record (training/record.py writes and checks them).
TIMELINE_FILE = "timeline.npz"
RECORD_FILES = (TIMELINE_FILE,)
OPTIONAL_FILES = ("generator_ema.keras", "points.npy") + RECORD_FILES   # an EMA generator; a points run's own data
RUN_FILES = REQUIRED_FILES + OPTIONAL_FILES
MAX_RECORD_FILE_BYTES = 50 * 2**20    # the largest timeline (64 frames x 64 images of 64 x 64 x 3 bytes = 48 MiB) fits
