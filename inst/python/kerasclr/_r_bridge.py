"""What the R package needs from Python beyond the public API.

``evaluate_into``: fast evaluation of a policy into R memory (R's cyclic_lr() and
one_cycle_lr()). ``generator_of``: an R generator function as the Python generator Keras
takes (R/data.R).


reticulate hands an R double array to NumPy without copying, but read-only, and copies a
NumPy result back into R element by element-slow (24 ms for 1e6 values with reticulate
1.28). Writing the values straight into a fresh R vector avoids that copy. The policy is
evaluated in chunks so its temporaries stay small and cache-resident instead of a fresh
8 MB array being page-faulted for every operation (measured on cyclic_lr(1:1e6): 7.9 ms
with 65,536-step chunks, 12.7 ms unchunked).
"""

import ctypes
import queue
import threading

import numpy as np


def evaluate_into(out, policy, iterations, kwargs, chunk):
    """Evaluates ``policy(iterations[i:i+chunk], **kwargs)`` chunk by chunk into ``out``.

    Args:
        out: a fresh float64 R vector seen as a read-only NumPy view of R's memory.
        policy: a function of ``kerasclr.policies``.
        iterations: the step numbers.
        kwargs: keyword arguments of ``policy``.
        chunk: the number of steps evaluated at a time.

    Returns:
        True when the values were written into ``out``'s memory; otherwise (``out`` is not
        a view of foreign memory, e.g. a reticulate that copies) the array of values.
    """
    shared = not out.flags.owndata and out.base is not None and out.dtype == np.float64
    if shared:
        # The R vector was created for this call and is referenced nowhere else, so
        # writing through its read-only view is safe.
        address = out.__array_interface__["data"][0]
        pointer = ctypes.cast(address, ctypes.POINTER(ctypes.c_double))
        target = np.ctypeslib.as_array(pointer, shape=out.shape)
    else:
        target = np.empty(out.shape)
    for start in range(0, out.shape[0], chunk):
        target[start : start + chunk] = policy(iterations[start : start + chunk], **kwargs)
    return True if shared else target


class BatchError:
    """An R error met while making a batch, carried to :func:`generator_of` to be raised."""

    def __init__(self, message):
        self.message = message


class RGeneratorError(RuntimeError):
    """The R generator function, or the conversion of its batch, failed (R's message)."""


def generator_of(iterator, ahead=2):
    """The batches of an R iterator (``reticulate::py_iterator()``), ready for ``fit()``.

    Keras' ``fit()`` takes generators but not other iterators (as keras3's
    ``as_data_generator()`` also does). A :class:`BatchError` from R (the R function failed,
    or its batch is not data) is raised as an :class:`RGeneratorError` with R's message, so
    that ``fit()`` stops with it instead of the data silently ending.

    Returns:
        A :class:`MainThreadBatches`; iterate it, or pass ``.generator()`` to ``fit()``
        together with its ``.feeder()`` callback.
    """
    return MainThreadBatches(iterator, ahead)


_END = object()


def fit_inputs(x):
    """``(data for fit(), extra callbacks)``: an R generator's batches need their feeder."""
    if isinstance(x, MainThreadBatches):
        return x.generator(), [x.feeder()]
    return x, []


class MainThreadBatches:
    """Batches of an R function, always drawn on the main thread.

    R can only run on the main thread. On TensorFlow, ``fit()`` reads a generator from a
    thread of its own while the main thread waits for the batch; reticulate < 1.36 then
    hands the R call to the main thread and waits for it, which deadlocks now and then
    (reticulate >= 1.36 avoids it with ``py_iterator(prefetch =)``, as keras3 does). So
    the R function is only ever called on the main thread: ``ahead`` batches are drawn
    before ``fit()`` starts, and the :meth:`feeder` callback draws more after every batch;
    a reader on another thread only takes batches already drawn.
    """

    def __init__(self, iterator, ahead=2):
        self._iterator = iterator
        self._ready = queue.Queue()
        self._ahead = int(ahead)
        self._finished = False

    def top_up(self):
        """Draws batches until ``ahead`` are ready (main thread only: this calls R)."""
        while not self._finished and self._ready.qsize() < self._ahead:
            batch = next(self._iterator, _END)
            if batch is _END:
                self._finished = True
            self._ready.put(batch)

    def generator(self):
        """The batches as the generator ``fit()`` takes."""
        while True:
            if threading.current_thread() is threading.main_thread() and self._ready.empty():
                self.top_up()
            batch = self._ready.get()
            if batch is _END:
                return
            if isinstance(batch, BatchError):
                raise RGeneratorError(batch.message)
            yield batch

    __iter__ = generator

    def feeder(self):
        """A Keras 3 / Keras 2 callback that draws the next batches after each batch."""
        import keras

        from kerasclr import training

        batches = self

        class FeedFromR(training.Keras2CallbackMixin, keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                batches.top_up()

            def on_train_batch_end(self, batch, logs=None):
                batches.top_up()

        return FeedFromR()
