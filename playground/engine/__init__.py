"""The GAN itself: a run's config, models, losses, the keras.Model that trains them, one run's machinery
and its checkpoints on disk. No threads, no web."""
