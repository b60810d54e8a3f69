"""The student's Colab/laptop environment, as far as a headless offline kernel can be it.

* ``!pip install x`` / ``%pip install x``: never reach the network; a no-op
  when ``x`` is installed, otherwise noted (the later ``import x`` ends with a
  clear "missing package" status);
* ``!wget URL`` / ``!curl``: a course file answers a known URL, otherwise
  "needs network"; ``!kaggle``, ``!gdown``, ``!git clone`` need the network;
* ``input()``: the reply the student typed, when the notebook's saved output
  of that cell shows it (:func:`expect_replies`, set by the runner before the
  cell), otherwise -- and for ``getpass`` -- a clear "needs input" status
  instead of ipykernel's StdinNotImplementedError;
* ``%matplotlib qt|tk|notebook|widget``: inline (headless);
* OpenCV, when installed: ``cv2.imshow``/``waitKey``/windows headless,
  ``cv2.VideoCapture(0)`` "needs a camera", ``cv2.imread`` through the course files.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import re
import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labgrade_runtime.errors import PIP_NAMES, LabgradeNeedsCamera, LabgradeNeedsInput, LabgradeNeedsNetwork
from labgrade_runtime.kernel.state import note

_IMPORT_NAMES = {pip: mod for mod, pip in PIP_NAMES.items()} | {
    "opencv-python-headless": "cv2",
    "opencv-contrib-python": "cv2",
    "tensorflow-gpu": "tensorflow",
    "tensorflow-cpu": "tensorflow",
    "tf-keras": "tf_keras",
    "tf_keras": "tf_keras",
    "python-dateutil": "dateutil",
}
_OPTIONS_WITH_VALUE = {
    "-r",
    "--requirement",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "-c",
    "--constraint",
    "-t",
    "--target",
}
_NETWORK_COMMANDS = ("kaggle", "gdown", "git", "huggingface-cli", "gsutil")


def installed(requirement: str) -> bool:
    """Whether a pip requirement's package is importable/installed here."""
    name = re.split(r"[\[<>=!~;@ ]", requirement.strip(), maxsplit=1)[0]
    if not name:
        return True
    try:
        importlib.metadata.distribution(name)
        return True
    except importlib.metadata.PackageNotFoundError:
        pass
    module = _IMPORT_NAMES.get(name.lower(), name.replace("-", "_"))
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def pip(line: str) -> None:
    """``pip ...``: install requests become notes; nothing is downloaded."""
    words = shlex.split(line)
    if "install" not in words:
        note("pip", f"`pip {line.strip()}` skipped (no network in the grading sandbox)")
        return
    wanted, skip = [], False
    for word in words[words.index("install") + 1 :]:
        if skip or word.startswith("-"):
            skip = word in _OPTIONS_WITH_VALUE
            continue
        wanted.append(word)
    from labgrade_runtime.kernel import stubs

    for req in wanted:
        name = re.split(r"[\[<>=!~;@ ]", req, maxsplit=1)[0]
        if stubs.provides(name.lower()):
            note(
                "pip",
                f"pip install {req}: not installed; the harness's offline stand-in for {name} answers from the "
                f"course files",
            )
        elif installed(req):
            note("pip", f"pip install {req}: already installed in the grading runtime, skipped")
        else:
            note(
                "pip",
                f"pip install {req}: not installed in the grading runtime and cannot be installed offline (skipped)",
            )
            print(f"labgrade: pip install {req} skipped: no network in the grading sandbox", file=sys.stderr)


def _wget(words: list[str]) -> None:
    from labgrade_runtime.kernel import datafiles

    urls = [w for w in words[1:] if re.match(r"(https?|ftp)://", w)]
    target = next(
        (words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-O", "-o", "--output-document", "--output")), None
    )
    for url in urls:
        source = datafiles.fetch(url)
        dest = Path(target) if target else Path.cwd() / Path(url.split("?")[0]).name
        if dest.resolve() != Path(source).resolve():
            shutil.copyfile(source, dest)


def system(original: Callable[[str], Any], shell: Any) -> Callable[[str], Any]:
    """The kernel's ``!command`` with installs, downloads and network tools handled offline."""

    def run(cmd: str) -> Any:
        expanded = shell.var_expand(cmd, depth=1)
        try:
            words = shlex.split(expanded)
        except ValueError:
            return original(cmd)
        tool = Path(words[0]).name if words else ""
        if tool in ("pip", "pip3") or (tool.startswith("python") and words[1:3] == ["-m", "pip"]):
            return pip(expanded.split("pip", 1)[1])
        if tool in ("apt", "apt-get", "conda", "mamba", "sudo", "brew"):
            note("pip", f"`{expanded.strip()}` skipped (no system installs in the grading sandbox)")
            return None
        if tool in ("wget", "curl"):
            return _wget(words)
        if tool in _NETWORK_COMMANDS and not (tool == "git" and "clone" not in words):
            raise LabgradeNeedsNetwork(f"`{expanded.strip()}`")
        return original(cmd)

    return run


def _needs_input(prompt: Any = "", *args: Any, **kwargs: Any) -> str:
    raise LabgradeNeedsInput(str(prompt))


# The saved replies of the cell about to run: its index, the text of its stdin streams, its stdout lines.
_REPLIES: dict[str, Any] = {"cell": -1, "stdin": "", "stdout": []}


def expect_replies(cell: int, stdin: str, stdout: list[str]) -> None:
    """What the saved output of the next cell shows the student typed.

    JupyterLab keeps each reply as a ``stdin`` stream output: the prompt, a
    space and the value; Colab and the classic Notebook echo prompt and value
    into ``stdout``. The runner calls this (hidden) before a cell whose saved
    output has either.
    """
    _REPLIES.update(cell=cell, stdin=stdin, stdout=list(stdout))


def _from_stdin(prompt: str) -> str | None:
    text: str = _REPLIES["stdin"]
    if not text:
        return None
    if prompt and text.startswith(prompt):
        text = text[len(prompt) :]
    else:
        last = prompt.rsplit("\n", 1)[-1]
        line = text.split("\n", 1)[0]
        text = text[len(last) :] if last and line.startswith(last) else text
    value, _, rest = text.lstrip(" ").partition("\n")
    _REPLIES["stdin"] = rest
    return value.strip()


def _saved_reply(prompt: str) -> str | None:
    """The value the saved output shows for ``prompt`` (consumed in order), or None."""
    value = _from_stdin(prompt)
    if value is not None:
        return value
    lines: list[str] = _REPLIES["stdout"]
    last = prompt.rsplit("\n", 1)[-1]
    for i, line in enumerate(lines):
        if last.strip() and line.startswith(last) and line[len(last) :].strip():
            del lines[i]
            return line[len(last) :].strip()
    return None


def replay_input(prompt: Any = "", *args: Any, **kwargs: Any) -> str:
    """input(): the reply saved in the notebook's output, else "needs input"."""
    text = str(prompt)
    value = _saved_reply(text)
    if value is None:
        raise LabgradeNeedsInput(text)
    note(
        "input_replayed",
        f"input({text!r}) in cell {_REPLIES['cell']} answered with {value!r}, "
        "the reply the notebook's saved output shows",
    )
    print(f"{text}{value}")
    return value


def _matplotlib_magic(original: Callable[[str], Any]) -> Callable[[str], Any]:
    def matplotlib(line: str = "") -> Any:
        gui = line.strip()
        if gui and gui not in ("inline", "agg", "Agg"):
            note("headless", f"%matplotlib {gui} drawn inline instead (no display in the grading sandbox)")
            line = "inline"
        return original(line)

    return matplotlib


def install(shell: Any) -> None:
    """Hook the IPython shell: shell commands, %pip, input(), %matplotlib."""
    if shell is None or getattr(shell, "_labgrade_env", False):
        return
    shell._labgrade_env = True
    shell.system = system(shell.system, shell)
    shell.register_magic_function(lambda line: pip(line), "line", "pip")
    shell.register_magic_function(lambda line: pip("install " + line.split("install", 1)[-1]), "line", "conda")
    magic = shell.find_line_magic("matplotlib")
    if magic is not None:
        shell.register_magic_function(_matplotlib_magic(magic), "line", "matplotlib")
    kernel = getattr(shell, "kernel", None)
    if kernel is not None:
        kernel.raw_input = replay_input
        kernel.getpass = _needs_input


def _headless(what: str, result: Any = None) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        note("headless", f"cv2.{what}() skipped (no display in the grading sandbox)")
        return result

    return call


def patch_cv2(module: Any) -> None:
    """OpenCV headless; a webcam is "needs a camera"; imread through the course files."""
    if getattr(module, "_labgrade", False):
        return
    from labgrade_runtime.kernel.datafiles import wrap_reader

    module._labgrade = True
    for name, result in (
        ("imshow", None),
        ("waitKey", -1),
        ("destroyAllWindows", None),
        ("destroyWindow", None),
        ("namedWindow", None),
    ):
        if hasattr(module, name):
            setattr(module, name, _headless(name, result))
    capture = module.VideoCapture

    @functools.wraps(capture)
    def VideoCapture(*args: Any, **kwargs: Any) -> Any:
        source = args[0] if args else kwargs.get("index", kwargs.get("filename", 0))
        if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
            raise LabgradeNeedsCamera(f"cv2.VideoCapture({source!r})")
        return capture(*args, **kwargs)

    module.VideoCapture = VideoCapture
    module.imread = wrap_reader(module.imread)
