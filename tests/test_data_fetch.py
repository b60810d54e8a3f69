"""``labgrade data fetch`` and ``calibrate --course``, end to end against a local HTTP server.

The server (``http.server`` on 127.0.0.1) serves small files under the names
Keras' origin folder serves; the loaders it is read against are the installed
Keras' own loader modules, copied with each real hash replaced by the hash of
the small file: the fetch reads origins and hashes from them exactly as it
reads the installed ones, and verification is not weakened anywhere.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import io
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graders.data.fetch import MANIFEST, Remote, keras_source, remotes
from graders.paths import HOME

SAMPLE_FASHION = HOME / "submissions" / "sample" / "1_Good" / "Assignment3_FashionMNIST.ipynb"


# ---------------------------------------------------------------- small files in Keras' layout


def _idx(array: np.ndarray) -> bytes:
    """An array in the MNIST distribution format (IDX), gzipped."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


def _garments(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Learnable 28x28 images: each class a bright band at its own rows, under noise."""
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 10, n).astype(np.uint8)
    x = rng.randint(0, 90, (n, 28, 28)).astype(np.uint8)
    for i, c in enumerate(y):
        x[i, 2 * c + 3 : 2 * c + 7, 4:24] = 230
    return x, y


def _npz(**arrays: Any) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def small_files() -> dict[str, bytes]:
    """Origin file name -> bytes: every file the declared loaders download, small and well formed."""
    x_train, y_train = _garments(3000, 1)
    x_test, y_test = _garments(2600, 2)  # the quick profile holds the last 2,000 back
    reviews = np.empty(4, dtype=object)
    for i in range(4):
        reviews[i] = [1 + i, 2, 3]
    return {
        "train-images-idx3-ubyte.gz": _idx(x_train),
        "train-labels-idx1-ubyte.gz": _idx(y_train),
        "t10k-images-idx3-ubyte.gz": _idx(x_test),
        "t10k-labels-idx1-ubyte.gz": _idx(y_test),
        "mnist.npz": _npz(x_train=x_train[:50], y_train=y_train[:50], x_test=x_test[:20], y_test=y_test[:20]),
        "imdb.npz": _npz(
            x_train=reviews, y_train=np.array([0, 1, 0, 1]), x_test=reviews, y_test=np.array([1, 0, 1, 0])
        ),
        "imdb_word_index.json": json.dumps({"the": 1, "film": 2, "good": 3, "bad": 4}).encode(),
        "boston_housing.npz": _npz(x=np.ones((10, 13)), y=np.arange(10.0)),
    }


def loaders_for(files: dict[str, bytes], into: Path) -> Path:
    """The installed Keras' loader modules, each real hash replaced by the hash of the small file it names."""
    real, _ = keras_source()
    into.mkdir(parents=True)  # named keras/src/datasets like the real folder, so citations read alike
    for remote in remotes(real):
        module = into / f"{remote.dataset}.py"
        text = module.read_text(encoding="utf-8") if module.exists() else (real / module.name).read_text("utf-8")
        if remote.file_hash:
            body = files[remote.origin.rsplit("/", 1)[-1]]
            mine = hashlib.new(remote.algorithm, body).hexdigest()
            assert text.count(remote.file_hash) == 1
            text = text.replace(remote.file_hash, mine)
        module.write_text(text, encoding="utf-8")
    return into


@dataclass
class Mirror:
    """A local HTTP server serving a folder; every path it was asked for."""

    root: Path
    url: str = ""
    asked: list[str] = field(default_factory=list)
    cut_off: set[str] = field(default_factory=set)  # paths whose connection drops halfway through the body


@contextlib.contextmanager
def serving(root: Path) -> Iterator[Mirror]:
    """``root`` served over HTTP on 127.0.0.1 (a free port) for the duration."""
    mirror = Mirror(root)

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            mirror.asked.append(self.path)
            if self.path not in mirror.cut_off:
                super().do_GET()
                return
            body = (root / self.path.lstrip("/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])  # then the connection closes: an interrupted download
            self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 -- the base class names it so
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    mirror.url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield mirror
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def write_course(folder: Path, *, data: bool = True) -> Path:
    """A one-student course graded on Fashion-MNIST, its data folder beside it."""
    (folder / "subs" / "1").mkdir(parents=True)
    shutil.copyfile(SAMPLE_FASHION, folder / "subs" / "1" / SAMPLE_FASHION.name)
    (folder / "roster.csv").write_text("roll_no,name\n1,Good\n", encoding="utf-8")
    lines = [
        "[course]",
        'name = "Real data class"',
        'roster = "roster.csv"',
        'submissions = "subs"',
        'gradebook = "out/gradebook.sqlite"',
        'reports = "out/reports"',
        'backend = "local"',
        "seed = 1234",
        *(['data = "data"'] if data else []),
        "[limits]",
        "cell_seconds = 300",
        "wall_seconds = 900",
        "[experiments.fashion]",
        "due = 2030-01-01",
    ]
    (folder / "course.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "course.toml"


# Two more students of the same course, our own notebooks: a small model that completes, and one whose cell fails
# after it loaded the data. Every run a course's real files served is recorded "real", however it ended.
SMALL = """from tensorflow import keras
(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
x_train, x_test = x_train[..., None] / 255.0, x_test[..., None] / 255.0
model = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Conv2D(4, 3, activation='relu'),
                          keras.layers.MaxPooling2D(4), keras.layers.Flatten(),
                          keras.layers.Dense(10, activation='softmax')])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(x_train, y_train, epochs=2, verbose=0)
print('test accuracy', model.evaluate(x_test, y_test, verbose=0)[1])"""
FAILS = """from tensorflow import keras
(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
print(x_train.shape)
model.fit(x_train, y_train)"""


def add_students(course: Path) -> None:
    """Students 2 (a small CNN) and 3 (a cell that fails) in the course's roster and submissions."""
    import nbformat

    folder = course.parent
    for roll, source in (("2", SMALL), ("3", FAILS)):
        (folder / "subs" / roll).mkdir()
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(source)]
        nbformat.write(nb, folder / "subs" / roll / "fashion.ipynb")
    with (folder / "roster.csv").open("a", encoding="utf-8") as roster:
        roster.write("2,Small\n3,Fails\n")


def labgrade(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed command, in a subprocess of its own."""
    import os

    return subprocess.run(
        [sys.executable, "-m", "graders.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def small() -> dict[str, bytes]:
    return small_files()


@pytest.fixture(scope="module")
def loaders(small: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return loaders_for(small, tmp_path_factory.mktemp("loaders") / "keras" / "src" / "datasets")


@pytest.fixture
def mirror(small: dict[str, bytes], tmp_path: Path) -> Iterator[Mirror]:
    root = tmp_path / "mirror"
    root.mkdir()
    for name, body in small.items():
        (root / name).write_bytes(body)
    with serving(root) as served:
        yield served


def fetch_cmd(course: Path, mirror: Mirror, loaders: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return labgrade("data", "fetch", "--course", course, "--base-url", mirror.url, "--keras-source", loaders, *extra)


def leftovers(data: Path) -> list[str]:
    return sorted(p.name for p in data.rglob("*") if ".part" in p.name or ".tmp" in p.name)


# ---------------------------------------------------------------- reading the loaders Keras ships


def test_origins_and_hashes_are_read_from_the_installed_keras_loaders() -> None:
    folder, named = keras_source()
    assert named.startswith("keras ") and (folder / "mnist.py").is_file()
    files = {r.relpath: r for r in remotes(folder)}
    declared = {"boston_housing", "fashion_mnist", "imdb", "mnist"}  # every rubric's [data] keras_datasets
    assert {r.dataset for r in files.values()} == declared
    for remote in files.values():
        source = (folder / f"{remote.dataset}.py").read_text(encoding="utf-8")
        line = source.splitlines()[int(remote.cited.rsplit(":", 1)[1]) - 1]
        assert "get_file" in line  # the cited line is the loader's own download call
        assert remote.origin.startswith("https://") and remote.origin.endswith("/" + remote.fname)
        assert not remote.file_hash or remote.file_hash in source  # a hash is the loader's own, never typed here
    fashion = [r for r in files.values() if r.dataset == "fashion_mnist"]
    assert sorted(r.relpath for r in fashion) == [
        "datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
        "datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz",
        "datasets/fashion-mnist/train-images-idx3-ubyte.gz",
        "datasets/fashion-mnist/train-labels-idx1-ubyte.gz",
    ]
    assert all(r.file_hash == "" for r in fashion)  # Keras names no hash for these: the manifest records one
    assert files["datasets/mnist.npz"].algorithm == "sha256" and len(files["datasets/mnist.npz"].file_hash) == 64
    assert files["datasets/imdb_word_index.json"].algorithm == "md5"  # Keras' "auto": 32 hex digits are MD5
    assert files["datasets/imdb.npz"].dataset == "imdb"


def test_a_loader_the_reader_cannot_evaluate_is_said_not_guessed(tmp_path: Path) -> None:
    from graders.data.fetch import FetchError, loader_files

    module = tmp_path / "mnist.py"
    module.write_text("def load_data():\n    return get_file('x.npz', origin=pick_mirror() + 'x.npz')\n")
    with pytest.raises(FetchError, match="cannot read"):
        loader_files(module, "mnist")


# ---------------------------------------------------------------- the fetch, through the CLI


def test_fetch_lands_verified_in_the_keras_layout_and_a_second_fetch_downloads_nothing(
    tmp_path: Path, mirror: Mirror, loaders: Path, small: dict[str, bytes]
) -> None:
    course = write_course(tmp_path)
    done = fetch_cmd(course, mirror, loaders)
    assert done.returncode == 0, done.stderr
    data = tmp_path / "data"
    wanted: list[Remote] = remotes(loaders)
    for remote in wanted:
        got = data / remote.relpath
        assert got.read_bytes() == small[remote.fname], remote.relpath
        line = next(ln for ln in done.stdout.splitlines() if remote.relpath in ln)
        assert f"{len(small[remote.fname]):,} bytes" in line and "fetched, checksum ok" in line
    assert sorted(mirror.asked) == sorted(f"/{r.fname}" for r in wanted)
    manifest = json.loads((data / MANIFEST).read_text(encoding="utf-8"))["files"]
    images = manifest["datasets/fashion-mnist/train-images-idx3-ubyte.gz"]
    assert images["sha256"] == hashlib.sha256(small["train-images-idx3-ubyte.gz"]).hexdigest()
    assert (
        "no hash in keras/src/datasets/fashion_mnist.py" in images["verified"]
        and "gzip CRC-32 ok" in images["verified"]
    )
    assert "sha256 as keras/src/datasets/mnist.py" in manifest["datasets/mnist.npz"]["verified"]
    assert leftovers(data) == []

    asked = len(mirror.asked)
    again = fetch_cmd(course, mirror, loaders)
    assert again.returncode == 0, again.stderr
    assert len(mirror.asked) == asked  # nothing downloaded again
    assert f"0 file(s) fetched, {len(wanted)} already present and verified" in again.stdout
    assert "present, checksum ok (sha256 of its first fetch, gzip CRC-32 ok)" in again.stdout


def test_a_file_that_does_not_match_its_hash_is_refused_and_nothing_is_left(
    tmp_path: Path, mirror: Mirror, loaders: Path
) -> None:
    course = write_course(tmp_path)
    (mirror.root / "mnist.npz").write_bytes(b"not the file the loader names")
    done = fetch_cmd(course, mirror, loaders, "--dataset", "mnist")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "refused" in done.stderr and "Traceback" not in done.stderr
    assert "keras/src/datasets/mnist.py" in done.stderr
    data = tmp_path / "data"
    assert not (data / "datasets" / "mnist.npz").exists() and leftovers(data) == []


def test_a_broken_gzip_or_a_changed_unhashed_file_is_refused(
    tmp_path: Path, mirror: Mirror, loaders: Path, small: dict[str, bytes]
) -> None:
    course = write_course(tmp_path)
    data = tmp_path / "data"
    labels = mirror.root / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(small["train-labels-idx1-ubyte.gz"][:-40])  # cut short: the gzip trailer's CRC is gone
    cut = fetch_cmd(course, mirror, loaders, "--dataset", "fashion_mnist")
    assert cut.returncode == 2 and "not a whole gzip file" in cut.stderr and len(cut.stderr.strip().splitlines()) == 1
    assert not (data / "datasets" / "fashion-mnist" / "train-labels-idx1-ubyte.gz").exists()
    assert leftovers(data) == []

    labels.write_bytes(small["train-labels-idx1-ubyte.gz"])
    assert fetch_cmd(course, mirror, loaders, "--dataset", "fashion_mnist").returncode == 0
    other = gzip.compress(b"\0\0\x08\x01" + (3000).to_bytes(4, "big") + bytes(3000), mtime=0)
    labels.write_bytes(other)  # the origin now serves other bytes than the first fetch recorded
    local = data / "datasets" / "fashion-mnist" / "train-labels-idx1-ubyte.gz"
    local.write_bytes(b"damaged")
    changed = fetch_cmd(course, mirror, loaders, "--dataset", "fashion_mnist")
    assert changed.returncode == 2 and "is not the" in changed.stderr and "first fetch" in changed.stderr
    assert local.read_bytes() == b"damaged" and leftovers(data) == []  # never replaced by an unverified file


def test_a_download_cut_off_halfway_leaves_nothing_behind(tmp_path: Path, mirror: Mirror, loaders: Path) -> None:
    course = write_course(tmp_path)
    mirror.cut_off.add("/mnist.npz")
    done = fetch_cmd(course, mirror, loaders, "--dataset", "mnist")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr and "mnist.npz" in done.stderr
    data = tmp_path / "data"
    assert not (data / "datasets" / "mnist.npz").exists() and leftovers(data) == []
    mirror.cut_off.clear()
    assert fetch_cmd(course, mirror, loaders, "--dataset", "mnist").returncode == 0  # the next fetch completes it
    assert (data / "datasets" / "mnist.npz").is_file()


def test_no_network_is_one_line_and_exit_2(tmp_path: Path, loaders: Path) -> None:
    course = write_course(tmp_path)
    with serving(tmp_path) as closed:
        url = closed.url
    done = labgrade("data", "fetch", "--course", course, "--base-url", url, "--keras-source", loaders)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "cannot reach" in done.stderr
    assert not list((tmp_path / "data").rglob("*.gz")) and leftovers(tmp_path / "data") == []


def test_a_course_without_a_data_folder_or_an_unknown_dataset_is_one_line(tmp_path: Path, loaders: Path) -> None:
    (tmp_path / "plain").mkdir()
    plain = write_course(tmp_path / "plain", data=False)
    done = labgrade("data", "fetch", "--course", plain, "--keras-source", loaders)
    assert done.returncode == 2 and "no `data` folder" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    course = write_course(tmp_path)
    done = labgrade("data", "fetch", "--course", course, "--keras-source", loaders, "--dataset", "cifar10")
    assert done.returncode == 2 and "unknown dataset 'cifar10'" in done.stderr


# ---------------------------------------------------------------- real data: calibrated, graded, re-scored


def test_a_course_on_fetched_data_is_graded_real_and_rescored_against_its_own_targets(
    tmp_path: Path, mirror: Mirror, loaders: Path
) -> None:
    from graders.gradebook import Gradebook

    course = write_course(tmp_path)
    add_students(course)
    assert fetch_cmd(course, mirror, loaders, "--dataset", "fashion_mnist").returncode == 0

    first = labgrade("grade", "--course", course, "--experiment", "fashion")
    assert first.returncode == 0, first.stderr
    with Gradebook(tmp_path / "out" / "gradebook.sqlite") as book:
        runs = book.latest_runs("Real data class")
    assert [(r.roll_no, r.status.value) for r in runs] == [("1", "completed"), ("2", "completed"), ("3", "cell_error")]
    for run in runs:  # every run, however it ended, was served the course's real files and says so
        assert run.provenance is not None and run.provenance.dataset_kind == {"fashion_mnist": "real"}, run.roll_no
        assert run.provenance.dataset_source["fashion_mnist"].startswith("real fashion_mnist files")
    graded = runs[0]
    assert graded.artifacts is not None and graded.artifacts.targets.course == ""  # the harness's own targets

    calibrated = labgrade("calibrate", "--course", course, "--experiment", "fashion")
    assert calibrated.returncode == 0, calibrated.stderr
    assert "data: fashion_mnist real" in calibrated.stdout
    own = tmp_path / "targets" / "fashion-quick.json"
    targets = json.loads(own.read_text(encoding="utf-8"))
    assert targets["course"] == "Real data class" and targets["dataset_kind"] == {"fashion_mnist": "real"}
    assert not (HOME / "reference" / "fashion" / "fashion-quick.json").exists()

    again = labgrade("grade", "--course", course, "--experiment", "fashion")
    assert again.returncode == 0, again.stderr
    with Gradebook(tmp_path / "out" / "gradebook.sqlite") as book:
        again_runs = book.latest_runs("Real data class")
    for run, before in zip(again_runs, runs, strict=True):
        assert run.provenance is not None and run.provenance.dataset_kind == {"fashion_mnist": "real"}, run.roll_no
        assert run.roll_no == before.roll_no and run.status == before.status
    rescored = again_runs[0]
    assert rescored.rescored_from == graded.run_id  # re-scored from its artifacts, not executed again
    assert rescored.artifacts is not None and rescored.artifacts.targets.course == "Real data class"
    assert rescored.artifacts.targets.metrics == targets["metrics"]
    assert rescored.provenance is not None and rescored.provenance.dataset_kind == {"fashion_mnist": "real"}
    sheet = tmp_path / "out" / "reports" / "1" / "fashion" / "feedback.html"  # its provenance block
    page = sheet.read_text(encoding="utf-8")
    assert "fashion_mnist: <strong>real</strong>" in page and "calibrated on this course's own data" in page
