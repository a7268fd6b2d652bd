"""Lambda's SnapStart runtime hooks for Python (the `snapshot_restore_py` module
Lambda's Python runtimes provide): a handler registers callables to run once before
the snapshot of its initialised environment is taken, and in each environment
restored from it. Either as a call, `register_after_restore(func, *args, **kwargs)`,
or as a decorator. Selfless's Python runtime (bootstrap.py) runs them: before-snapshot
hooks in reverse order of registration, after-restore hooks in order.
"""

__all__ = ["register_before_snapshot", "register_after_restore"]

_before_snapshot = []
_after_restore = []


def register_before_snapshot(func, *args, **kwargs):
    """Runs `func(*args, **kwargs)` once, before the snapshot; returns `func`."""
    _before_snapshot.append((func, args, kwargs))
    return func


def register_after_restore(func, *args, **kwargs):
    """Runs `func(*args, **kwargs)` in every restored environment; returns `func`."""
    _after_restore.append((func, args, kwargs))
    return func


def get_before_snapshot():
    """The registered before-snapshot hooks as (func, args, kwargs), for the runtime."""
    return _before_snapshot


def get_after_restore():
    """The registered after-restore hooks as (func, args, kwargs), for the runtime."""
    return _after_restore
