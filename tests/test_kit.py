"""An experiment builds on declared kits only: ``graders.kit`` on the host, ``labgrade_runtime.evaluator.kit`` in
the sandbox. Its provider and checks import nothing else of the harness; what is mounted into a job (its
``evaluate.py`` and ``kernel/`` adapters) never imports the harness at all."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from graders import kit
from graders.paths import RUBRICS_DIR, STANDINS_DIR

ROOT = Path(__file__).resolve().parent.parent
HOST_SIDE = ("provider.py", "checks*.py")  # run on the host by the data store and the check step
IN_JOBS = ("evaluate.py", "kernel/**/*.py")  # mounted into a job's sandbox


def harness_imports(path: Path) -> list[str]:
    """Every ``graders`` module ``path`` imports (``from graders import kit`` counts as ``graders.kit``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name == "graders" or a.name.startswith("graders.")]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module == "graders":
                found += [f"graders.{a.name}" for a in node.names]
            elif node.module.startswith("graders."):
                found.append(node.module)
    return found


def rubric_files(rubrics: Path, patterns: tuple[str, ...]) -> list[Path]:
    return sorted({p for pattern in patterns for p in rubrics.glob(f"*/{pattern}")})


def outside_kit(rubrics: Path) -> list[str]:
    """``rubrics/<id>/file: module`` for every harness import of a provider or check that is not the kit."""
    return [
        f"{p.relative_to(rubrics).as_posix()}: {m}"
        for p in rubric_files(rubrics, HOST_SIDE)
        for m in harness_imports(p)
        if m != "graders.kit"
    ]


def in_jobs(rubrics: Path) -> list[str]:
    """``rubrics/<id>/file: module`` for every harness import of code mounted into a job."""
    return [
        f"{p.relative_to(rubrics).as_posix()}: {m}" for p in rubric_files(rubrics, IN_JOBS) for m in harness_imports(p)
    ]


def test_providers_and_checks_import_only_the_kit() -> None:
    files = rubric_files(RUBRICS_DIR, HOST_SIDE)
    assert len([p for p in files if p.name == "provider.py"]) >= 8 and any(p.name == "checks.py" for p in files)
    assert outside_kit(RUBRICS_DIR) == []
    assert all("graders.kit" in harness_imports(p) for p in files if p.name == "provider.py")


def test_code_mounted_into_jobs_never_imports_the_harness() -> None:
    files = rubric_files(RUBRICS_DIR, IN_JOBS)
    assert any(p.name == "evaluate.py" for p in files) and any(p.parent.name == "kernel" for p in files)
    assert in_jobs(RUBRICS_DIR) == []


def test_the_scans_find_what_they_forbid(tmp_path: Path) -> None:
    exp = tmp_path / "toy"
    (exp / "kernel").mkdir(parents=True)
    (exp / "provider.py").write_text(
        "from graders.kit import ProfileSpec\nfrom graders.data.store import served_data\n", encoding="utf-8"
    )
    (exp / "checks_extra.py").write_text("def check():\n    from graders import models\n", encoding="utf-8")
    (exp / "evaluate.py").write_text("import graders.kit\n", encoding="utf-8")
    (exp / "kernel" / "shim.py").write_text("from graders import kit\nfrom . import other\n", encoding="utf-8")
    assert outside_kit(tmp_path) == ["toy/checks_extra.py: graders.models", "toy/provider.py: graders.data.store"]
    assert in_jobs(tmp_path) == ["toy/evaluate.py: graders.kit", "toy/kernel/shim.py: graders.kit"]


def test_the_kit_declares_what_it_offers_as_the_sandbox_kit_does() -> None:
    sandbox_kit = importlib.import_module("labgrade_runtime.evaluator.kit")
    for module in (kit, sandbox_kit):
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert module.__all__ and missing == [], f"{module.__name__} declares what it lacks: {missing}"


def test_every_kit_name_a_rubric_imports_is_declared() -> None:
    imported = {
        alias.name
        for p in rubric_files(RUBRICS_DIR, HOST_SIDE)
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module == "graders.kit"
        for alias in node.names
    }
    assert imported and imported <= set(kit.__all__), sorted(imported - set(kit.__all__))


def test_the_stand_in_library_lives_beside_the_rubrics_not_in_the_harness() -> None:
    library = kit.standins()
    assert Path(library.__file__ or "").resolve().parent == STANDINS_DIR.resolve()
    assert STANDINS_DIR.resolve().parent == RUBRICS_DIR.resolve().parent
    assert kit.standins() is library  # imported once per process
    assert not list((ROOT / "graders").rglob("*synthetic*")), "stand-in generators are back in the harness"
    assert callable(library.describe) and len(library.describe()) >= 5


@pytest.mark.parametrize("experiment", ["boston", "letters", "stock"])
def test_real_course_files_live_in_their_experiments_folder(experiment: str) -> None:
    files = kit.load_variants(RUBRICS_DIR / experiment)
    assert files
    for course in files:
        path = course.folder / course.canonical
        assert path.is_file() and path.parent == kit.course_data(RUBRICS_DIR / experiment), path
        assert len(kit.read_canonical(course)) >= 20  # the shortest, the Kaggle test month, has 20 days
    assert not (ROOT / "reference" / "datasets").exists()
