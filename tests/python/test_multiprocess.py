"""Beyond one process: two worker processes on 127.0.0.1 train data parallel with the callbacks.

The workers (distributed_worker.py) each feed half of every global batch of 4. Both must
use the same learning rate and momentum at every step, end with bit-identical weights,
and match the NumPy reference trained on the whole batches with the intended schedule;
the range test must put the weights and optimizer state back bit for bit in both. TensorFlow's
worker servers listen on their ports on every interface (the cluster's addresses are 127.0.0.1);
the JAX coordinator and gloo are bound to 127.0.0.1.

Bounded in time: free ports from the OS, a deadline for the pair, and when one worker
fails the other (which would wait for it in a collective) is killed at once.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import distributed_worker as worker

# The history holds the float32 values the optimizer used.
FLOAT32 = 1e-6
from reference_training import make_data, sgd, simulate

# The history holds the float32 values the optimizer used.
FLOAT32 = 1e-6

pytestmark = pytest.mark.keras

HERE = os.path.dirname(os.path.abspath(__file__))
DEADLINE_S = 420


def _free_ports(n):
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _run_pair(tmp_path, commands_and_envs):
    """Starts both workers, waits for both (bounded); returns their JSON results."""
    procs, outs, logs = [], [], []
    for i, (args, env) in enumerate(commands_and_envs):
        out = tmp_path / f"worker{i}.json"
        log = open(tmp_path / f"worker{i}.log", "w")
        procs.append(subprocess.Popen(
            [sys.executable, os.path.join(HERE, "distributed_worker.py"), *args, str(out)],
            env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        outs.append(out)
        logs.append(log)

    def tails():
        return "\n".join(f"--- worker {i}:\n" + (tmp_path / f"worker{i}.log").read_text()[-2500:]
                         for i in range(len(procs)))

    deadline = time.monotonic() + DEADLINE_S
    try:
        while any(p.poll() is None for p in procs):
            if any(p.returncode not in (None, 0) for p in procs):
                break  # the other one would wait for it forever
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        for log in logs:
            log.close()
    codes = [p.returncode for p in procs]
    assert codes == [0] * len(procs), f"worker exit codes {codes}\n{tails()}"
    return [json.loads(out.read_text()) for out in outs]


def _arrays(hexed):
    return [np.frombuffer(bytes.fromhex(a["hex"]), dtype=np.dtype(a["dtype"])).reshape(a["shape"])
            for a in hexed]


def _assert_bitwise(a, b, what):
    a, b = _arrays(a), _arrays(b)
    assert len(a) == len(b), what
    for u, v in zip(a, b):
        assert u.dtype == v.dtype and u.shape == v.shape and u.tobytes() == v.tobytes(), what


def _expected_schedules():
    """The learning rates and momenta that the callbacks should apply, from kerasclr.policies."""
    from kerasclr import policies

    steps_per_epoch = worker.N_ROWS // 4
    cycle = dict(worker.CYCLE)
    high, low = cycle.pop("momentum")
    it = np.arange(steps_per_epoch * worker.CYCLE_EPOCHS)
    cyclic = (policies.cyclic_lr(it, **cycle),
              policies.cyclic_momentum(it, base_momentum=low, max_momentum=high, **cycle))
    total = steps_per_epoch * worker.ONE_CYCLE_EPOCHS
    it = np.arange(total)
    one_cycle = dict(worker.ONE_CYCLE)
    high, low = one_cycle.pop("momentum")
    args = dict(total_steps=total, base_momentum=low, max_momentum=high, **one_cycle)
    one_cycle = (policies.one_cycle_lr(it, **args), policies.one_cycle_momentum(it, **args))
    return {"cyclic": (cyclic, worker.CYCLE_EPOCHS), "one_cycle": (one_cycle, worker.ONE_CYCLE_EPOCHS)}


def _check_training(results, loss_rtol=1e-4):
    """Same schedule in both workers, equal to the policy; bit-identical weights; the reference."""
    x, y = make_data(n=worker.N_ROWS)
    for name, ((lrs, moms), epochs) in _expected_schedules().items():
        first, second = results[0][name], results[1][name]
        _assert_bitwise(first["start"], second["start"], f"{name}: the starting weights differ")
        _assert_bitwise(first["weights"], second["weights"], f"{name}: the final weights differ")
        for key in ("iteration", "learning_rate", "momentum", "loss"):
            assert first["history"][key] == second["history"][key], f"{name}: {key} differs"
        np.testing.assert_array_equal(first["history"]["iteration"], np.arange(len(lrs)))
        np.testing.assert_allclose(first["history"]["learning_rate"], lrs, rtol=FLOAT32)
        np.testing.assert_allclose(first["history"]["momentum"], moms, rtol=FLOAT32)
        # The weights and losses of training on the whole global batches with that schedule.
        expected, losses = simulate(_arrays(first["start"]), x, y, 4, epochs, sgd(lrs, moms))
        for got, want in zip(_arrays(first["weights"]), expected):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(first["history"]["loss"], losses, rtol=loss_rtol)


def _check_range_tests(results):
    """Every range test restored both workers bit for bit; both saw the same curve and stop."""
    for name, _ in worker.RANGE_TESTS:
        first, second = results[0]["range_test"][name], results[1]["range_test"][name]
        for r in (first, second):
            _assert_bitwise(r["before"], r["after"], f"range test {name}: not restored")
        assert first["lr"] == second["lr"] and first["loss"] == second["loss"], name
        assert first["stop_reasons"] == second["stop_reasons"], name
    assert results[0]["range_test"]["default"]["stop_reasons"] == ["completed"]
    assert results[0]["range_test"]["diverging"]["stop_reasons"] == ["diverged"]
    assert results[0]["range_test"]["momentum_grid"]["stop_reasons"] == ["completed", "completed"]


@pytest.mark.backends("jax")
def test_jax_two_processes_data_parallel(tmp_path):
    (port,) = _free_ports(1)
    env = {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "XLA_FLAGS": ""}
    results = _run_pair(tmp_path, [(["jax", str(port), str(i)], env) for i in range(2)])
    assert [r["process_count"] for r in results] == [2, 2]
    _check_training(results)
    _check_range_tests(results)


@pytest.mark.backends("tensorflow")
def test_keras2_multi_worker_mirrored_strategy(tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    pairs = []
    for i in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
        pairs.append((["mwms"], {"KERAS_BACKEND": "tensorflow", "TF_CONFIG": tf_config,
                                 "CUDA_VISIBLE_DEVICES": ""}))
    results = _run_pair(tmp_path, pairs)
    assert [r["num_replicas"] for r in results] == [2, 2]
    _check_training(results)
    _check_range_tests(results)
