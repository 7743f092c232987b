"""The callbacks' history: one row per optimizer step, recorded by the train step.

``HistoryMixin`` turns the rows that ``kerasclr.training.StepRecorder`` wrote during an
epoch into ``history`` (a dict of lists, accumulated over ``fit()`` calls), once per epoch,
and draws it.
"""

import math
import warnings

import numpy as np

from kerasclr import training

HISTORY_KEYS = ("epoch", "iteration", "learning_rate", "momentum", "loss")


class HistoryMixin:
    """``history``, ``history_arrays()`` and ``plot()`` of a schedule callback.

    The callback sets ``_recorder`` (the fit's ``StepRecorder``), ``_epoch`` and
    ``_epoch_start`` (the epoch's first optimizer step) and ``_epoch_open``, and calls
    ``_close_epoch()`` at the epoch's end.
    """

    def _init_history(self):
        self.history = {key: [] for key in HISTORY_KEYS}
        self._epoch_open = False

    def _close_epoch(self):
        """Reads the epoch's rows of the history from the train step's buffer (once per epoch)."""
        if not self._epoch_open:
            return
        self._epoch_open = False
        end = training.optimizer_step(self.model)
        if end <= self._epoch_start:
            return
        rows, iterations = self._recorder.read(self._epoch_start, end)
        if end - self._epoch_start > self._recorder.rows:
            warnings.warn(
                f"The epoch took {end - self._epoch_start} steps, more than the "
                f"{self._recorder.rows} the history holds for an epoch of unknown length: "
                "the history keeps its last ones. Give `steps_per_epoch` to fit() to keep all.",
                stacklevel=2)
        recorder = training.StepRecorder
        n = iterations.size
        before = len(self.history["epoch"])
        self.history["epoch"].extend([self._epoch] * n)
        self.history["iteration"].extend(iterations.tolist())
        self.history["learning_rate"].extend(rows[:, recorder.LR].tolist())
        self.history["momentum"].extend(rows[:, recorder.MOMENTUM].tolist())
        self.history["loss"].extend(rows[:, recorder.LOSS].tolist())
        # The other logged values (metrics: running means over the epoch, as Keras logs them).
        for j, key in enumerate(self._recorder.metric_names):
            if key in HISTORY_KEYS:
                continue
            column = self.history.setdefault(key, [math.nan] * before)
            column.extend(rows[:, 4 + j].tolist())
        total = len(self.history["epoch"])
        for column in self.history.values():
            if len(column) < total:
                column.extend([math.nan] * (total - len(column)))

    def history_arrays(self):
        """The history as a dict of numpy arrays (one row per batch)."""
        return {key: np.asarray(value) for key, value in self.history.items()}

    def plot(self, log_lr=False):
        """Plots the learning rate, momentum (when cycled) and batch loss per iteration.

        The panels of R's ``plot()``; needs matplotlib (``pip install "kerasclr[plot]"``).
        Returns the matplotlib ``Axes``, one per panel (``kerasclr.plotting``).
        """
        from kerasclr import plotting

        return plotting.plot_schedule_history(self.history_arrays(), log_lr=log_lr)
