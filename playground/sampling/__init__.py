"""Generation, apart from training: a thread-safe generator copy and the latent-space maths of the Explore tab."""
