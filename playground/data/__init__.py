"""Training data: the 2D toys, the bundled digits, online datasets and users' uploads, each checked before use."""
