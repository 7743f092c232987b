"""Registers kerasclr's serializable Keras classes as soon as Keras is imported.

A model saved with a ``CyclicSchedule`` or ``OneCycleSchedule`` names them
``"kerasclr>CyclicSchedule"``; ``keras.saving.load_model()`` finds them only once
``kerasclr.schedules`` has been imported (its ``register_keras_serializable`` decorators).
``import kerasclr`` stays free of Keras, so instead it calls :func:`install`, which

- imports ``kerasclr.schedules`` right away when ``keras`` is already imported, or else
- waits for the import of ``keras``: a finder on ``sys.meta_path`` that, the first time
  ``keras`` is imported, lets the normal finders find it and runs the registration just
  after the ``keras`` module has been executed, then removes itself.

Either way, after ``import kerasclr`` (before or after ``import keras``) a saved model
loads. The R package relies on the same mechanism: it imports this Python package when
Python's ``keras`` gets imported (R/zzz.R). Keras 2 (a ``keras`` older than 3) has no
kerasclr schedules: nothing is registered then.
"""

import sys
import warnings

_KERAS = "keras"


def install():
    """Registers the kerasclr classes now if Keras is imported, else when it is."""
    if _KERAS in sys.modules:
        register()
    elif not any(isinstance(finder, _KerasImportWatcher) for finder in sys.meta_path):
        sys.meta_path.insert(0, _KerasImportWatcher())


def register():
    """Imports ``kerasclr.schedules`` (which registers its classes) under Keras 3."""
    keras = sys.modules.get(_KERAS)
    version = str(getattr(keras, "__version__", "0"))
    if not version.split(".")[0].isdigit() or int(version.split(".")[0]) < 3:
        return
    try:
        import kerasclr.schedules  # noqa: F401  (its decorators register the classes)
    except Exception as error:  # noqa: BLE001  (never break the user's `import keras`)
        warnings.warn(
            f"kerasclr could not register its Keras classes ({error}); models saved with a "
            "kerasclr schedule will not load until `import kerasclr.schedules` succeeds.",
            stacklevel=2,
        )


class _KerasImportWatcher:
    """A ``sys.meta_path`` finder that only watches for ``keras`` and finds nothing itself."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _KERAS:
            return None
        import importlib.util

        # Let the other finders find keras (without this one, so without recursion).
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_then_register(module):
            # This import only: the loader's own method is back before Keras runs.
            del loader.exec_module
            try:
                exec_module(module)
            except BaseException:
                sys.meta_path.insert(0, _KerasImportWatcher())  # watch the next attempt
                raise
            register()

        try:
            loader.exec_module = exec_then_register
        except AttributeError:  # a loader without instance attributes: cannot watch it
            warnings.warn(
                "kerasclr cannot watch the import of keras: "
                "`import kerasclr.schedules` before loading a saved model.",
                stacklevel=2,
            )
        return spec
