"""Sandbox backends behind one Protocol, chosen by name from a registry."""

from __future__ import annotations

from collections.abc import Callable

from graders.backends.base import Ending, Job, JobResult, Limits, Mount, Sandbox

_REGISTRY: dict[str, Callable[[], Sandbox]] = {}
_BUILTINS_ADDED: list[str] = []  # the built-ins once added (a registration before that never replaces them)


class UnknownBackend(ValueError):
    """Raised for a backend name nobody registered, or one that cannot be used here (the message says why)."""


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


def choose(name: str) -> tuple[Sandbox, str]:
    """The backend ``name`` (``auto``: docker when an engine and the grading image answer, else local) and a
    sentence saying why: a fallback is never silent. An unusable backend is an :class:`UnknownBackend`."""
    if name != "auto":
        backend = get_backend(name)
        ok, why = backend.available()
        if not ok:
            raise UnknownBackend(f"the {name} sandbox backend is not available: {why}")
        return backend, f"{name} backend (as configured)"
    try:
        docker = get_backend("docker")
        ok, why = docker.available()
    except Exception as exc:  # an absent SDK or engine is a fallback, not a failure
        ok, why = False, str(exc)
    if ok:
        return docker, "docker backend (an engine and the grading image answered)"
    return get_backend("local"), f"local backend: docker is not usable here ({why})"


def backend_names() -> list[str]:
    """Names of every registered backend."""
    _register_builtins()
    return sorted(_REGISTRY)


def _register_builtins() -> None:
    """Add the built-in backends once, beside whatever was registered before the first look-up (a custom
    backend never hides ``local`` and ``docker``; one registered under a built-in's name replaces it)."""
    if _BUILTINS_ADDED:
        return
    from graders.backends.local import from_environment

    _REGISTRY.setdefault("local", from_environment)
    _BUILTINS_ADDED.append("local")
    try:
        from graders.backends.docker import DockerSandbox
    except ImportError:  # the docker backend is optional at import time
        return
    _REGISTRY.setdefault("docker", DockerSandbox)
    _BUILTINS_ADDED.append("docker")


__all__ = [
    "Ending",
    "Job",
    "JobResult",
    "Limits",
    "Mount",
    "Sandbox",
    "UnknownBackend",
    "backend_names",
    "choose",
    "get_backend",
    "register",
]
