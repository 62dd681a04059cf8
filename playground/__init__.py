"""GAN Playground: train a GAN in a background thread and watch it learn in the browser."""
import os

# TensorFlow's C++ INFO/WARNING lines are noise for a playground user; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# One intra-op thread: these models are too small to split an op across cores, and the second core serves the
# page and the data pipeline (measured: docs/performance.md).
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
# Two inter-op threads let a slider render run beside a training step, at no cost to training (docs/performance.md).
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "2")
