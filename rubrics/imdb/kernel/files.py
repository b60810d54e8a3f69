"""Kernel adapter: the Kaggle review file under fuzzy names, or made from the served Keras data.

``IMDB Dataset.csv`` (columns review, sentiment) is served beside the
notebook; a read of another IMDB-looking CSV name means it. When the course
file is not served but the Keras data is, the CSV is written from it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from labgrade_runtime.kernel import datafiles, derived

CSV_NAME = "IMDB Dataset.csv"


def _reviews(files: dict[str, str]) -> derived.Maker | None:
    source, index = derived.served("imdb"), derived.served("imdb_word_index")
    if source is None or index is None or CSV_NAME in files:
        return None

    def make(out: Path) -> None:
        import numpy as np

        with open(index, encoding="utf-8") as fh:
            words = {rank: word for word, rank in json.load(fh).items()}
        with np.load(source, allow_pickle=True) as f:
            xs = list(f["x_train"]) + list(f["x_test"])
            ys = list(f["y_train"]) + list(f["y_test"])
        with open(out, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["review", "sentiment"])
            for seq, label in zip(xs, ys):
                text = " ".join(words.get(int(w), "") for w in seq)
                writer.writerow([text, "positive" if int(label) else "negative"])

    return make


def find_reviews_csv(key: str, files: dict[str, str], url: bool) -> derived.Maker | None:
    """Any CSV named like IMDB: the reviews as text."""
    return _reviews(files) if key.endswith("csv") and "imdb" in key else None


def install() -> None:
    """Register the family and the derived format."""
    datafiles.register_family(r"imdb", (CSV_NAME,))
    derived.register(find_reviews_csv)
