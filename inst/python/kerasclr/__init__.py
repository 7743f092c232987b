"""kerasclr: cyclical learning rates, the one-cycle policy and the learning-rate
range test for Keras 3 (TensorFlow, JAX and PyTorch backends)."""

__version__ = "0.1.0"

from kerasclr.policies import (  # noqa: F401
    ONE_CYCLE_PRESETS,
    cyclic_lr,
    cyclic_momentum,
    one_cycle_lr,
    one_cycle_momentum,
    tail_divisors,
)

# Names from modules that need Keras are imported on first use, so that
# `import kerasclr` stays NumPy-only (and fast). Add a module's exports here.
_LAZY_EXPORTS = {
    "CyclicSchedule": "schedules",
    "OneCycleSchedule": "schedules",
}


def __getattr__(name):
    if name in _LAZY_EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"kerasclr.{_LAZY_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'kerasclr' has no attribute {name!r}")

# Registers the saveable classes once Keras is imported, so saved models load (_registration.py).
from kerasclr._registration import install as _register_when_keras_is_imported

_register_when_keras_is_imported()
