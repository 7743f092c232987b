"""A numpy reference for training a linear model (Dense, MSE) with Keras' update rules.

Used as the oracle by test_training.py and test_callbacks.py: the weights that
Keras produces after a few steps are compared with these hand-computed updates,
using the learning-rate and momentum sequences we intend the callbacks to apply.
The update formulas are those documented for keras.optimizers.SGD, RMSprop, Adam.
"""

import numpy as np


def make_data(n=10, d_in=3, d_out=2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d_in)).astype("float32")
    y = rng.normal(size=(n, d_out)).astype("float32")
    return x, y


def make_model(keras, optimizer, d_in=3, d_out=2, seed=1, **compile_kwargs):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((d_in,)), keras.layers.Dense(d_out)])
    model.compile(optimizer=optimizer, loss="mse", **compile_kwargs)
    return model


def batches(n, batch_size):
    return [np.arange(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def mse_and_grads(params, xb, yb):
    """MSE of a Dense layer on one batch, and its gradients (float64)."""
    w, b = params
    err = xb @ w + b - yb
    loss = np.mean(err ** 2)
    scale = 2.0 / err.size
    return loss, [scale * xb.T @ err, scale * err.sum(axis=0)]


def simulate(params, x, y, batch_size, epochs, update):
    """Runs ``update(step, params, grads, state)`` over the batches, in order.

    Returns the final params and the list of per-batch losses (each computed with
    the weights before that batch's update, as Keras does).
    """
    params = [np.asarray(p, dtype=np.float64) for p in params]
    state = {}
    losses = []
    step = 0
    for _ in range(epochs):
        for idx in batches(len(x), batch_size):
            loss, grads = mse_and_grads(params, x[idx].astype(np.float64), y[idx].astype(np.float64))
            losses.append(loss)
            params = update(step, params, grads, state)
            step += 1
    return params, losses


def sgd(lrs, momenta=None, nesterov=False):
    def update(step, params, grads, state):
        lr = lrs[step]
        if momenta is None:
            return [p - lr * g for p, g in zip(params, grads)]
        mom = momenta[step]
        bufs = state.setdefault("m", [np.zeros_like(p) for p in params])
        out = []
        for i, (p, g) in enumerate(zip(params, grads)):
            bufs[i] = bufs[i] * mom - lr * g
            out.append(p + bufs[i] * mom - lr * g if nesterov else p + bufs[i])
        return out
    return update


def adam(lrs, beta_1s, beta_2=0.999, epsilon=1e-7, weight_decay=0.0):
    """Adam; with ``weight_decay``, AdamW (Keras decays each weight by ``lr * weight_decay`` first)."""
    def update(step, params, grads, state):
        lr, beta_1 = lrs[step], beta_1s[step]
        params = [p - p * (weight_decay * lr) for p in params]
        ms = state.setdefault("m", [np.zeros_like(p) for p in params])
        vs = state.setdefault("v", [np.zeros_like(p) for p in params])
        t = step + 1
        alpha = lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        out = []
        for i, (p, g) in enumerate(zip(params, grads)):
            ms[i] = ms[i] + (g - ms[i]) * (1 - beta_1)
            vs[i] = vs[i] + (g * g - vs[i]) * (1 - beta_2)
            out.append(p - ms[i] * alpha / (np.sqrt(vs[i]) + epsilon))
        return out
    return update


def rmsprop(lrs, momenta, rho=0.9, epsilon=1e-7):
    def update(step, params, grads, state):
        lr, mom = lrs[step], momenta[step]
        vel = state.setdefault("v", [np.zeros_like(p) for p in params])
        bufs = state.setdefault("m", [np.zeros_like(p) for p in params])
        out = []
        for i, (p, g) in enumerate(zip(params, grads)):
            vel[i] = rho * vel[i] + (1 - rho) * g * g
            inc = lr * g / np.sqrt(vel[i] + epsilon)
            bufs[i] = mom * bufs[i] + inc
            out.append(p - bufs[i])
        return out
    return update


def optimizer_and_reference(keras, kind, lrs, momenta):
    """A Keras optimizer of `kind` ("sgd", "nesterov", "adam", "adamw", "rmsprop") whose learning rate and
    momentum a callback will drive, and the NumPy update that the intended sequences give."""
    if kind in ("sgd", "nesterov"):
        nesterov = kind == "nesterov"
        return keras.optimizers.SGD(0.5, momentum=0.9, nesterov=nesterov), sgd(lrs, momenta, nesterov=nesterov)
    if kind == "adam":
        return keras.optimizers.Adam(0.5), adam(lrs, momenta)
    if kind == "adamw":  # reads its learning rate once per weight (the decay), as a momentum
        return keras.optimizers.AdamW(0.5, weight_decay=0.3), adam(lrs, momenta, weight_decay=0.3)
    return keras.optimizers.RMSprop(0.5, momentum=0.5), rmsprop(lrs, momenta)
