"""The exceptions the shims raise for what an offline, headless run cannot do,
and how the runner turns a failed cell into one of the harness's statuses.

Each exception's message starts with a marker such as ``[labgrade] needs
network:`` so that it is recognised even when a library wraps it (urllib turns
a socket error into ``URLError``, Keras' ``get_file`` into a bare
``Exception``). The classes subclass the built-in error a library would expect
(a missing file is still a ``FileNotFoundError``), so students' own
``try/except`` blocks keep working.

This module is imported by the runner (outside the kernel) too: it must stay
free of heavy imports.
"""

from __future__ import annotations

import re
from typing import Any

MARKER = "[labgrade]"
# Every message ends with one of these, so the reason can be cut out of a library's wrapper text.
OFFLINE = "(the grading sandbox is offline; use the course data files)"
NOT_HANDED_IN = "(not handed in and not one of the course's data files)"
NOT_INSTALLED = "(not installed in the grading runtime; no network to install it)"
NON_INTERACTIVE = "(grading is non-interactive)"
NO_CAMERA = "(the grading machine has no webcam; read images from files)"
TAILS = (OFFLINE, NOT_HANDED_IN, NOT_INSTALLED, NON_INTERACTIVE, NO_CAMERA)


class LabgradeNeedsNetwork(ConnectionError):
    """The notebook tried to reach the network (the grading sandbox has none)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{MARKER} needs network: {what} {OFFLINE}")


class LabgradeMissingDataFile(FileNotFoundError):
    """The notebook reads a data file that is neither a course file nor handed in."""

    def __init__(self, path: str, known: list[str]) -> None:
        offered = ", ".join(known) if known else "none"
        super().__init__(f"{MARKER} missing data file {path!r}; the course offers: {offered} {NOT_HANDED_IN}")


class LabgradeMissingPackage(ModuleNotFoundError):
    """The notebook needs a package the grading runtime does not have."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{MARKER} missing package {name} {NOT_INSTALLED}")


class LabgradeNeedsInput(RuntimeError):
    """The notebook asked for keyboard input (input(), getpass) in a non-interactive run."""

    def __init__(self, prompt: str) -> None:
        super().__init__(f"{MARKER} needs input: the notebook called input({prompt!r}) {NON_INTERACTIVE}")


class LabgradeNeedsCamera(RuntimeError):
    """The notebook opened a webcam (the grading machine has none)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{MARKER} needs a camera: {what} {NO_CAMERA}")


# (status, exception class names, marker phrase in the message)
_RULES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("needs_network", ("LabgradeNeedsNetwork",), "needs network:"),
    ("missing_data_file", ("LabgradeMissingDataFile",), "missing data file"),
    ("missing_package", ("LabgradeMissingPackage",), "missing package"),
    ("needs_input", ("LabgradeNeedsInput", "StdinNotImplementedError"), "needs input:"),
    ("needs_camera", ("LabgradeNeedsCamera",), "needs a camera:"),
)

# The pip name of an import name, where they differ (for the student's message).
PIP_NAMES = {
    "cv2": "opencv-python",
    "sklearn": "scikit-learn",
    "PIL": "pillow",
    "skimage": "scikit-image",
    "yaml": "pyyaml",
    "bs4": "beautifulsoup4",
    "tensorflow_datasets": "tensorflow-datasets",
    "keras_tuner": "keras-tuner",
    "google": "google-colab",
    "mpl_toolkits": "matplotlib",
}

_NO_MODULE = re.compile(r"No module named '([^']+)'")


def missing_module(evalue: str) -> str | None:
    """The top-level package of a ``No module named 'x.y'`` message, when it is not installed at all."""
    import importlib.util

    found = _NO_MODULE.search(evalue or "")
    if not found:
        return None
    top = found.group(1).split(".")[0]
    try:
        installed = importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        installed = False
    return None if installed else top


def _message(evalue: str) -> str:
    """The harness's own message inside a (possibly wrapped) error text."""
    start = evalue.find(MARKER)
    text = evalue[start + len(MARKER) :].strip()
    ends = [text.find(tail) + len(tail) for tail in TAILS if tail in text]
    return text[: min(ends)] if ends else text


def classify(ename: str, evalue: str) -> tuple[str, str] | None:
    """(status, reason) for a cell error the harness has a clear status for, else None."""
    evalue = evalue or ""
    for status, names, phrase in _RULES:
        if ename in names or f"{MARKER} {phrase}" in evalue:
            if MARKER in evalue:
                return status, _message(evalue)
            if status == "needs_input":
                return status, f"needs input: the notebook called input() {NON_INTERACTIVE}"
            return status, f"{ename}: {evalue}"
    if ename == "ModuleNotFoundError":
        top = missing_module(evalue)
        if top:
            return (
                "missing_package",
                f"missing package {PIP_NAMES.get(top, top)}: `import {top}` failed {NOT_INSTALLED}",
            )
    return None


def describe(error: dict[str, Any]) -> str:
    """A one-line description of a cell error record."""
    return f"{error.get('ename', '')}: {error.get('evalue', '')}"
