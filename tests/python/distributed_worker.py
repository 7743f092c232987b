"""One worker process of the multi-process tests (test_multiprocess.py); not a test module.

    python distributed_worker.py jax <coordinator port> <process id> <out.json>
    python distributed_worker.py mwms <out.json>    # TF_CONFIG names the cluster and this worker

Two processes on 127.0.0.1 train the same small model (reference_training.make_model) data
parallel: a global batch of 4 rows is split in two, rows ``4k + 2i`` and ``4k + 2i + 1`` of
``make_data(n=N_ROWS)`` going to process ``i``. Each worker trains with CyclicLR (cycling
momentum) and with OneCycle, runs the range test, and writes its histories, weights and
states before and after each range test to out.json, the weights as the hex of their bytes so that the test compares
them bit for bit.

- ``jax``: ``jax.distributed.initialize()`` with gloo CPU collectives, one CPU device per
  process, ``keras.distribution.DataParallel`` over both processes' devices.
- ``mwms``: Keras 2 (``tf_keras``) under ``tf.distribute.MultiWorkerMirroredStrategy``.
"""

import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "..", "inst", "python"), HERE]

N_ROWS = 12           # 3 global batches of 4 per epoch
LOCAL_BATCH = 2       # each process's half of a global batch
CYCLE = dict(base_lr=0.01, max_lr=0.08, step_size=2, momentum=(0.95, 0.6))
CYCLE_EPOCHS = 2
ONE_CYCLE = dict(max_lr=0.1, pct_start=0.3, momentum=(0.95, 0.85))
ONE_CYCLE_EPOCHS = 3


def local_rows(process_id):
    """The rows of the global data that process ``process_id`` feeds, in order."""
    return np.concatenate([np.arange(4 * k + LOCAL_BATCH * process_id, 4 * k + LOCAL_BATCH * (process_id + 1))
                           for k in range(N_ROWS // 4)])


def hex_arrays(arrays):
    return [{"shape": list(a.shape), "dtype": a.dtype.str, "hex": np.ascontiguousarray(a).tobytes().hex()}
            for a in (np.asarray(a) for a in arrays)]


def history(cb):
    h = cb.history_arrays()
    return {key: h[key].tolist() for key in ("iteration", "learning_rate", "momentum", "loss")}


def train(make_model, make_optimizer, make_callback, epochs, data, fit_kwargs):
    model = make_model(make_optimizer())
    start = hex_arrays(model.get_weights())
    cb = make_callback()
    model.fit(*data, epochs=epochs, shuffle=False, verbose=0, callbacks=[cb], **fit_kwargs)
    return model, {"start": start, "weights": hex_arrays(model.get_weights()), "history": history(cb)}


RANGE_TESTS = (("default", dict(start_lr=1e-4, end_lr=1.0, num_iter=12)),
               ("diverging", dict(start_lr=1e-3, end_lr=1e4, num_iter=30)),
               ("momentum_grid", dict(start_lr=1e-4, end_lr=1.0, num_iter=8, momentum=[0.5, 0.9])))


def range_tests(model, data, fit_kwargs):
    """The range test on a trained model (built, with momentum buffers): the default path,
    one that diverges, and a momentum grid; the state before and after each, and its curve."""
    from kerasclr import range_test, training

    def state():
        return hex_arrays(model.get_weights()) + hex_arrays(training.optimizer_variables(model.optimizer))

    tests = {}
    for name, kwargs in RANGE_TESTS:
        before = state()
        res = range_test.lr_range_test(model, *data, verbose=False, **fit_kwargs, **kwargs)
        tests[name] = {"before": before, "after": state(),
                       "lr": [float(v) for v in res["history"]["lr"]],
                       "loss": [float(v) for v in res["history"]["loss"]],
                       "stop_reasons": [run["stop_reason"] for run in res["runs"]]}
    return tests


def jax_worker(port, process_id, out):
    import jax
    from jax._src.lib import xla_client

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    # gloo listens on the address of the machine's hostname unless told otherwise; keep it on
    # 127.0.0.1 (jax 0.7.1 creates the collectives with the distributed client only).
    make_gloo = xla_client._xla.make_gloo_tcp_collectives
    xla_client._xla.make_gloo_tcp_collectives = (
        lambda distributed_client: make_gloo(distributed_client, hostname="127.0.0.1"))
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2,
                               process_id=process_id, coordinator_bind_address=f"127.0.0.1:{port}",
                               initialization_timeout=120)
    import keras

    from kerasclr import callbacks
    from reference_training import make_data, make_model

    assert jax.process_count() == 2 and len(jax.devices()) == 2 and len(jax.local_devices()) == 1
    # Each process feeds its own rows (no auto-sharding of a tf.data pipeline).
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=jax.devices(), auto_shard_dataset=False))
    x, y = make_data(n=N_ROWS)
    rows = local_rows(process_id)
    data = (x[rows], y[rows])
    fit = dict(batch_size=LOCAL_BATCH)
    sgd = lambda: keras.optimizers.SGD(0.5, momentum=0.9)  # noqa: E731
    result = {"process_count": jax.process_count()}
    model, result["cyclic"] = train(lambda opt: make_model(keras, opt), sgd,
                                    lambda: callbacks.CyclicLR(**CYCLE), CYCLE_EPOCHS, data, fit)
    _, result["one_cycle"] = train(lambda opt: make_model(keras, opt), sgd,
                                   lambda: callbacks.OneCycle(**ONE_CYCLE), ONE_CYCLE_EPOCHS, data, fit)

    result["range_test"] = range_tests(model, data, dict(batch_size=LOCAL_BATCH, shuffle=False))
    with open(out, "w") as f:
        json.dump(result, f)


def mwms_worker(out):
    import tensorflow as tf
    import tf_keras

    from kerasclr import callbacks
    from reference_training import make_data

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    assert strategy.num_replicas_in_sync == 2
    process_id = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    x, y = make_data(n=N_ROWS)
    rows = local_rows(process_id)

    def worker_dataset(context):
        # This worker's rows, in batches of its share of the global batch of 4 (a
        # dataset passed to fit() instead would be taken as global batches and re-split).
        assert context.get_per_replica_batch_size(4) == LOCAL_BATCH
        return tf.data.Dataset.from_tensor_slices((x[rows], y[rows])).batch(LOCAL_BATCH).repeat()

    dataset = strategy.distribute_datasets_from_function(worker_dataset)
    fit = dict(steps_per_epoch=N_ROWS // 4)

    def make_model(optimizer, reduction="auto"):
        tf_keras.utils.set_random_seed(1)
        with strategy.scope():
            model = tf_keras.Sequential([tf_keras.Input((3,)), tf_keras.layers.Dense(2)])
            model.compile(optimizer, loss="mse")
        # How tf_keras combines the workers' logs: "auto" (their sum) or "first".
        model.distribute_reduction_method = reduction
        return model

    # The optimizer that the old R package's optimizer_sgd(momentum = 0.9) creates.
    sgd = lambda: tf_keras.optimizers.SGD(0.5, momentum=0.9)  # noqa: E731
    result = {"num_replicas": strategy.num_replicas_in_sync}
    model, result["cyclic"] = train(make_model, sgd, lambda: callbacks.CyclicLR(**CYCLE),
                                    CYCLE_EPOCHS, (dataset,), fit)
    _, result["one_cycle"] = train(lambda opt: make_model(opt, "first"), sgd,
                                   lambda: callbacks.OneCycle(**ONE_CYCLE), ONE_CYCLE_EPOCHS, (dataset,), fit)
    result["range_test"] = range_tests(model, (dataset,), {})
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    if sys.argv[1] == "jax":
        jax_worker(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1] == "mwms":
        mwms_worker(sys.argv[2])
    else:
        raise SystemExit(f"unknown worker kind {sys.argv[1]!r}")
