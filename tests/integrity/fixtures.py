"""Fixture classes for the similarity tests: honest students, copies made the ways students make them.

Every submission is built as a real notebook (nbformat) or ``.py`` module and
read back the way intake reads it, so the tests see what the grader sees.

    python -m tests.integrity.fixtures OUT_DIR   # writes the fixture files to look at
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from graders.integrity import CodeDoc, doc_from_notebook, module_cells
from tests.integrity import edits
from tests.integrity.edits import Cells, copy
from tests.integrity.students import MANUAL, STEPS, from_manual, honest, names

STUDENT_NAMES = [
    "Aarav Shah",
    "Diya Patel",
    "Ishaan Rao",
    "Meera Iyer",
    "Kabir Singh",
    "Ananya Das",
    "Rohan Gupta",
    "Sara Khan",
    "Vikram Nair",
    "Priya Menon",
    "Arjun Reddy",
    "Neha Joshi",
    "Dev Malhotra",
    "Isha Verma",
    "Kunal Bose",
    "Tara Pillai",
    "Nikhil Jain",
    "Pooja Kulkarni",
    "Aditya Kapoor",
    "Riya Sen",
    "Manav Desai",
    "Sneha Bhat",
    "Yash Thakur",
    "Kavya Rao",
    "Omar Sheikh",
    "Lakshmi Narayan",
    "Harsh Vora",
    "Zoya Ali",
]


@dataclass
class FixtureClass:
    """One experiment's class: the submissions and what a correct report must say about them."""

    experiment: str
    docs: list[CodeDoc] = field(default_factory=list)
    files: dict[str, str | nbformat.NotebookNode] = field(default_factory=dict)  # file name -> content
    groups: list[set[str]] = field(default_factory=list)  # copy groups: any two members may be reported
    must_pair: list[tuple[str, str]] = field(default_factory=list)  # direct copies: must be reported
    identical: list[tuple[str, str]] = field(default_factory=list)  # only spacing/comments/cells changed
    near_identical: list[tuple[str, str]] = field(default_factory=list)  # also renamed, renumbered, prints added
    clusters: list[set[str]] = field(default_factory=list)  # must form clusters
    manual_only: list[str] = field(default_factory=list)  # hand in the manual's code with little of their own

    @property
    def boilerplate(self) -> tuple[str, ...]:
        """The lab manual's listing for the experiment."""
        return (MANUAL[self.experiment],)

    def add(self, roll: int, cells: Cells, module: bool = False) -> str:
        """Hand in the cells as a notebook (or a ``.py`` module) and read them back as intake does."""
        r, name = str(roll), STUDENT_NAMES[(roll - 1) % len(STUDENT_NAMES)]
        if module:
            text = edits.to_module(cells)
            self.files[f"{r}/{self.experiment}.py"] = text
            self.docs.append(CodeDoc(r, name, f"{r}/{self.experiment}.py", module_cells(text)))
            return r
        nb = nbformat.v4.new_notebook()
        nb.cells.append(nbformat.v4.new_markdown_cell(f"# {self.experiment}\n{name}, roll {r}"))
        nb.cells.append(nbformat.v4.new_code_cell("%matplotlib inline\n!pip install -q seaborn"))
        nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
        nbformat.validate(nb)
        nb = nbformat.reads(nbformat.writes(nb), as_version=4)
        self.files[f"{r}/{self.experiment}.ipynb"] = nb
        self.docs.append(doc_from_notebook(r, name, f"{r}/{self.experiment}.ipynb", nb))
        return r

    def group(self, *rolls: str, cluster: bool = False) -> None:
        """Record a copy group (and, with three or more, the cluster it must form)."""
        self.groups.append(set(rolls))
        if cluster:
            self.clusters.append(set(rolls))

    def related(self, a: str, b: str) -> bool:
        """Whether reporting the pair is right: both in one copy group."""
        return any(a in g and b in g for g in self.groups)


def own_step(experiment: str, step: int, seed: int) -> str:
    """A copier's own version of one step (what a near-duplicate rewrites)."""
    rng = random.Random(f"own-{experiment}-{step}-{seed}")
    return STEPS[experiment][step](rng, names(rng))


def near(cells: Cells, experiment: str, seed: int, replace: int, extra: int) -> Cells:
    """A copy that rewrites one cell in the copier's own way and adds a step of their own at the end."""
    out = list(cells)
    index = next(i for i, c in enumerate(out) if _kind(c) == "model")
    out[index] = own_step(experiment, replace, seed)
    return (*out, own_step(experiment, extra, seed + 1))


def _kind(cell: str) -> str:
    """What a cell does, as far as `near` needs to know."""
    if "compile(" in cell or "Sequential" in cell or "Conv2D(" in cell:
        return "model"
    return ""


def boston_class() -> FixtureClass:
    """28 students: near-identical copies (renamed, .py), a reordered/merged copy, a rewritten copy, a cluster of
    four, and an identical copy (comments, spacing and cell order changed, nothing else)."""
    fc = FixtureClass("boston")
    e = edits
    a = honest("boston", 1)
    fc.add(1, a)
    fc.add(2, copy(a, 2, e.rename, e.renumber, e.annotate, e.reformat))
    fc.group("1", "2"), fc.must_pair.append(("1", "2")), fc.near_identical.append(("1", "2"))
    b = honest("boston", 3)
    fc.add(3, b)
    fc.add(4, copy(b, 4, e.rename, e.reorder, e.merge))
    fc.group("3", "4"), fc.must_pair.append(("3", "4"))
    c = honest("boston", 5)
    fc.add(5, c)
    fc.add(6, copy(c, 6, e.rename, e.annotate), module=True)
    fc.group("5", "6"), fc.must_pair.append(("5", "6")), fc.near_identical.append(("5", "6"))
    d = honest("boston", 7)
    fc.add(7, d)
    fc.add(8, copy(near(d, "boston", 8, replace=5, extra=9), 8, e.rename, e.renumber))
    fc.group("7", "8"), fc.must_pair.append(("7", "8"))
    src = honest("boston", 9)
    fc.add(9, src)
    ten = copy(src, 10, e.rename, e.renumber, e.split)
    fc.add(10, ten)
    fc.add(11, copy(src, 11, e.annotate, e.reformat, e.reorder) + (own_step("boston", 9, 11),))
    fc.add(12, copy(near(src, "boston", 12, replace=5, extra=2), 12, e.rename))
    fc.group("9", "10", "11", "12", cluster=True)
    fc.must_pair += [("9", "10"), ("9", "11"), ("9", "12")]
    fc.manual_only = [fc.add(13, from_manual("boston", 13)), fc.add(14, from_manual("boston", 14))]
    for roll in range(15, 27):
        fc.add(roll, honest("boston", roll))
    same = honest("boston", 27)
    fc.add(27, same)
    fc.add(28, copy(same, 28, e.comment, e.respace, e.reorder))
    fc.group("27", "28"), fc.must_pair.append(("27", "28")), fc.identical.append(("27", "28"))
    return fc


def fashion_class() -> FixtureClass:
    """22 students: a near-identical copy, a merged .py copy, a rewritten copy, a cluster of three, and an
    identical copy (comments, spacing and cell boundaries changed)."""
    fc = FixtureClass("fashion")
    e = edits
    a = honest("fashion", 1)
    fc.add(1, a)
    fc.add(2, copy(a, 2, e.rename, e.annotate, e.reformat, e.renumber))
    fc.group("1", "2"), fc.must_pair.append(("1", "2")), fc.near_identical.append(("1", "2"))
    b = honest("fashion", 3)
    fc.add(3, b)
    fc.add(4, copy(b, 4, e.rename, e.merge), module=True)
    fc.group("3", "4"), fc.must_pair.append(("3", "4")), fc.near_identical.append(("3", "4"))  # renamed, merged
    c = honest("fashion", 25)
    fc.add(5, c)
    fc.add(6, copy(near(c, "fashion", 6, replace=4, extra=7), 6, e.renumber, e.rename))
    fc.group("5", "6"), fc.must_pair.append(("5", "6"))
    src = honest("fashion", 7)
    fc.add(7, src)
    fc.add(8, copy(src, 8, e.rename, e.split))
    fc.add(9, copy(src, 9, e.reorder, e.renumber, e.annotate))
    fc.group("7", "8", "9", cluster=True)
    fc.must_pair += [("7", "8"), ("7", "9")]
    fc.manual_only = [fc.add(10, from_manual("fashion", 10)), fc.add(11, from_manual("fashion", 11))]
    for roll in range(12, 21):
        fc.add(roll, honest("fashion", roll))
    same = honest("fashion", 50)  # a seed whose code leaves the fingerprints common to the class as they were
    fc.add(21, same)
    fc.add(22, copy(same, 22, e.comment, e.respace, e.merge), module=True)
    fc.group("21", "22"), fc.must_pair.append(("21", "22")), fc.identical.append(("21", "22"))
    return fc


def tutorial_families() -> FixtureClass:
    """Two tutorial groups and a student between them (20 students).

    Rolls 1-4 each hand in tutorial A disguised their own way, rolls 5-8 tutorial B; roll 9 pasted both
    tutorials into one notebook, so it is listed with every member of both groups. The two groups share
    nothing with each other: they must stay two clusters, not be chained into one through roll 9.
    """
    fc = FixtureClass("boston")
    e = edits
    for first, seed in ((1, 101), (5, 105)):
        tutorial = honest("boston", seed)
        family = [
            fc.add(first, tutorial),
            fc.add(first + 1, copy(tutorial, first + 1, e.rename, e.annotate)),
            fc.add(first + 2, copy(tutorial, first + 2, e.renumber, e.reformat, e.split)),
            fc.add(first + 3, copy(tutorial, first + 3, e.rename, e.reorder, e.comment)),
        ]
        fc.group(*family, "9", cluster=False)
        fc.clusters.append(set(family))
    both = (*honest("boston", 101), *copy(honest("boston", 105), 9, e.rename))
    fc.add(9, both)
    for roll in range(10, 21):
        fc.add(roll, honest("boston", roll + 100))
    return fc


CLASSES: dict[str, Callable[[], FixtureClass]] = {"boston": boston_class, "fashion": fashion_class}


def write_files(fc: FixtureClass, out: Path) -> None:
    """Write the class's submissions as files, one folder per roll number (as intake expects)."""
    for rel, content in fc.files.items():
        path = out / fc.experiment / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            nbformat.write(content, path)


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "similarity-fixtures")
    for make in CLASSES.values():
        write_files(make(), target)
    print(f"wrote the fixture classes under {target}")
