"""What ``google.colab.files.upload()`` should hand over: what the code then reads.

In Colab the student picked files in a dialog. The stand-in cannot ask, so it
reads the code that uses the upload -- the calling cell and the notebook's
code after it, up to the next upload -- and answers with what that code
reads: the course files for code that reads tables, images for code that
reads the upload as images (a custom photo to predict on). The images are the
ones handed in beside the notebook, else one picture from the dataset the
harness serves, else none at all, as if the dialog had been cancelled: the
loop over the upload then does nothing and the model trained before it is
still graded.
"""

from __future__ import annotations

import inspect
import linecache
import re
from pathlib import Path
from typing import Any

from labgrade_runtime.kernel.state import JOB

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_IMAGE_READERS = re.compile(
    r"\bload_img\(|\bimread\(|Image\.open\(|img_to_array\(|\bimage\.load\(|decode_(image|jpeg|png)\(|"
    r"image_dataset_from_directory\(|\bimdecode\("
)
_TABLE_READERS = re.compile(r"\bread_(csv|excel|table|json|fwf|html)\(|\bloadtxt\(|\bgenfromtxt\(|\bnp\.load\(")
_UPLOAD = re.compile(r"\bupload\(\s*\)")


def _calling_cell() -> str:
    """The source of the notebook cell that called ``files.upload()`` (IPython keeps it in linecache)."""
    for frame in inspect.stack()[2:]:
        name = frame.filename
        if "ipykernel" in name or name.startswith("<ipython-input"):
            return "".join(linecache.getlines(name))
    return ""


def code_after_call(cell: str | None = None) -> str:
    """The calling cell and the notebook's code after it, up to the next ``upload()`` call."""
    source = _calling_cell() if cell is None else cell
    code = JOB.spec.code
    start = code.find(source.strip()) if source.strip() else -1
    if start < 0:
        return source
    rest = code[start + len(source.strip()) :]
    following = _UPLOAD.search(rest)
    return source + (rest[: following.start()] if following else rest)


def reads_images(code: str) -> bool:
    """Whether the code reads the upload as images: it reads images before (or without) reading any table."""
    image, table = _IMAGE_READERS.search(code), _TABLE_READERS.search(code)
    return image is not None and (table is None or image.start() < table.start())


# The images beside the notebook when the kernel started (handed in), not those the notebook writes itself.
_HANDED_IN: list[str] = []


def snapshot() -> None:
    """Remember which images were handed in beside the notebook (called when the shims are installed)."""
    cwd = Path(JOB.spec.cwd)
    if cwd.is_dir():
        _HANDED_IN[:] = sorted(p.name for p in cwd.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _handed_in_images() -> dict[str, bytes]:
    cwd = Path(JOB.spec.cwd)
    return {name: (cwd / name).read_bytes() for name in _HANDED_IN if (cwd / name).is_file()}


def _served_image() -> Any:
    """One test picture from the image dataset the harness serves (an array of HxW or HxWxC), or None."""
    import numpy as np

    for path in JOB.spec.keras_datasets.values():
        if not str(path).endswith(".npz") or not Path(path).is_file():
            continue
        with np.load(path, allow_pickle=False) as data:
            for key in ("x_test", "x_train"):
                if key in data.files and data[key].ndim in (3, 4):
                    return data[key][0]
    return None


def images_to_hand(code: str) -> dict[str, bytes]:
    """File name -> bytes of the images to answer with (written beside the notebook, as Colab's upload did)."""
    images = _handed_in_images()
    if images:
        return images
    picture = _served_image()
    if picture is None:
        return {}
    import io

    import numpy as np
    from PIL import Image

    arr = np.asarray(picture)
    arr = (arr * 255 if arr.max() <= 1.0 else arr).clip(0, 255).astype("uint8").squeeze()
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="PNG")
    name = "uploaded_image.png"
    Path(JOB.spec.cwd, name).write_bytes(buffer.getvalue())
    return {name: buffer.getvalue()}
