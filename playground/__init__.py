"""GAN Playground: train a GAN in a background thread and watch it learn in the browser."""
import os

# TensorFlow's C++ INFO/WARNING lines are noise for a playground user; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# One intra-op thread: these models are too small to split an op across cores (measured: 2 threads made a
# digits step 20% slower), and it leaves the second core to the web server and the data pipeline.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
# Two inter-op threads let a slider render run beside a training step (measured: render p95 24 -> 10 ms,
# training speed unchanged).
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "2")
