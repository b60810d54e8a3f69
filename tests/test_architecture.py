"""The shape of the tree, kept by tests: no import circles, the runtime apart from the harness, the pipeline in one
list."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from graders import api, pipeline
from graders.paths import RUNTIME_PACKAGE

GRADERS = Path(pipeline.__file__).resolve().parent


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(root: Path) -> dict[str, Path]:
    return {_module_name(root, p): p for p in root.rglob("*.py")}


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Every internal module ``path`` imports, wherever the import stands (top level, function, TYPE_CHECKING)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            submodules = {f"{base}.{alias.name}" for alias in node.names} & known
            found.update(submodules)  # `from pkg import mod` depends on mod, not on what pkg's __init__ holds
            if len(submodules) < len(node.names):
                found.add(base)
    return {m for m in found if m in known and m != name}


def _graph(root: Path) -> dict[str, set[str]]:
    modules = _modules(root)
    return {name: _imports(path, name, set(modules)) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, if there is any (iterative depth-first search)."""
    state: dict[str, int] = {}
    for start in sorted(graph):
        if state.get(start):
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        path, state[start] = [start], 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            nxt = todo.pop()
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(graph[nxt])))
    return None


@pytest.mark.parametrize("root", [GRADERS, RUNTIME_PACKAGE], ids=["graders", "labgrade_runtime"])
def test_no_import_circles(root: Path) -> None:
    graph = _graph(root)
    assert len(graph) > 5
    assert _cycle(graph) is None


def test_the_cycle_finder_finds_a_circle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_runtime_never_imports_the_harness() -> None:
    for path in RUNTIME_PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {m for m in names if m == "graders" or m.startswith("graders.")}, path


def test_the_kernel_does_not_import_the_evaluator() -> None:
    """Trusted scoring code never runs next to student code: nothing in kernel/ imports evaluator/."""
    graph = _graph(RUNTIME_PACKAGE)
    for name, deps in graph.items():
        if name.startswith("labgrade_runtime.kernel"):
            assert not {d for d in deps if d.startswith("labgrade_runtime.evaluator")}, name


def test_the_pipeline_is_the_list_of_step_modules() -> None:
    names = [step.name for step in pipeline.STEPS]
    assert names == ["intake", "prepare", "execute", "evaluate", "check", "score", "record"]
    class_names = [step.name for step in pipeline.CLASS_STEPS]
    assert class_names == ["integrity", "report"]  # the class-wide steps after the runs
    modules = sorted(p.stem for p in (GRADERS / "steps").glob("*.py") if p.stem != "__init__")
    assert modules == sorted([*names, *class_names])  # every step module is in one of the two lists
    for step in [*pipeline.STEPS, *pipeline.CLASS_STEPS]:
        assert step.run.__module__ == f"graders.steps.{step.name}"
    grade = inspect.getsource(api.grade)  # api.grade runs the class list, it does not call the steps itself
    assert "run_class_steps(" in grade
    assert "similarity_reports(" not in grade and "render_class(" not in grade


# The shell and its core types; every subsystem lives in a folder named for what it is.
CORE_MODULES = {
    "__init__",
    "api",
    "batch",
    "cli",
    "config",
    "gradebook",
    "kit",
    "models",
    "paths",
    "pipeline",
    "rubric",
    "state",
    "submissions",
}
SUBSYSTEMS = {"backends", "data", "desk", "executors", "integrity", "marking", "reports", "steps", "templates"}


def test_the_top_of_graders_is_the_shell_and_its_core_types() -> None:
    modules = {p.stem for p in GRADERS.glob("*.py")}
    assert modules <= CORE_MODULES, f"a loose module at the top of graders/: {sorted(modules - CORE_MODULES)}"
    assert len(modules - {"__init__"}) <= 12
    folders = {p.name for p in GRADERS.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders <= SUBSYSTEMS, f"an unnamed subsystem: {sorted(folders - SUBSYSTEMS)}"
    for folder in folders - {"templates"}:
        assert (GRADERS / folder / "__init__.py").is_file(), folder


# The job's folders reach a sandboxed process in one place: labgrade_runtime.contract's Roots (written by the host
# with Roots.env(), read back with from_env()). A LABGRADE_<root> name anywhere else is a root read around it.
JOB_ROOTS = ("ARTIFACTS", "HOLDOUT", "OUT", "WORK", "DATA", "RUBRIC", "ADAPTERS", "ROOTS", "SPEC")


def _root_reads(source: str) -> list[str]:
    """Where ``source`` names a job root's environment variable, or the contract's one variable, by itself."""
    found = []
    for node in ast.walk(ast.parse(source)):
        text = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""
        if text in {f"LABGRADE_{root}" for root in JOB_ROOTS} or text == "LABGRADE_":
            found.append(f"line {node.lineno}: {text!r}")
        if isinstance(node, (ast.Name, ast.Attribute)) and (getattr(node, "id", "") or getattr(node, "attr", "")) == (
            "ROOTS_ENV"
        ):
            found.append(f"line {node.lineno}: ROOTS_ENV")
    return found


def test_the_root_finder_finds_a_root_read() -> None:
    assert _root_reads("import os\nout = os.environ['LABGRADE_OUT']")
    assert _root_reads("import os\nout = os.environ.get(f'LABGRADE_{name.upper()}')")
    assert _root_reads("from labgrade_runtime.contract import ROOTS_ENV\nimport os\nos.environ[ROOTS_ENV]")
    assert not _root_reads("import os\nprofile = os.environ.get('LABGRADE_PROFILE')")


def test_job_roots_are_read_only_through_the_contract() -> None:
    """No module of the runtime, the rubrics or the harness reads or writes a job root's variable itself."""
    contract = RUNTIME_PACKAGE / "contract.py"
    files = [*RUNTIME_PACKAGE.rglob("*.py"), *(GRADERS.parent / "rubrics").rglob("*.py"), *GRADERS.rglob("*.py")]
    reads = {str(p): _root_reads(p.read_text(encoding="utf-8")) for p in files if p != contract}
    assert len(files) > 60
    assert not {p: r for p, r in reads.items() if r}, "a job root read outside labgrade_runtime.contract"
