"""GAN Playground: train a GAN in a background thread and watch it learn in the browser."""
import os

# TensorFlow's C++ INFO/WARNING lines are noise for a playground user; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
