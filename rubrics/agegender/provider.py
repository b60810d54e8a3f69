"""Mini project 2 (gender and age): a UTKFace-like image folder plus a CSV.

Served beside the notebook (rubric ``[data].files``):

* ``UTKFace/<age>_<gender>_<race>_<date>.jpg`` -- UTKFace's own file naming
  (gender 0 = male, 1 = female; race 0..4), so the labels can be parsed
  from the names as students do with the real dataset;
* ``UTKFace.csv`` -- ``image_path,age,gender,race,male``: the file name inside
  ``UTKFace/`` (the manual prepends ``'UTKFace/'``), the labels, and the
  manual's ``male`` column (1 = male).

The hidden holdout: ``x`` uint8 (N, S, S, 3), ``age`` int64 years, ``gender``
int64 (0 male, 1 female). Images come from the stand-in library's ``utkface``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graders.kit import ProfileSpec, image_stats, save_images, standins

IMAGE_SIZE = 48


def file_names(age: np.ndarray, gender: np.ndarray, race: np.ndarray) -> list[str]:
    """UTKFace names ``age_gender_race_date.jpg``; the date part keeps them unique."""
    return [f"{a}_{g}_{r}_{20170109150000000 + i}.jpg" for i, (a, g, r) in enumerate(zip(age, gender, race))]


def provide(profile: ProfileSpec, seed: int, real: Path | None, served: Path) -> dict[str, Any]:
    """Serve ``UTKFace/`` + ``UTKFace.csv``; hold back other people's photos with their labels."""
    n_public = (profile.train_size or 8000) + (profile.test_size or 0)
    data = standins().utkface(
        n_train=n_public, n_test=1, n_holdout=profile.holdout_size or 1000, size=IMAGE_SIZE, seed=seed
    )
    x, age, gender, race = (data[f"{k}_train"] for k in ("x", "age", "gender", "race"))
    names = file_names(age, gender, race)
    files = served / "files"
    save_images(x, [files / "UTKFace" / n for n in names])
    frame = pd.DataFrame({"image_path": names, "age": age, "gender": gender, "race": race, "male": 1 - gender})
    frame.to_csv(files / "UTKFace.csv", index=False)
    return {
        "keras": {},
        "holdout": {"x": data["x_holdout"], "age": data["age_holdout"], "gender": data["gender_holdout"]},
        "raw_stats": {
            "x": image_stats(x),
            "age": image_stats(age),
            "gender": image_stats(gender),
            "image_size": IMAGE_SIZE,
        },
        "source": {
            "utkface": f"synthetic UTKFace-like faces (seed {seed}): {len(age)} photos served as JPEG "
            f"named age_gender_race_date.jpg, {len(data['age_holdout'])} held out"
        },
    }
