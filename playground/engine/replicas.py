"""The arithmetic a GAN step needs to give the same numbers on one device or split over several replicas.

Under a `tf.distribute` strategy each replica sees its slice of the global batch. Then:
- a loss is each replica's sum of per-example losses divided by the *global* batch (`tf.nn.compute_average_loss`,
  used in gan.py), so the sum over replicas is the global mean, and the summed gradients are the global ones;
- random numbers per example are drawn for the whole global batch from a stateless seed, and each replica keeps
  its own rows: the same draws as on one device;
- logged values are summed over replicas inside the step, so every replica returns the global value.
Outside a strategy (one device) every helper is the plain single-device operation.
"""
from __future__ import annotations

import tensorflow as tf


def _context():
    return tf.distribute.get_replica_context() if tf.distribute.has_strategy() else None


def total(value):
    """The sum of `value` over replicas (the global value of a `tf.nn.compute_average_loss` share); itself on one
    device."""
    context = _context()
    return value if context is None else context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def own_rows(draw, rows, shape=(), seed=None):
    """`draw([global rows, *shape], seed)` for the whole global batch, keeping this replica's `rows` rows."""
    context = _context()
    if context is None:
        return draw([rows, *shape], seed)
    values = draw([rows * context.num_replicas_in_sync, *shape], seed)
    start = tf.cast(context.replica_id_in_sync_group, tf.int32) * rows
    return values[start:start + rows]


def count() -> int:
    """Replicas the current step runs on (1 outside a strategy)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def move_toward(averages, sources, decay):
    """averages <- decay * averages + (1 - decay) * sources (an EMA step), on every replica's copy. A mirrored
    variable cannot be assigned from one replica, so under a strategy the update runs once, cross-replica."""
    def move(average, source, decay):
        return average.assign(decay * average + (1.0 - decay) * source)

    context = _context()
    if context is None:
        for average, source in zip(averages, sources):
            move(average, source, decay)
        return

    def move_all(strategy, decay):
        for average, source in zip(averages, sources):
            strategy.extended.update(average.value, move, args=(source.value, decay))
    context.merge_call(move_all, args=(decay,))
