"""GAN Playground: train a GAN in a background thread and watch it learn in the browser."""
import os

# TensorFlow's C++ INFO/WARNING lines are noise for a playground user; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# One intra-op thread: these models are too small to split an op across cores (measured: 2 threads made a
# digits step 20% slower), and it leaves the second core to the web server and the data pipeline.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
