"""Sandbox backends behind one Protocol, chosen by name from a registry."""

from __future__ import annotations

from collections.abc import Callable

from graders.backends.base import Ending, Job, JobResult, Limits, Mount, Sandbox

_REGISTRY: dict[str, Callable[[], Sandbox]] = {}


class UnknownBackend(ValueError):
    """Raised for a backend name nobody registered."""


def register(name: str, factory: Callable[[], Sandbox]) -> None:
    """Register a backend factory under ``name`` (explicit, not an import side effect)."""
    _REGISTRY[name] = factory


def get_backend(name: str) -> Sandbox:
    """Build the backend registered as ``name``; a clear error for unknown names."""
    _register_builtins()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownBackend(f"unknown sandbox backend {name!r}; known backends: {known}") from None
    return factory()


def backend_names() -> list[str]:
    """Names of every registered backend."""
    _register_builtins()
    return sorted(_REGISTRY)


def _register_builtins() -> None:
    if _REGISTRY:
        return
    from graders.backends.local import from_environment

    register("local", from_environment)
    try:
        from graders.backends.docker import DockerSandbox
    except ImportError:  # the docker backend is optional at import time
        return
    register("docker", DockerSandbox)


__all__ = [
    "Ending",
    "Job",
    "JobResult",
    "Limits",
    "Mount",
    "Sandbox",
    "UnknownBackend",
    "backend_names",
    "get_backend",
    "register",
]
