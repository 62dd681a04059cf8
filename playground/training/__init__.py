"""The background trainer and the immutable snapshots (with bounded histories) it publishes to the page."""
