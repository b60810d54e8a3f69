"""course.toml: typed, precise errors, documented precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from graders.config import ConfigError, load_course
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
    assert load_course(path, workers=7).workers == 7  # flag beats environment
