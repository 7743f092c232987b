"""Imports of the optional dependencies (the ``plot`` extra: matplotlib and pandas)."""

from __future__ import annotations

import importlib
from types import ModuleType

_EXTRA_OF = {"matplotlib": "plot", "matplotlib.pyplot": "plot", "pandas": "plot"}


def optional_import(module: str, needed_for: str) -> ModuleType:
    """Imports ``module``, or raises an ImportError that says what to install.

    Args:
        module: the module's name, e.g. ``"matplotlib.pyplot"``.
        needed_for: what the caller does with it, for the message (e.g.
            ``"RangeTestResult.plot()"``).

    Raises:
        ImportError: naming the missing package and the kerasclr extra that has it.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        package = module.split(".")[0]
        extra = _EXTRA_OF.get(module, "plot")
        raise ImportError(
            f"{needed_for} needs {package}, which is not installed. "
            f'Install it with: pip install "kerasclr[{extra}]"') from error
