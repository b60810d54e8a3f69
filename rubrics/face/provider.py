"""Mini project 1 (face recognition): a CelebA-like image folder tree plus a CSV.

Served beside the notebook (rubric ``[data].files``):

* ``faces/celeb_NN/NNNN.jpg`` -- one folder per identity (``flow_from_directory``
  and ``image_dataset_from_directory`` read it as it is);
* ``faces.csv`` -- ``image_id,identity,label``: the path of every image relative
  to the notebook, its identity name and its integer label (``celeb_07`` -> 7).
  Identity names are zero-padded so that every tool that sorts class names
  (Keras generators, LabelEncoder, pandas categories) numbers them like ``label``.

The hidden holdout is more photos of the same identities: ``x`` uint8
(N, S, S, 3) and ``y`` int64 labels. Images come from the deterministic
stand-in library's ``faces`` generator (no real CelebA offline).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from graders.kit import ProfileSpec, image_stats, save_images, standins

N_IDENTITIES = 20  # the rubric's n_classes: the softmax width the structure check asks for
IMAGE_SIZE = 48


def _counts(profile: ProfileSpec) -> tuple[int, int]:
    """Public and hidden photos per identity for the profile."""
    public = max(5, ((profile.train_size or 600) + (profile.test_size or 0)) // N_IDENTITIES)
    hidden = max(2, (profile.holdout_size or 200) // N_IDENTITIES)
    return public, hidden


def provide(profile: ProfileSpec, seed: int, real: Path | None, served: Path) -> dict[str, Any]:
    """Serve ``faces/`` + ``faces.csv``; hold back more photos of the same people."""
    public, hidden = _counts(profile)
    data = standins().faces(
        n_identities=N_IDENTITIES,
        per_identity=public,
        holdout_per_identity=hidden,
        test_fraction=0.0,
        size=IMAGE_SIZE,
        seed=seed,
    )
    x, y = data["x_train"], data["y_train"]
    files = served / "files"
    rel = [f"faces/celeb_{label:02d}/{i:04d}.jpg" for i, label in enumerate(y)]
    save_images(x, [files / r for r in rel])
    frame = pd.DataFrame({"image_id": rel, "identity": [f"celeb_{v:02d}" for v in y], "label": y})
    frame.to_csv(files / "faces.csv", index=False)
    return {
        "keras": {},
        "holdout": {"x": data["x_holdout"], "y": data["y_holdout"]},
        "raw_stats": {"x": image_stats(x), "y": image_stats(y), "image_size": IMAGE_SIZE},
        "source": {
            "faces": f"synthetic CelebA-like faces (seed {seed}): {N_IDENTITIES} identities, "
            f"{len(y)} photos served as JPEG, {len(data['y_holdout'])} held out"
        },
    }
