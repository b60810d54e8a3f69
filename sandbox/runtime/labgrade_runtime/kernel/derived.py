"""Well-known file formats of a dataset, made on demand from the served data.

Students download the same data in other shapes than the course ships (a
whitespace table without a header, a CSV of pixels per image, a CSV of texts).
An experiment's kernel adapter registers a *finder* for each such format with
:func:`register`; when a read names a file that does not exist, the finders
are asked in turn, and the first that knows the name (and has the data behind
it in this run) gives a maker, which writes the file beside the notebook
once, from the same rows the course files and Keras loaders serve.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labgrade_runtime.kernel.state import JOB, note

Maker = Callable[[Path], None]
# (normalised name: lower case, alphanumerics only; the course files present; read from a URL?) -> a maker or None
Finder = Callable[[str, dict[str, str], bool], Maker | None]
_FINDERS: list[Finder] = []


def register(finder: Finder) -> None:
    """Add a derived format; registering the same function again (same module and name) replaces it."""
    ident = (finder.__module__, finder.__qualname__)
    for i, known in enumerate(_FINDERS):
        if (known.__module__, known.__qualname__) == ident:
            _FINDERS[i] = finder
            return
    _FINDERS.append(finder)


def served(name: str) -> str | None:
    """The path of a served Keras dataset file (a key of the job spec's ``keras_datasets``), if it is there."""
    path = JOB.spec.keras_datasets.get(name)
    return str(path) if path and Path(path).is_file() else None


def pixel_csv(name: str, split: str, first: str = "pixel") -> Maker | None:
    """A served image-class npz's split as a CSV: ``label,<first>1..<first>N``, one image per row (Kaggle's form).

    Every image of the split, as the real Kaggle file has them (60000 rows for a training split).
    """
    source = served(name)
    if source is None:
        return None

    def make(out: Path) -> None:
        import numpy as np

        with np.load(source) as f:
            x, y = f[f"x_{split}"], f[f"y_{split}"]
        table = np.concatenate([y.reshape(-1, 1), x.reshape(len(x), -1)], axis=1).astype("int64")
        header = ",".join(["label"] + [f"{first}{i + 1}" for i in range(table.shape[1] - 1)])
        write_int_csv(out, header, table)

    return make


def write_int_csv(out: Path, header: str, table: Any) -> None:
    """Small non-negative integers (pixels, labels) as CSV, vectorised: 60000 x 785 in a few seconds.

    Each cell is looked up as its text with the separator after it; numpy's padding bytes are dropped.
    ``numpy.savetxt`` takes minutes for a full Kaggle pixel file, longer than a notebook cell may run.
    """
    import numpy as np

    top = int(table.max(initial=0)) + 1
    width = len(str(top)) + 1
    after_comma = np.array([f"{i},".encode() for i in range(top)], dtype=f"S{width}")
    after_newline = np.array([f"{i}\n".encode() for i in range(top)], dtype=f"S{width}")
    with open(out, "wb") as fh:
        fh.write(f"{header}\n".encode())
        for start in range(0, len(table), 4000):
            part = table[start : start + 4000]
            cells = np.empty(part.shape, dtype=f"S{width}")
            cells[:, :-1] = after_comma[part[:, :-1]]
            cells[:, -1] = after_newline[part[:, -1]]
            fh.write(cells.tobytes().replace(b"\x00", b""))


def _maker(base: str, files: dict[str, str], url: bool) -> Maker | None:
    key = re.sub(r"[^a-z0-9]", "", base.lower())
    for finder in _FINDERS:
        maker = finder(key, files, url)
        if maker is not None:
            return maker
    return None


def make(base: str, files: dict[str, str], *, build: bool = True, url: bool = False) -> str | None:
    """The path of the derived file ``base`` (written on first use), or None when none applies."""
    maker = _maker(base, files, url)
    if maker is None:
        return None
    out = Path(JOB.spec.cwd) / base
    if build and not out.is_file():
        maker(out)
        note("file_derived", f"{base!r} written from the served data in its well-known format")
    return str(out)
