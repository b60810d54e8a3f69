"""Academic-integrity evidence for examiners: class-wide code similarity.

Nothing in this package changes a mark. It finds submissions whose code is
too alike to be independent and writes the evidence (pairs, clusters, a
side-by-side page, a CSV) for an examiner to judge.
"""

from __future__ import annotations

from graders.integrity.page import render_similarity_page
from graders.integrity.similarity import (
    Cluster,
    CodeDoc,
    Pair,
    SimilarityReport,
    SimilaritySettings,
    code_cells,
    compare_class,
    doc_from_notebook,
    flagged_rolls,
    module_cells,
    write_pairs_csv,
)

__all__ = [
    "Cluster",
    "CodeDoc",
    "Pair",
    "SimilarityReport",
    "SimilaritySettings",
    "code_cells",
    "compare_class",
    "doc_from_notebook",
    "flagged_rolls",
    "module_cells",
    "render_similarity_page",
    "write_pairs_csv",
]
