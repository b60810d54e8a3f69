"""Course data files under the many names and paths students read them from.

A student's notebook reads a course file under another name, from a Colab
Drive path (``/content/drive/MyDrive/DL/...``), a Windows desktop
(``C:\\Users\\me\\Desktop\\x.csv``) or a Kaggle input folder. The course's files
sit beside the notebook; when a read names a path that does not exist, its
last component is looked up among the course files (exact name, then the
rubric's ``[data] aliases``, then the fuzzy families an experiment's kernel
adapter registers with :func:`register_family`) and the read is answered
from the course file, with an ``file_alias`` adaptation. Well-known derived
formats (registered with ``derived.register``) are made on demand from the
served data. A data-looking file that cannot be resolved raises
``LabgradeMissingDataFile``.

Before any of that, a read the notebook's own evidence matched to one
copy of a course file (the job spec's ``data_map``: the read as written, then
its last component) is answered from that copy, with a ``file_variant``
adaptation giving the host's reason; it replaces the canonical copy beside the
notebook too, never a file the notebook wrote itself.
"""

from __future__ import annotations

import builtins
import functools
import io
import os
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labgrade_runtime.errors import LabgradeMissingDataFile, LabgradeNeedsNetwork
from labgrade_runtime.kernel.state import JOB, note

DATA_SUFFIXES = (
    ".csv",
    ".data",
    ".txt",
    ".tsv",
    ".xlsx",
    ".xls",
    ".json",
    ".npz",
    ".npy",
    ".zip",
    ".gz",
    ".parquet",
    ".pkl",
    ".h5",
    ".jpg",
    ".jpeg",
    ".png",
    ".bmp",
    ".names",
    ".dat",
)
_ORIG: dict[str, Callable[..., Any]] = {}


@dataclass(frozen=True)
class Family:
    """A fuzzy family of names: a regex over the normalised name, the course files it may mean (best first).

    ``demote_unless`` maps a candidate to a regex over the notebook's code: the
    candidate is ranked last unless the code matches (e.g. a file with NA cells,
    for code that never fills them).
    """

    pattern: str
    candidates: tuple[str, ...]
    demote_unless: tuple[tuple[str, str], ...] = ()


_FAMILIES: list[Family] = []


def register_family(
    pattern: str, candidates: tuple[str, ...] | list[str], *, demote_unless: dict[str, str] | None = None
) -> None:
    """Let a read whose name matches ``pattern`` (normalised: lower case, alphanumerics only) use a course file.

    Families are tried in registration order; registering a pattern again replaces it.
    """
    family = Family(pattern, tuple(candidates), tuple((demote_unless or {}).items()))
    for i, known in enumerate(_FAMILIES):
        if known.pattern == pattern:
            _FAMILIES[i] = family
            return
    _FAMILIES.append(family)


def norm(name: str) -> str:
    """A file name compared loosely: case, spaces, punctuation and ' (1)' copy suffixes ignored."""
    name = re.sub(r"\s*\(\d+\)(?=\.[^.]+$)", "", name.strip())
    return re.sub(r"[^a-z0-9]", "", name.lower())


def basename(path: str) -> str:
    """The last component of a POSIX or Windows path."""
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1]


def course_files() -> dict[str, str]:
    """Course file name -> absolute path, for the files present beside the notebook."""
    cwd = Path(JOB.spec.cwd)
    return {n: str(cwd / n) for n in JOB.spec.data_files if (cwd / n).is_file()}


def _alias_table(files: dict[str, str]) -> dict[str, str]:
    table: dict[str, str] = {}
    declared: dict[str, list[str]] = JOB.spec.aliases
    for canonical, names in declared.items():
        if canonical in files:
            for alias in names:
                table[norm(alias)] = canonical
    table.update({norm(n): n for n in files})
    return table


def _column_score(path: str, code: str) -> int:
    """How many of a CSV's header columns the notebook's code names in quotes."""
    try:
        with _ORIG.get("open", builtins.open)(path, encoding="utf-8", errors="replace") as fh:
            header = fh.readline()
    except OSError:
        return 0
    return sum(
        1 for col in header.strip().split(",") if col and re.search(rf"['\"]{re.escape(col.strip())}['\"]", code)
    )


def _pick(family: Family, files: dict[str, str]) -> str | None:
    """The family's course file the code fits best (the columns it names; its demotions)."""
    present = [c for c in family.candidates if c in files]
    if not present:
        return None
    code = JOB.spec.code
    order = {c: i for i, c in enumerate(present)}
    for candidate, needs in family.demote_unless:
        if candidate in order and not re.search(needs, code):
            order[candidate] = len(present)
    return max(present, key=lambda c: (_column_score(files[c], code), -order[c]))


def _variant_key(path: str) -> str | None:
    """The ``data_map`` key a read means: the read as the notebook writes it, else one with its last component."""
    table: dict[str, str] = JOB.spec.data_map
    if path in table:
        return path
    base = basename(path)
    keys = [k for k in table if basename(k) == base]
    return keys[0] if base and len(keys) == 1 else None


NOT_A_COURSE_FILE = ".not-a-course-file"  # a data_map target: the evidence says this read is another dataset


def _refused(path: str) -> bool:
    """True when the host's evidence says a read of ``path`` is another dataset than the course's (then raises)."""
    key = _variant_key(path)
    if key is None or basename(str(JOB.spec.data_map[key])) != NOT_A_COURSE_FILE:
        return False
    if _ORIG.get("exists", os.path.exists)(path) and not _replaceable(path):
        return False  # the notebook wrote it itself
    note("file_refused", JOB.spec.data_reasons.get(key) or f"{key!r} is not one of the course's data files")
    raise LabgradeMissingDataFile(path, known_names())


def variant(path: str) -> str | None:
    """The copy of a course file the evidence matched for a read of ``path`` (noted when used), or None."""
    key = _variant_key(path)
    if key is None or _refused(path):
        return None
    found = str(JOB.spec.data_map[key])
    if not _ORIG.get("exists", os.path.exists)(found):
        return None
    reason = JOB.spec.data_reasons.get(key) or f"{key!r} read from the copy of the course file its evidence matched"
    note("file_variant", reason)
    return found


def _replaceable(path: str) -> bool:
    """True when ``path`` is missing or is the canonical course file served beside the notebook."""
    exists = _ORIG.get("exists", os.path.exists)
    if not exists(path):
        return True
    cwd = Path(JOB.spec.cwd)
    try:
        return any(os.path.samefile(path, cwd / n) for n in JOB.spec.data_files if exists(cwd / n))
    except OSError:
        return False


def resolve(path: str, *, build: bool = True, url: bool = False) -> str | None:
    """The local file a read of a non-existent ``path`` (or a URL's last component) should use, or None.

    ``build=False`` only says whether there is one (for os.path.exists).
    """
    base = basename(path)
    if not base:
        return None
    if build and (found := variant(path)):
        return found
    if not build and (key := _variant_key(path)):
        found = JOB.spec.data_map[key]
        return None if basename(found) == NOT_A_COURSE_FILE else found
    files = course_files()
    key = norm(base)
    canonical = _alias_table(files).get(key)
    if canonical:
        return files[canonical]
    from labgrade_runtime.kernel import derived

    made = derived.make(base, files, build=build, url=url)
    if made:
        return made
    if not base.lower().endswith((".csv", ".data", ".txt", ".xlsx", ".xls")):
        return None
    for family in _FAMILIES:
        if re.search(family.pattern, key):
            chosen = _pick(family, files)
            if chosen:
                return files[chosen]
    return None


def describe(found: str) -> str:
    """How a resolved file is named to the student: a course file, or one made from the served data."""
    name = basename(found)
    return f"the course file {name!r}" if name in JOB.spec.data_files else f"{name!r}, made from the course's data"


def _note_alias(path: str, found: str) -> None:
    if basename(path) != basename(found) or basename(found) in JOB.spec.data_files:
        note("file_alias", f"{path!r} read from {describe(found)}")


def looks_like_data(path: str) -> bool:
    """True for a path whose suffix says it holds data (a CSV, an image, an archive...)."""
    return basename(path).lower().endswith(DATA_SUFFIXES)


def known_names() -> list[str]:
    """The course files a student may read, for messages."""
    return sorted(course_files())


def local(value: Any, *, strict: bool = True) -> Any:
    """What a read of ``value`` should open: itself, a course file, a fetched URL; raises for a missing data file."""
    if not isinstance(value, (str, os.PathLike)):
        return value
    text = os.fspath(value)
    if not isinstance(text, str):
        return value
    if re.match(r"(https?|ftp)://", text, re.IGNORECASE):
        return fetch(text)
    if _variant_key(text) and _replaceable(text) and (chosen := variant(text)):
        return chosen
    if _ORIG.get("exists", os.path.exists)(text):
        return value
    found = resolve(text)
    if found:
        _note_alias(text, found)
        return found
    if strict and looks_like_data(text):
        raise LabgradeMissingDataFile(text, known_names())
    return value


def wrap_reader(func: Callable[..., Any], names: tuple[str, ...] = ()) -> Callable[..., Any]:
    """Wrap a reading function so that its path argument goes through :func:`local`."""
    if getattr(func, "_labgrade", False):
        return func
    keys = names or ("filepath_or_buffer", "io", "path_or_buf", "fname", "file", "fp", "filename", "path", "filepath")

    @functools.wraps(func)
    def reader(*args: Any, **kwargs: Any) -> Any:
        if args:
            args = (local(args[0]),) + args[1:]
        else:
            key = next((k for k in keys if k in kwargs), None)
            if key:
                kwargs[key] = local(kwargs[key])
        return func(*args, **kwargs)

    reader._labgrade = True  # type: ignore[attr-defined]
    return reader


def _open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
    """builtins.open that answers a read of a missing course file from the course files."""
    if isinstance(file, (str, os.PathLike)) and not any(c in mode for c in "wax+"):
        path = os.fspath(file)
        if isinstance(path, str) and _variant_key(path) and _replaceable(path) and (chosen := variant(path)):
            return _ORIG["open"](chosen, mode, *args, **kwargs)
    try:
        return _ORIG["open"](file, mode, *args, **kwargs)
    except FileNotFoundError:
        if any(c in mode for c in "wax+") or not isinstance(file, (str, os.PathLike)):
            raise
        path = os.fspath(file)
        found = resolve(path) if isinstance(path, str) else None
        if not found:
            if isinstance(path, str) and looks_like_data(path):
                raise LabgradeMissingDataFile(path, known_names()) from None
            raise
        _note_alias(path, found)
        return _ORIG["open"](found, mode, *args, **kwargs)


def _exists_wrapper(func: Callable[[Any], bool]) -> Callable[[Any], bool]:
    @functools.wraps(func)
    def exists(path: Any) -> bool:
        if func(path):
            return True
        try:
            text = os.fspath(path)
        except TypeError:
            return False
        return isinstance(text, str) and resolve(text, build=False) is not None

    return exists


def install(user_ns: dict[str, Any] | None) -> None:
    """Patch open(), os.path.exists/isfile and numpy's readers; pandas, PIL and cv2 on import."""
    if "open" in _ORIG:
        return
    _ORIG["open"], _ORIG["exists"] = builtins.open, os.path.exists
    builtins.open = io.open = _open
    if user_ns is not None:
        user_ns["open"] = _open  # IPython puts its own open() in the user namespace
    os.path.exists = _exists_wrapper(os.path.exists)  # type: ignore[assignment]
    os.path.isfile = _exists_wrapper(os.path.isfile)  # type: ignore[assignment]
    import numpy as np

    for name in ("loadtxt", "genfromtxt", "load", "fromfile"):
        setattr(np, name, wrap_reader(getattr(np, name)))


PANDAS_READERS = (
    "read_csv",
    "read_table",
    "read_excel",
    "read_json",
    "read_fwf",
    "read_parquet",
    "read_pickle",
    "read_feather",
    "read_hdf",
)


def _whitespace(func: Callable[..., Any]) -> Callable[..., Any]:
    r"""read_csv(delim_whitespace=True) (removed in pandas 3) as sep=r"\s+"."""

    @functools.wraps(func)
    def read(*args: Any, **kwargs: Any) -> Any:
        if kwargs.pop("delim_whitespace", False):
            note("pandas_compat", "read_csv(delim_whitespace=True) (removed from pandas) read with sep=r'\\s+'")
            kwargs["sep"] = r"\s+"
        return func(*args, **kwargs)

    read._labgrade = True  # type: ignore[attr-defined]
    return read


_MIXED = "doesn't match format"  # pandas 2: dates read with the format of the first one, and one is not in it
_MIXED_NOTE = (
    "dates in more than one form ({where}) parsed one by one, as pandas 1.x did for the copy's author "
    "(format='mixed'{dayfirst})"
)


def _to_datetime(func: Callable[..., Any]) -> Callable[..., Any]:
    """pd.to_datetime without a format: a column whose dates are not all in its first one's form (an Excel re-save,
    a file extended by dates of another locale) is parsed date by date, as pandas 1.x did, not refused."""

    @functools.wraps(func)
    def to_datetime(arg: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return func(arg, *args, **kwargs)
        except ValueError as exc:
            if args or kwargs.get("format") is not None or _MIXED not in str(exc):
                raise
            try:
                parsed = func(arg, format="mixed", **kwargs)
            except (ValueError, TypeError):
                raise exc from None  # not dates in several forms: pandas' own error
            day_first = ", dayfirst=True" if kwargs.get("dayfirst") else ""
            note("pandas_compat", _MIXED_NOTE.format(where="pd.to_datetime", dayfirst=day_first))
            return parsed

    to_datetime._labgrade = True  # type: ignore[attr-defined]
    return to_datetime


def _date_columns(parse: Any, frame: Any, index_col: Any) -> list[Any]:
    if parse is True:
        return ["<index>"] if index_col is not None else []
    if isinstance(parse, (list, tuple)):
        return [frame.columns[c] if isinstance(c, int) and c < len(frame.columns) else c for c in parse]
    return []


def _parse_dates(func: Callable[..., Any]) -> Callable[..., Any]:
    """read_csv(parse_dates=...) whose dates are in more than one form: pandas 2 leaves them text without a word;
    pandas 1.x parsed them date by date. Parsed so here too, when every one of them parses."""

    @functools.wraps(func)
    def read(*args: Any, **kwargs: Any) -> Any:
        frame = func(*args, **kwargs)
        parse = kwargs.get("parse_dates")
        if not parse or kwargs.get("date_format") or kwargs.get("iterator") or kwargs.get("chunksize"):
            return frame
        import pandas as pd

        for column in _date_columns(parse, frame, kwargs.get("index_col")):
            values = frame.index if column == "<index>" else frame.get(column) if column in frame else None
            if values is None or getattr(values, "dtype", None) is None or values.dtype.kind in "Mmifcb":
                continue
            try:
                parsed = pd.to_datetime(values, format="mixed", dayfirst=bool(kwargs.get("dayfirst")))
            except (ValueError, TypeError):
                continue
            if column == "<index>":
                frame.index = pd.DatetimeIndex(parsed, name=frame.index.name)
            else:
                frame[column] = parsed
            day_first = ", dayfirst=True" if kwargs.get("dayfirst") else ""
            note("pandas_compat", _MIXED_NOTE.format(where=f"read_csv parse_dates {column!r}", dayfirst=day_first))
        return frame

    read._labgrade = True  # type: ignore[attr-defined]
    return read


def _append(self: Any, other: Any, ignore_index: bool = False, **kwargs: Any) -> Any:
    """DataFrame/Series.append (removed in pandas 2) as pandas.concat."""
    import pandas as pd

    note("pandas_compat", ".append() (removed from pandas) done with pandas.concat")
    if isinstance(other, dict) or (isinstance(other, list) and other and isinstance(other[0], dict)):
        other = pd.DataFrame(other if isinstance(other, list) else [other])
    parts = [self] + (list(other) if isinstance(other, list) else [other])
    return pd.concat(parts, ignore_index=ignore_index, **kwargs)


def patch_pandas(module: Any) -> None:
    """Course-file and URL resolution for pandas' readers; APIs pandas removed but students still call."""
    for name in PANDAS_READERS:
        if hasattr(module, name):
            setattr(module, name, wrap_reader(getattr(module, name)))
    for name in ("read_csv", "read_table"):
        setattr(module, name, _whitespace(getattr(module, name)))
        setattr(module, name, _parse_dates(getattr(module, name)))
    if not getattr(module.to_datetime, "_labgrade", False):
        module.to_datetime = _to_datetime(module.to_datetime)
    for cls in (module.DataFrame, module.Series):
        if not hasattr(cls, "append"):
            cls.append = _append


def patch_pil_image(module: Any) -> None:
    """Course-file resolution for PIL.Image.open."""
    module.open = wrap_reader(module.open)


def fetch(url: str) -> str:
    """The local course file that answers ``url``; raises LabgradeNeedsNetwork when there is none."""
    path = urllib.parse.urlparse(url).path
    name = basename(urllib.parse.unquote(path))
    found = resolve(name, url=True) if name else None
    if not found:
        raise LabgradeNeedsNetwork(url)
    note("url_served", f"{url} served from {describe(found)} (no network)")
    return found
