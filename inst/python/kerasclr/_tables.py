"""The per-fit table of the callbacks' values (``FitTable``) and the in-graph lookup."""

import numpy as np

from kerasclr import training


def table_lookup(table, it, xp, offset=0):
    """``table[clip(it - offset, 0, n - 1)]`` in-graph (hold the last value)."""
    index = xp.clip(xp.cast(it, "int32") - int(offset), 0, int(table.shape[0]) - 1)
    return xp.take(xp.convert_to_tensor(table.astype("float32")), index)


class FitTable:
    """The learning rate and momentum of every step of one fit, computed at its start.

    One vectorized call of the policy (an R ``scale_fn`` included) fills it for steps
    ``start .. end - 1``; the train step then looks its values up (steps past the end
    hold the last value). Where the table lives depends on the train step (``kind``):

    - ``"variables"``: ``tf.Variable``s, on TensorFlow without XLA (which would run every
      small op of the formula separately: about 25 us per step for a cycle with momentum)
      and in Keras 2. The traced step reads them, so it stays valid for the next fit,
      refilled; a fit of unknown length is covered by extending them (Keras 2).
    - ``"constants"``: arrays baked into the traced step (a custom ``scale_fn`` on the other
      compiled backends: the step is traced again for each fit).
    - ``"host"``: Python floats, for eager PyTorch (its step is Python anyway); the
      in-optimizer schedules use it there too (``kerasclr.schedules``), a block at a time.
    """

    LR, MOMENTUM = 0, 1

    def __init__(self, kind, values_at):
        self.kind = kind
        self._values_at = values_at  # steps -> (learning rates, momenta) as float64 arrays
        self.start = self.end = 0
        self._columns = None
        self._variables = None  # (start, last index, lr, momentum) for "variables"

    def fill(self, start, end):
        """Computes the values of steps ``start .. end - 1``."""
        lr, momentum = self._values_at(np.arange(start, end))
        self.start, self.end = int(start), int(end)
        if self.kind == "host":
            self._columns = (lr.tolist(), momentum.tolist())
        elif self.kind == "constants":
            self._columns = (lr, momentum)
        else:
            import tensorflow as tf

            columns = [np.nan_to_num(c).astype("float32") for c in (lr, momentum)]
            # The last index is stored: in the step, tf.size() would cost two more ops.
            values = [self.start, self.end - self.start - 1] + columns
            if self._variables is None:
                self._variables = tuple(tf.Variable(v, dtype=tf.int64, trainable=False)
                                        for v in values[:2]) + \
                    tuple(tf.Variable(c, shape=tf.TensorShape([None]), trainable=False) for c in columns)
            else:
                for variable, value in zip(self._variables, values):
                    variable.assign(value)
        return self

    def graph(self, column, it, xp):
        """The value at iteration ``it`` inside the train step (``xp``: keras.ops or tf)."""
        if self.kind == "constants":
            return table_lookup(self._columns[column], it, xp, self.start)
        import tensorflow as tf

        start, last, values = self._variables[0], self._variables[1], self._variables[2 + column]

        def index():
            return tf.clip_by_value(tf.cast(it, tf.int64) - start, 0, last)

        # The lr and momentum columns have the same length: one index per step.
        return tf.gather(values, training.once_per_step((id(self), "index"), index))

    def host(self, column, step):
        """The value at ``step`` as a Python float (computed afresh outside the table)."""
        if self.start <= step < self.end:
            return self._columns[column][step - self.start]
        return float(self._values_at(np.asarray([step]))[column][0])
