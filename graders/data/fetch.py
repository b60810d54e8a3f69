"""The real Keras datasets, fetched once into a course's ``data`` folder and verified.

What is fetched is what the experiments declare (``[data] keras_datasets`` of
every rubric); where each file comes from and what it must hash to are read
from the loaders Keras ships (``keras/src/datasets/<name>.py`` of the
installed ``keras``), parsed with :mod:`ast`, never imported and never typed
in by hand: each ``get_file(fname, origin=..., file_hash=..., cache_subdir=...)``
call names a file, its URL and its hash. Files land where Keras itself caches
them (``<data>/datasets/<cache_subdir>/<fname>``), which is the layout the data
providers read. A hash of 64 hex digits is SHA-256, one of 32 is MD5 (Keras'
``hash_algorithm="auto"``). A file whose loader names no hash (Fashion-MNIST's
four IDX files) is checked as far as its format allows (a gzip file's CRC-32
and length) and its SHA-256 is recorded in the data folder's manifest
(:data:`MANIFEST`): every later fetch verifies against that.

Each download goes to a temporary file in the data folder, is verified, and is
renamed into place only then: an interrupted or refused fetch leaves no file
the harness would read.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import http.client
import importlib.util
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from graders.rubric import available_experiments, load_rubric

MANIFEST = "labgrade-datasets.json"  # in the data folder: what was fetched, from where, and its SHA-256
KERAS_SOURCE_ENV = "LABGRADE_KERAS_SOURCE"  # a folder of loader modules in keras/src/datasets' form
BASE_URL_ENV = "LABGRADE_DATASETS_URL"  # a mirror serving the origin folder's files under the same names
_CHUNK = 1 << 20


class FetchError(ValueError):
    """A dataset could not be fetched or verified (said in one line)."""


@dataclass(frozen=True)
class Remote:
    """One file a Keras loader downloads: where from, where it is cached, what it must hash to."""

    dataset: str  # the loader module: keras.datasets.<dataset>
    fname: str
    origin: str
    file_hash: str  # "" where the loader names none
    cache_subdir: str  # relative to the data folder, as Keras' cache_dir
    cited: str  # the loader file and line that name it

    @property
    def relpath(self) -> str:
        """Where the file lives under the data folder (Keras cache layout)."""
        return f"{self.cache_subdir.strip('/')}/{self.fname}"

    @property
    def algorithm(self) -> str:
        """Keras' ``hash_algorithm="auto"``: SHA-256 for 64 hex digits, else MD5."""
        return "sha256" if len(self.file_hash) == 64 else "md5"


@dataclass(frozen=True)
class Fetched:
    """What a fetch did with one file."""

    remote: Remote
    size: int
    sha256: str
    verified: str  # how: "sha256 as keras names it", "sha256 of the first fetch" ...
    downloaded: bool


# ---------------------------------------------------------------- the loaders Keras ships


def keras_source(override: Path | str | None = None) -> tuple[Path, str]:
    """The folder of Keras' dataset loaders, and how to name it (``keras 3.x``), without importing Keras."""
    chosen = override or os.environ.get(KERAS_SOURCE_ENV)
    if chosen:
        folder = Path(chosen)
        if not folder.is_dir():
            raise FetchError(f"{folder}: no such folder of Keras dataset loaders")
        return folder, str(folder)
    spec = importlib.util.find_spec("keras")
    if spec is None or not spec.submodule_search_locations:
        raise FetchError("keras is not installed: its dataset loaders name the files to fetch")
    folder = Path(next(iter(spec.submodule_search_locations))) / "src" / "datasets"
    if not folder.is_dir():
        raise FetchError(f"{folder}: this keras has no dataset loaders where Keras 3 keeps them")
    return folder, f"keras {metadata.version('keras')}"


class _Unknown(Exception):
    """An expression the reader does not evaluate (a call, a computed name ...)."""


def _value(node: ast.expr, env: dict[str, object]) -> object:
    """The value of a constant expression in a loader: strings, f-strings, +, lists, ``os.path.join``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        raise _Unknown(node.id)
    if isinstance(node, ast.JoinedStr):
        return "".join(str(_value(v.value if isinstance(v, ast.FormattedValue) else v, env)) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return str(_value(node.left, env)) + str(_value(node.right, env))
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_value(e, env) for e in node.elts]
    if isinstance(node, ast.Call) and ast.unparse(node.func) in ("os.path.join", "path.join", "join"):
        return "/".join(str(_value(a, env)) for a in node.args)
    raise _Unknown(ast.unparse(node))


def _is_get_file(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "get_file") or (
        isinstance(func, ast.Attribute) and func.attr == "get_file"
    )


def _remote(call: ast.Call, env: dict[str, object], dataset: str, where: str) -> Remote:
    args = {k.arg: k.value for k in call.keywords if k.arg}
    for i, name in enumerate(("fname", "origin")):
        if i < len(call.args):
            args.setdefault(name, call.args[i])
    try:
        fname, origin = str(_value(args["fname"], env)), str(_value(args["origin"], env))
        file_hash = str(_value(args["file_hash"], env)) if "file_hash" in args else ""
        subdir = str(_value(args["cache_subdir"], env)) if "cache_subdir" in args else "datasets"
    except (KeyError, _Unknown) as exc:
        raise FetchError(f"{where}: cannot read this get_file call's {exc} without running it") from None
    return Remote(dataset, fname, origin, file_hash, subdir, f"{where}:{call.lineno}")


def _calls(body: list[ast.stmt], env: dict[str, object], dataset: str, where: str) -> Iterator[Remote]:
    """The get_file calls of a function body in order, with the names they use bound (loops unrolled)."""
    for stmt in body:
        if isinstance(stmt, ast.For) and isinstance(stmt.target, ast.Name):
            try:
                items = _value(stmt.iter, env)
            except _Unknown:
                items = []
            for item in items if isinstance(items, list) else []:
                yield from _calls(stmt.body, {**env, stmt.target.id: item}, dataset, where)
            continue
        if isinstance(stmt, (ast.With, ast.If, ast.Try)):
            yield from _calls(stmt.body, env, dataset, where)
            continue
        for node in ast.walk(stmt):
            if _is_get_file(node):
                assert isinstance(node, ast.Call)
                yield _remote(node, env, dataset, where)
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            try:
                env[stmt.targets[0].id] = _value(stmt.value, env)
            except _Unknown:
                env.pop(stmt.targets[0].id, None)


def _defaults(fn: ast.FunctionDef) -> dict[str, object]:
    positional = fn.args.args[len(fn.args.args) - len(fn.args.defaults) :]
    pairs = list(zip(positional, fn.args.defaults, strict=True))
    pairs += [(a, d) for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults, strict=True) if d is not None]
    out: dict[str, object] = {}
    for arg, default in pairs:
        try:
            out[arg.arg] = _value(default, {})
        except _Unknown:
            pass
    return out


def loader_files(module: Path, dataset: str) -> list[Remote]:
    """Every file the loader module ``module`` downloads, read from its source with the AST."""
    where = f"{module.parent.parent.parent.name}/{module.parent.parent.name}/{module.parent.name}/{module.name}"
    tree = ast.parse(module.read_text(encoding="utf-8"), filename=str(module))
    found: list[Remote] = []
    for fn in tree.body:
        if isinstance(fn, ast.FunctionDef):
            found += [r for r in _calls(fn.body, _defaults(fn), dataset, where) if r not in found]
    return found


def _module_of(loader: str, folder: Path) -> str | None:
    """The loader module serving a declared loader name: itself, or the longest module it extends (``x_word_index``)."""
    names = sorted((p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")), key=len, reverse=True)
    return next((n for n in names if loader == n or loader.startswith(f"{n}_")), None)


def declared_datasets(folder: Path) -> dict[str, list[str]]:
    """Loader module -> the experiments declaring it (``[data] keras_datasets`` of every rubric)."""
    out: dict[str, list[str]] = {}
    for exp in available_experiments():
        for loader in load_rubric(exp).data.keras_datasets:
            module = _module_of(loader, folder)
            if module is None:
                raise FetchError(
                    f"rubric of {exp!r} declares keras.datasets.{loader}, which {folder} has no loader for"
                )
            out.setdefault(module, [])
            if exp not in out[module]:
                out[module].append(exp)
    return dict(sorted(out.items()))


def remotes(folder: Path, only: list[str] | None = None) -> list[Remote]:
    """The files to fetch: every declared dataset's (or ``only`` those, by module or loader name)."""
    declared = declared_datasets(folder)
    chosen = list(declared)
    if only:
        chosen = []
        for name in only:
            module = _module_of(name, folder)
            if module not in declared:
                raise FetchError(f"unknown dataset {name!r} (the experiments declare: {', '.join(declared)})")
            chosen += [module] if module not in chosen else []
    files = [r for module in chosen for r in loader_files(folder / f"{module}.py", module)]
    if not files:
        raise FetchError(f"{folder}: the loaders of {', '.join(chosen)} name no file to download")
    return files


# ---------------------------------------------------------------- verifying


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _format_ok(path: Path, name: str) -> str:
    """What a file's own format says about it: a gzip file is read to its end (CRC-32 and length checked)."""
    if not name.endswith(".gz"):
        return ""
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(_CHUNK):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        raise FetchError(f"{name}: not a whole gzip file ({exc}); refused") from None
    return "gzip CRC-32 ok"


def _load_manifest(data: Path) -> dict[str, dict[str, object]]:
    path = data / MANIFEST
    if not path.is_file():
        return {}
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise FetchError(f"{path}: not a manifest this harness wrote ({exc}); move it away to start afresh") from None
    if not isinstance(files, dict):
        raise FetchError(f"{path}: 'files' is not a table; move it away to start afresh")
    return files


def _write_manifest(data: Path, files: dict[str, dict[str, object]]) -> None:
    """The manifest through a temporary file renamed into place."""
    body = json.dumps({"files": dict(sorted(files.items()))}, indent=2) + "\n"
    tmp = _temporary(data)
    try:
        tmp.write_text(body, encoding="utf-8")
        tmp.chmod(0o644)
        os.replace(tmp, data / MANIFEST)
    finally:
        tmp.unlink(missing_ok=True)


def verify(path: Path, remote: Remote, recorded: str) -> str:
    """How ``path`` was verified against what Keras names (or the first fetch recorded); FetchError if it fails."""
    if remote.file_hash:
        got = _digest(path, remote.algorithm)
        if got != remote.file_hash.lower():
            raise FetchError(
                f"{remote.relpath}: {remote.algorithm} {got} is not the {remote.file_hash} "
                f"{remote.cited} names; refused"
            )
        return f"{remote.algorithm} as {remote.cited} names it"
    fmt = _format_ok(path, remote.fname)
    if recorded:
        got = _digest(path, "sha256")
        if got != recorded:
            raise FetchError(
                f"{remote.relpath}: sha256 {got} is not the {recorded} of its first fetch ({MANIFEST}); refused"
            )
        return ", ".join(filter(None, ["sha256 of its first fetch", fmt]))
    return ", ".join(filter(None, [f"no hash in {remote.cited}: sha256 recorded", fmt]))


# ---------------------------------------------------------------- fetching


def _temporary(data: Path) -> Path:
    """A new temporary file in the data folder (same file system: renamed into place, never copied)."""
    data.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=data, prefix=".fetch-", suffix=".part", delete=False) as fh:
        return Path(fh.name)


def origin_of(remote: Remote, base_url: str | None) -> str:
    """Where to download from: Keras' origin, or the same file name under a mirror's base URL."""
    base = base_url if base_url is not None else os.environ.get(BASE_URL_ENV, "")
    if not base:
        return remote.origin
    return f"{base.rstrip('/')}/{remote.origin.rsplit('/', 1)[-1]}"


def _download(url: str, into: Path, timeout: float) -> None:
    """``url`` into the file ``into``, checked whole against the Content-Length the server sent."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, into.open("wb") as fh:  # noqa: S310
            length = response.headers.get("Content-Length")
            shutil.copyfileobj(response, fh, _CHUNK)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{url}: the server answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(
            f"cannot reach {url} ({reason}): `data fetch` needs a network or a mirror (--base-url)"
        ) from None
    size = into.stat().st_size
    if length is not None and size != int(length):
        raise FetchError(f"{url}: {size:,} of {int(length):,} bytes arrived: the download broke off; nothing kept")


def _clear_stale(data: Path) -> None:
    """Temporary files of a fetch that was killed outright (a SIGKILL leaves no chance to remove them)."""
    for part in data.glob(".fetch-*.part"):
        part.unlink(missing_ok=True)


def fetch_one(remote: Remote, data: Path, manifest: dict[str, dict[str, object]], base_url: str | None) -> Fetched:
    """One file: kept if present and verified, else downloaded, verified and renamed into place."""
    target = data / remote.relpath
    recorded = str(manifest.get(remote.relpath, {}).get("sha256", ""))
    if target.is_file() and (remote.file_hash or recorded):  # a file nothing can verify is fetched again
        try:
            how = verify(target, remote, recorded)
            return Fetched(remote, target.stat().st_size, _digest(target, "sha256"), how, downloaded=False)
        except FetchError:
            pass  # a damaged or foreign copy: fetched again, and replaced only by a verified one
    url = origin_of(remote, base_url)
    tmp = _temporary(data)
    try:
        _download(url, tmp, timeout=60)
        how = verify(tmp, remote, recorded)
        sha, size = _digest(tmp, "sha256"), tmp.stat().st_size
        tmp.chmod(0o644)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)  # a refused or interrupted download leaves nothing behind
    return Fetched(remote, size, sha, how, downloaded=True)


def fetch(
    data: Path,
    *,
    only: list[str] | None = None,
    base_url: str | None = None,
    source: Path | str | None = None,
    progress: Callable[[Fetched], None] | None = None,
) -> list[Fetched]:
    """Fetch every declared dataset's files (or ``only`` some) into ``data``; the manifest updated after each file."""
    folder, _ = keras_source(source)
    files = remotes(folder, only)
    data.mkdir(parents=True, exist_ok=True)
    _clear_stale(data)
    manifest = _load_manifest(data)
    done: list[Fetched] = []
    for remote in files:
        got = fetch_one(remote, data, manifest, base_url)
        entry = manifest.get(remote.relpath, {})
        if got.downloaded or entry.get("sha256") != got.sha256:
            manifest[remote.relpath] = {
                "dataset": remote.dataset,
                "origin": origin_of(remote, base_url),
                "keras_origin": remote.origin,
                "keras_hash": remote.file_hash,
                "named_in": remote.cited,
                "size": got.size,
                "sha256": got.sha256,
                "verified": got.verified,
                "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
            _write_manifest(data, manifest)
        done.append(got)
        if progress is not None:
            progress(got)
    return done
