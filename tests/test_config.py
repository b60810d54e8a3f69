"""course.toml: typed, precise errors, documented precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from graders.config import ConfigError, GradeSettings, Overrides, load_course
from tests.conftest import SAMPLE

MINIMAL = """
[course]
name = "c"
roster = "roster.csv"
submissions = "subs"
[experiments.fashion]
due = 2026-08-28
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "course.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_sample_course_loads_with_paths_relative_to_the_file():
    cfg = load_course(SAMPLE / "course.toml")
    assert cfg.enabled[:2] == ["boston", "fashion"]
    assert cfg.roster == (SAMPLE / "roster.csv").resolve() or cfg.roster.resolve() == (SAMPLE / "roster.csv").resolve()
    assert cfg.experiments["fashion"].due.hour == 23  # a bare date means the end of that day


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MINIMAL.replace('name = "c"', 'name = "c"\nprofile = "fast"'), "key 'profile'"),
        (MINIMAL.replace("due = 2026-08-28", 'due = "next week"'), "key 'experiments.fashion.due'"),
        (MINIMAL + "\n[limits]\nmemory_mb = 10\n", "key 'limits.memory_mb'"),
        (MINIMAL.replace('name = "c"', 'name = "c"\nwrokers = 2'), "key 'wrokers'"),
        ("[course\nname=", "not valid TOML"),
    ],
)
def test_bad_values_name_the_file_and_key(tmp_path, text, expected):
    with pytest.raises(ConfigError) as info:
        load_course(write(tmp_path, text))
    message = str(info.value)
    assert expected in message and str(tmp_path) in message
    assert "\n" not in message


def test_missing_file_is_one_clear_line(tmp_path):
    with pytest.raises(ConfigError, match="no such course file"):
        load_course(tmp_path / "nope.toml")


def test_precedence_defaults_file_environment_flags(tmp_path, monkeypatch):
    path = write(tmp_path, MINIMAL.replace('name = "c"', 'name = "c"\nworkers = 3'))
    assert load_course(path).backend == "auto"  # default
    assert load_course(path).workers == 3  # file
    monkeypatch.setenv("LABGRADE_WORKERS", "5")
    assert load_course(path).workers == 5  # environment beats file
    assert load_course(path, Overrides(workers=7)).workers == 7  # flag beats environment


def test_a_misspelt_required_key_is_named_with_every_other_problem(tmp_path):
    text = MINIMAL.replace('roster = "roster.csv"', 'rostr = "roster.csv"') + "\n[limits]\nmemory_mb = 10\n"
    with pytest.raises(ConfigError) as info:
        load_course(write(tmp_path, text))
    message = str(info.value)
    assert "3 problems" in message and "more problem" not in message and "\n" not in message
    assert "key 'roster': Field required" in message
    assert "unknown key 'rostr' (a misspelt table or key? known: name, roster, submissions," in message
    assert "key 'limits.memory_mb': Input should be greater than or equal to 256 (got 10)" in message


def test_an_unknown_key_in_a_table_of_tables_lists_the_keys_known_there(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_course(write(tmp_path, MINIMAL.replace("due = 2026-08-28", "due = 2026-08-28\ndeu = 2026-08-29")))
    assert str(info.value).endswith(
        "unknown key 'experiments.fashion.deu' (a misspelt table or key? known: enabled, start, due)"
    )


def test_rubric_errors_use_the_same_formatter(tmp_path):
    from graders.paths import RUBRICS_DIR
    from graders.rubric import RubricError, load_rubric

    folder = tmp_path / "fashion"
    folder.mkdir()
    text = (RUBRICS_DIR / "fashion" / "rubric.toml").read_text(encoding="utf-8")
    text = text.replace("[data]\n", "[data]\nkeras_dataset = []\n", 1).replace("title = ", "titel = ", 1)
    (folder / "rubric.toml").write_text(text, encoding="utf-8")
    with pytest.raises(RubricError) as info:
        load_rubric("fashion", tmp_path)
    message = str(info.value)
    assert (
        "key 'title': Field required" in message and "unknown key 'titel' (a misspelt table or key? known: " in message
    )
    assert "unknown key 'data.keras_dataset' (a misspelt table or key? known: keras_datasets, files," in message
    assert "more problem" not in message and "\n" not in message


def test_the_session_settings_are_one_picklable_object(tmp_path):
    import pickle

    path = write(tmp_path, MINIMAL)
    settings = GradeSettings.of(load_course(path, Overrides(backend="local", workers=3)))
    assert pickle.loads(pickle.dumps(settings)) == settings
    assert (settings.course, settings.backend, settings.workers, settings.executor) == ("c", "local", 3, "local")


# ------------------------------------------------ Colab's memory: the kill limit rises, not the reservation


def test_a_run_may_grow_to_colabs_memory_where_the_host_has_it() -> None:
    from graders.config import COLAB_MEMORY_MB, HOST_HEADROOM_MB, kill_memory_mb

    assert COLAB_MEMORY_MB == 12 * 1024
    assert kill_memory_mb(4096, host_mb=24_000) == 12 * 1024  # a roomy host: Colab's 12 GB
    assert kill_memory_mb(4096, host_mb=8192) == 8192 - HOST_HEADROOM_MB  # a small host: what it can give
    assert kill_memory_mb(4096, host_mb=5000) == 4096  # never below what the run reserves
    assert kill_memory_mb(16_384, host_mb=64_000) == 16_384  # a larger declared need stays
    assert kill_memory_mb(4096, host_mb=0) == 4096  # the host does not say: the reservation is the limit
    assert kill_memory_mb(1536, host_mb=24_000, colab_mb=1536) == 1536  # a course's own ceiling
    assert kill_memory_mb(4096, host_mb=24_000, colab_mb=0) == 4096  # never below the reservation


def test_a_course_sets_the_memory_ceiling(tmp_path: Path) -> None:
    text = (SAMPLE / "course.toml").read_text(encoding="utf-8")
    assert "memory_ceiling_mb" not in text
    assert GradeSettings.of(load_course(SAMPLE / "course.toml")).limits.memory_ceiling_mb == 12 * 1024
    course = tmp_path / "course.toml"
    course.write_text(text.replace("memory_mb = 4096", "memory_mb = 4096\nmemory_ceiling_mb = 6000"), encoding="utf-8")
    assert GradeSettings.of(load_course(course)).limits.memory_ceiling_mb == 6000
    course.write_text(text.replace("memory_mb = 4096", "memory_mb = 4096\nmemory_ceiling_mb = -1"), encoding="utf-8")
    with pytest.raises(ConfigError, match="memory_ceiling_mb"):
        load_course(course)


def test_the_pool_reserves_what_an_experiment_declares_not_the_kill_limit() -> None:
    """A batch of runs that need 4 GB keeps its parallelism: each reserves 4 GB, not the 12 GB it may reach."""
    from graders.executors.base import memory_of
    from graders.executors.grading import GradeJob
    from graders.rubric import load_rubric
    from graders.state import Task
    from graders.submissions import Student

    settings = GradeSettings.of(load_course(SAMPLE / "course.toml"))
    fashion, imdb = load_rubric("fashion"), load_rubric("imdb")
    assert fashion.resources.memory_mb is None and imdb.resources.memory_mb == 12 * 1024
    job = GradeJob(Task(Student("1", "a"), fashion, None, None), settings)
    assert memory_of(job) == settings.limits.memory_mb == 4096
    assert memory_of(GradeJob(Task(Student("2", "b"), imdb, None, None), settings)) == 12 * 1024
