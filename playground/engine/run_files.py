"""The files of a run directory, in one place for the writer (engine/checkpoints.py) and for the run-zip reader
(web/saved_runs.py). No TensorFlow here, so the web layer can check an upload before TensorFlow loads."""
REQUIRED_FILES = ("config.json", "generator.keras", "discriminator.keras", "optimizers.npz", "meta.json")
OPTIONAL_FILES = ("generator_ema.keras", "points.npy")    # an EMA generator; a points run's own data
RUN_FILES = REQUIRED_FILES + OPTIONAL_FILES
