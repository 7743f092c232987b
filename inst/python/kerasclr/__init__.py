"""kerasclr: cyclical learning rates, the one-cycle policy and the learning-rate
range test for Keras 3 (TensorFlow, JAX and PyTorch backends).

The public API is the names in ``__all__``, all at the top level:

- callbacks for ``model.fit()``: ``CyclicLR``, ``OneCycle``;
- ``LearningRateSchedule`` classes for an optimizer: ``CyclicSchedule``,
  ``OneCycleSchedule``;
- the learning-rate range test: ``lr_range_test()``, which returns a
  ``RangeTestResult``;
- the whole workflow in one call: ``fit_one_cycle()`` (the range test, then one-cycle
  training from its answer), which returns the
  history, the range test and the callback (``kerasclr.pipeline.FitOneCycleResult``);
- the schedules as NumPy arrays: ``cyclic_lr()``, ``cyclic_momentum()``,
  ``one_cycle_lr()``, ``one_cycle_momentum()``, and ``ONE_CYCLE_PRESETS``, the
  one-cycle parameters of PyTorch (``"pytorch"``) and fastai (``"fastai"``);
- ``__version__``.

``import kerasclr`` needs only NumPy: the names that need Keras import their module
(and Keras) the first time they are used. The submodules are internal and may be
reorganised.

Example:

>>> import numpy as np
>>> import kerasclr
>>> sorted(kerasclr.ONE_CYCLE_PRESETS)
['fastai', 'pytorch']
>>> lr = kerasclr.one_cycle_lr(np.arange(100), 100, max_lr=0.1,
...                            **kerasclr.ONE_CYCLE_PRESETS["pytorch"])
>>> int(np.argmax(lr))
29
>>> isinstance(kerasclr.__version__, str)
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from kerasclr.policies import (
    ONE_CYCLE_PRESETS,
    cyclic_lr,
    cyclic_momentum,
    one_cycle_lr,
    one_cycle_momentum,
)
from kerasclr.results import RangeTestResult

# Names from modules that need Keras, imported on first use so that `import kerasclr`
# stays NumPy-only (and fast): name -> module.
_LAZY_EXPORTS = {
    "CyclicLR": "callbacks",
    "OneCycle": "callbacks",
    "CyclicSchedule": "schedules",
    "OneCycleSchedule": "schedules",
    "lr_range_test": "range_test",
    "fit_one_cycle": "pipeline",
}

__all__ = [
    "CyclicLR",
    "OneCycle",
    "CyclicSchedule",
    "OneCycleSchedule",
    "lr_range_test",
    "RangeTestResult",
    "fit_one_cycle",
    "cyclic_lr",
    "cyclic_momentum",
    "one_cycle_lr",
    "one_cycle_momentum",
    "ONE_CYCLE_PRESETS",
    "__version__",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from kerasclr.callbacks import CyclicLR, OneCycle
    from kerasclr.pipeline import fit_one_cycle
    from kerasclr.range_test import lr_range_test
    from kerasclr.schedules import CyclicSchedule, OneCycleSchedule


def __getattr__(name: str) -> Any:
    module = _LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kerasclr' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"kerasclr.{module}"), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


# Registers the saveable classes once Keras is imported, so saved models load (_registration.py).
from kerasclr._registration import install as _register_when_keras_is_imported  # noqa: E402

_register_when_keras_is_imported()
