"""Kernel adapter: the UCI letters fetched by a loader, answered offline from the course's own file.

Students fetch the very data the course serves beside the notebook: ``fetch_openml(name="letter")`` (OpenML
dataset 6) or ``ucimlrepo.fetch_ucirepo(id=59)`` (when that package is not installed). The sandbox is offline;
both are answered from the served ``letter-recognition.data`` (its rows not held out), in the shapes those
loaders return: OpenML's 16 numeric features and categorical ``class``; the UCI repository's ``features`` and
``targets`` frames.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

from labgrade_runtime.errors import LabgradeNeedsNetwork
from labgrade_runtime.kernel import sklearn_compat, stubs
from labgrade_runtime.kernel.state import JOB, note

COURSE_FILE = "letter-recognition.data"
FEATURES = ["x-box", "y-box", "width", "high", "onpix", "x-bar", "y-bar", "x2bar", "y2bar", "xybar", "x2ybr",
            "xy2br", "x-ege", "xegvy", "y-ege", "yegvx"]  # fmt: skip
OPENML_NAMES, OPENML_IDS = ("letter",), (6,)
UCI_ID, UCI_NAMES = 59, ("letter recognition",)


def _table() -> Any:
    """The served letters: the letter, then 16 integer features (a frame), or a clear needs-network."""
    import pandas as pd

    path = Path(JOB.spec.cwd) / COURSE_FILE
    if COURSE_FILE not in JOB.spec.data_files or not path.is_file():
        raise LabgradeNeedsNetwork(f"https://archive.ics.uci.edu (no {COURSE_FILE} is served for this experiment)")
    return pd.read_csv(path, header=None, names=["lettr", *FEATURES])


def fetch_openml(name: str | None = None, **kwargs: Any) -> Any:
    """``fetch_openml("letter")`` / ``fetch_openml(data_id=6)``: a Bunch, a frame or arrays as scikit-learn gives."""
    import pandas as pd
    from sklearn.utils import Bunch

    table = _table()
    note("dataset_served", f"sklearn fetch_openml(name={name!r}) served offline from the course file {COURSE_FILE}")
    data = table[FEATURES].astype("float64")
    target = pd.Series(pd.Categorical(table["lettr"]), name="class")
    as_frame = kwargs.get("as_frame", "auto") in (True, "auto")
    if kwargs.get("return_X_y"):
        return (data, target) if as_frame else (data.to_numpy(), target.astype(object).to_numpy())
    return Bunch(
        data=data if as_frame else data.to_numpy(),
        target=target if as_frame else target.astype(object).to_numpy(),
        frame=data.assign(**{"class": target}) if as_frame else None,
        categories=None if as_frame else {"class": sorted(table["lettr"].unique())},
        feature_names=list(FEATURES),
        target_names=["class"],
        DESCR="Letter Image Recognition Data (UCI; OpenML 6), served by labgrade from the course's file",
        details={"name": "letter", "id": "6"},
        url="https://www.openml.org/d/6",
    )


def fetch_ucirepo(name: str | None = None, id: int | None = None) -> Any:  # noqa: A002 - ucimlrepo's own name
    """``ucimlrepo.fetch_ucirepo(id=59)`` (or its name): ``.data.features``, ``.data.targets``, ``.data.original``."""
    if id != UCI_ID and str(name).strip().lower() not in UCI_NAMES:
        raise LabgradeNeedsNetwork(f"https://archive.ics.uci.edu (ucimlrepo.fetch_ucirepo(name={name!r}, id={id!r}))")
    from sklearn.utils import Bunch

    table = _table()
    note("dataset_served", f"ucimlrepo.fetch_ucirepo(id={UCI_ID}) served offline from the course file {COURSE_FILE}")
    features, targets = table[FEATURES], table[["lettr"]]
    original = table[[*FEATURES, "lettr"]]
    meta = Bunch(uci_id=UCI_ID, name="Letter Recognition", num_instances=len(table), num_features=16)
    return Bunch(data=Bunch(ids=None, features=features, targets=targets, original=original, headers=original.columns),
                 metadata=meta, variables=None)  # fmt: skip


def _ucimlrepo() -> dict[str, ModuleType]:
    module = ModuleType("ucimlrepo", "labgrade's offline stand-in for ucimlrepo (the course's letters file)")
    module.fetch_ucirepo = fetch_ucirepo  # type: ignore[attr-defined]
    module.__version__ = "0.0-labgrade"  # type: ignore[attr-defined]
    return {"ucimlrepo": module}


def install() -> None:
    """Answer fetch_openml('letter') and, unless it is installed, ucimlrepo from the course's file."""
    sklearn_compat.register_openml(fetch_openml, names=OPENML_NAMES, data_ids=OPENML_IDS)
    stubs.register("ucimlrepo", _ucimlrepo, unless_installed=True)
