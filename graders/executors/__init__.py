"""Where grading jobs run: a pool on this host (``local``, the default) or a Ray cluster (``ray``).

    executor = get_executor("local", workers=4, gpus="all")
    executor.run(jobs, work, on_result=record, on_lost=failed_record)

``work(job, slot)`` is a module-level function (so a Ray node can import it)
that grades one job on whatever node runs it, using that node's sandbox
backend and the device(s) in ``slot``; see :mod:`graders.executors.base` for
the rules every executor keeps. Nothing here imports Ray until the ``ray``
executor is asked for.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from graders.executors.base import CancelToken, Executor, ExecutorError, Slot
from graders.executors.devices import choose_gpus, visible_gpus

__all__ = [
    "CancelToken",
    "Executor",
    "ExecutorError",
    "Slot",
    "choose_gpus",
    "executor_names",
    "get_executor",
    "visible_gpus",
]


def _local(**settings: Any) -> Executor:
    from graders.executors.local import LocalExecutor

    return _build(LocalExecutor, "local", settings)


def _ray(**settings: Any) -> Executor:
    from graders.executors.ray_executor import RayExecutor, import_ray

    import_ray()  # missing Ray is the one-line install hint now, not at the first batch
    return _build(RayExecutor, "ray", settings)


_REGISTRY: dict[str, Callable[..., Executor]] = {"local": _local, "ray": _ray}


def executor_names() -> list[str]:
    """Names ``get_executor`` knows."""
    return sorted(_REGISTRY)


def get_executor(name: str, **settings: Any) -> Executor:
    """The executor ``name`` built with ``settings``; settings given as None are left at their defaults.

    An unknown name, a setting the executor does not take (``address`` for
    ``local``) or a missing Ray is an :class:`ExecutorError` of one line.
    """
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ExecutorError(f"unknown executor {name!r}; known executors: {', '.join(executor_names())}") from None
    return factory(**{key: value for key, value in settings.items() if value is not None})


def _build(cls: Callable[..., Executor], name: str, settings: dict[str, Any]) -> Executor:
    known = [p for p in inspect.signature(cls).parameters if p != "self"]
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise ExecutorError(f"the {name} executor has no setting {', '.join(unknown)} (it takes: {', '.join(known)})")
    return cls(**settings)
