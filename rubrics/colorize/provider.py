"""Mini project 3 (colorizing B&W images): a folder of colour photos.

Served beside the notebook (rubric ``[data].files``):

* ``color_images/NNNNN.png`` -- colour scenes (PNG, lossless, so the colours a
  student learns from are exactly the generator's); students make the gray
  inputs themselves (PIL ``convert("L")``, or the L channel of Lab);
* ``bw_image.jpg`` -- one gray photo, the file the manual's code colourises.

The hidden holdout is ``x``: uint8 (N, S, S, 3) colour scenes never served;
the evaluator derives the gray inputs and the colour truth from them. Images
come from the stand-in library's ``outdoor_scenes``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graders.kit import ProfileSpec, image_stats, save_images, standins

IMAGE_SIZE = 32


def provide(profile: ProfileSpec, seed: int, real: Path | None, served: Path) -> dict[str, Any]:
    """Serve ``color_images/`` + ``bw_image.jpg``; hold back other scenes in colour."""
    synthetic = standins()
    n_public = (profile.train_size or 8000) + (profile.test_size or 0)
    data = synthetic.outdoor_scenes(
        n_train=n_public, n_test=1, n_holdout=profile.holdout_size or 1000, size=IMAGE_SIZE, seed=seed
    )
    x = data["x_train"]
    files = served / "files"
    save_images(x, [files / "color_images" / f"{i:05d}.png" for i in range(len(x))])
    save_images(synthetic.to_gray(data["x_test"][:1]), [files / "bw_image.jpg"])
    gray = synthetic.to_gray(x)
    return {
        "keras": {},
        "holdout": {"x": data["x_holdout"]},
        "raw_stats": {"x": image_stats(x), "gray": image_stats(gray), "image_size": IMAGE_SIZE},
        "source": {
            "colorize": f"synthetic outdoor scenes (seed {seed}): {len(x)} colour PNGs served, "
            f"{len(data['x_holdout'])} held out"
        },
    }
