"""The data helpers of the range test: sizes of array data, batches per pass, and a
fixed set of validation batches with their loss (no metric updated).

They accept what ``model.fit()`` accepts: arrays (or dicts/lists of them), tensors,
``tf.data`` datasets, ``PyDataset``/``Sequence``, torch ``DataLoader`` and generators.
"""

import math

import numpy as np

from kerasclr import training


def num_samples(x):
    """The number of samples of array input (first leaf), or None for other sources."""
    if x is None:
        return None
    if isinstance(x, dict):
        x = next(iter(x.values()), None)
    elif isinstance(x, (list, tuple)):
        if not x:
            return None
        x = x[0]
    shape = getattr(x, "shape", None)
    if shape is None or len(shape) == 0 or not hasattr(x, "__array__") and not hasattr(x, "numpy"):
        return None
    # A tf.data.Dataset has no shape; tensors and arrays do.
    return int(shape[0])


def all_leaves_samples(x):
    if isinstance(x, dict):
        leaves = list(x.values())
    elif isinstance(x, (list, tuple)):
        leaves = list(x)
    else:
        leaves = [x]
    return [num_samples(v) for v in leaves]


def batches_per_epoch(x, batch_size):
    """Batches that one pass over ``x`` gives, or None when unknown (generators)."""
    n = num_samples(x)
    if n is not None:
        return math.ceil(n / batch_size)
    if hasattr(x, "cardinality"):  # tf.data.Dataset: a method; tf.distribute's datasets: a number
        card = x.cardinality
        card = int(card() if callable(card) else card)
        return card if card >= 0 else None  # -1 infinite, -2 unknown
    try:
        return len(x)  # PyDataset, torch DataLoader, keras Sequence
    except TypeError:
        return None


def validation_batches(validation_data, batch_size, val_batches):
    """The first ``val_batches`` batches of the validation data, as fixed (x, y, sw) tuples."""
    if isinstance(validation_data, (list, tuple)) and 2 <= len(validation_data) <= 3 and \
            num_samples(validation_data[0]) is not None:
        xv, yv = validation_data[0], validation_data[1]
        swv = validation_data[2] if len(validation_data) == 3 else None
        n = num_samples(xv)
        if num_samples(yv) is not None and num_samples(yv) != n:
            raise ValueError(
                "Argument `validation_data` must have as many targets as inputs. "
                f"Received: {n} inputs and {num_samples(yv)} targets")

        def cut(a, lo, hi):
            if a is None:
                return None
            if isinstance(a, dict):
                return {k: v[lo:hi] for k, v in a.items()}
            if isinstance(a, (list, tuple)):
                return type(a)(v[lo:hi] for v in a)
            return a[lo:hi]

        out = []
        for b in range(min(val_batches, math.ceil(n / batch_size))):
            lo, hi = b * batch_size, min(n, (b + 1) * batch_size)
            out.append((cut(xv, lo, hi), cut(yv, lo, hi), cut(swv, lo, hi)))
        return out
    # A dataset-like source: take its first batches.
    out = []
    for item in validation_data:
        if not isinstance(item, (list, tuple)):
            raise ValueError(
                "Argument `validation_data` must yield (x, y) or (x, y, sample_weight) batches. "
                f"Received an item of type {type(item).__name__}")
        item = tuple(item) + (None,) * (3 - len(item))
        out.append(item[:3])
        if len(out) >= val_batches:
            break
    if not out:
        raise ValueError("Argument `validation_data` gave no batch.")
    return out


def leading_size(a):
    if isinstance(a, dict):
        a = next(iter(a.values()))
    elif isinstance(a, (list, tuple)):
        a = a[0]
    return int(np.shape(a)[0])


def validation_loss(model, batches):
    """Mean loss over the fixed validation batches (weighted by batch size), no metric updates."""
    import keras

    keras2 = training.is_keras2_model(model)
    training.sync_jax_state(model)
    # Keras 2's compute_loss() adds to the loss tracker (Keras 3's, with training=False,
    # does not): its totals are put back, so the batch losses stay the training ones.
    tracker = training.loss_tracker(model) if keras2 else None
    saved = [(v, v.numpy()) for v in tracker.variables] if tracker is not None else []
    options = {} if keras2 else {"training": False}
    total, count = 0.0, 0
    try:
        with no_grad(model):
            for xb, yb, swb in batches:
                if keras2:  # its losses take tensors only
                    xb, yb, swb = as_tensors((xb, yb, swb))
                y_pred = model(xb, training=False)
                loss = model.compute_loss(x=xb, y=yb, y_pred=y_pred, sample_weight=swb, **options)
                size = leading_size(xb)
                value = np.asarray(loss) if keras2 else keras.ops.convert_to_numpy(loss)
                total += float(value) * size
                count += size
    finally:
        for variable, value in saved:
            variable.assign(value)
    return total / count


def as_tensors(structure):
    import tensorflow as tf

    return tf.nest.map_structure(lambda a: a if a is None else tf.convert_to_tensor(a), structure)


def no_grad(model):
    import contextlib

    import keras

    if not training.is_keras2_model(model) and keras.backend.backend() == "torch":
        import torch

        return torch.no_grad()
    return contextlib.nullcontext()
