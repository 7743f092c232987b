"""kerasclr: cyclical learning rates, the one-cycle policy and the learning-rate
range test for Keras 3 (TensorFlow, JAX and PyTorch backends)."""

__version__ = "0.1.0"

from kerasclr.policies import (  # noqa: F401
    cyclic_lr,
    cyclic_momentum,
    one_cycle_lr,
    one_cycle_momentum,
    tail_divisors,
    ONE_CYCLE_PRESETS,
)
