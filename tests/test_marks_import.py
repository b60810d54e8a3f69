"""Bulk marks import (validated as a whole) and the append-only history with revert."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from graders.desk.marks_import import (
    HISTORY_HEADER,
    MarkEntry,
    MarksError,
    MarksImportError,
    NothingToRevert,
    Refusal,
    history_rows,
    normalise_roll,
    parse_column,
    read_marks_csv,
    revert,
)

NOW = datetime(2025, 3, 4, 10, 30, tzinfo=timezone.utc)
HEADER = "roll_no,experiment,column,marks,who,why\n"
ALLOTTED = {("2", "boston"), ("2", "fashion"), ("7", "boston"), ("12", "face"), ("4", "fashion")}
ROSTER = {"2", "4", "7", "12"}


def known(roll: str, experiment: str) -> Refusal | None:
    if roll not in ROSTER:
        return Refusal("roll_no", f"roll number {roll} is not on the roster roster.csv")
    if (roll, experiment) == ("4", "fashion"):
        return Refusal("", "roll 4 fashion was not handed in: there is nothing to mark")
    if (roll, experiment) in ALLOTTED:
        return None
    if roll == "12":
        return Refusal("experiment", f"roll 12 is not allotted {experiment} (its mini project is face)")
    return Refusal("experiment", f"roll {roll} is not graded on {experiment}")


def write(tmp_path: Path, text: str, name: str = "marks.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(MarksImportError) as info:
        read_marks_csv(path, known=known, now=NOW)
    assert "nothing was imported" in str(info.value)
    return info.value.problems


def test_normalise_roll() -> None:
    assert normalise_roll("02") == "2"
    assert normalise_roll(" 7 ") == "7"
    assert normalise_roll("12.0") == "12"  # what Excel makes of a number column
    assert normalise_roll("0") == "0"
    for bad in ("", "abc", "2a", "-3", "1.5", "1e3"):
        with pytest.raises(ValueError, match="is not a roll number"):
            normalise_roll(bad)


def test_columns_accept_the_sheet_headings() -> None:
    assert parse_column("Viva") == "viva"
    assert parse_column("Coding Efficiency") == "coding_efficiency"
    assert parse_column("timely-completion") == "timely_completion"
    assert parse_column(" ANSWERS ") == "answers"
    with pytest.raises(ValueError, match="is not a marks column"):
        parse_column("vive")


def test_reads_a_good_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER + "02,boston,Viva,4.5,Dr. Rao,viva held 3 March\n"
        '7,boston,coding_efficiency,3,Dr. Rao,"uses a loop, not vectorised"\n',
    )
    marks = read_marks_csv(path, known=known, now=NOW)
    assert [(m.roll_no, m.experiment, m.component, m.marks, m.line) for m in marks] == [
        ("2", "boston", "viva", 4.5, 2),
        ("7", "boston", "coding_efficiency", 3.0, 3),
    ]
    assert marks[1].why == "uses a loop, not vectorised" and marks[0].who == "Dr. Rao" and marks[0].at == NOW


def test_excel_files_bom_crlf_semicolons_and_ansi(tmp_path: Path) -> None:
    bom = write(tmp_path, "\ufeffRoll No,Experiment,Column,Marks,Who,Why\r\n2,boston,Viva,5,Dr. Rao,ok\r\n,,,,,\r\n")
    assert [m.marks for m in read_marks_csv(bom, known=known, now=NOW)] == [5.0]
    semi = write(
        tmp_path,
        "roll_no;experiment;column;marks;who;why\r\n2;boston;viva;4,5;Dr. Müller;ok\r\n",
        name="semi.csv",
        encoding="cp1252",
    )
    (mark,) = read_marks_csv(semi, known=known, now=NOW)
    assert mark.marks == 4.5 and mark.who == "Dr. Müller"


def test_every_problem_is_reported_with_file_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + "2,boston,viva,4,Dr. Rao,ok\n"  # line 2: fine
        + "abc,boston,viva,4,Dr. Rao,ok\n"  # line 3: roll
        + "2,fashion,viva,7,Dr. Rao,ok\n"  # line 4: above 5
        + "12,agegender,viva,3,Dr. Rao,ok\n"  # line 5: not allotted
        + "7,boston,vive,3,  ,ok\n"  # line 6: column and who
        + "2,boston,Viva,3,Dr. Rao,again\n"  # line 7: duplicate of line 2
        + "7,boston,answers,nan,Dr. Rao,\n"  # line 8: marks and why
        + "7,boston,answers,2.333,Dr. Rao,x\n"  # line 9: too precise
        + "7,boston,timely_completion,-1,Dr. Rao,x\n"  # line 10: below 0
        + "99,boston,viva,3,Dr. Rao,x\n"  # line 11: not on the roster
        + "4,fashion,viva,3,Dr. Rao,x\n",
    )  # line 12: not handed in
    problems = problems_of(path)
    assert problems == [
        "marks.csv line 3, field 'roll_no': 'abc' is not a roll number (write it as digits, e.g. 7 or 07)",
        "marks.csv line 4, field 'marks': 7 is above 5",
        "marks.csv line 5, field 'experiment': roll 12 is not allotted agegender (its mini project is face)",
        "marks.csv line 6, field 'column': 'vive' is not a marks column "
        "(one of answers, coding_efficiency, viva, timely_completion)",
        "marks.csv line 6, field 'who': is empty (say who gave the marks)",
        "marks.csv line 7: roll 2 boston viva is already given on line 2; keep one of the two rows",
        "marks.csv line 8, field 'marks': 'nan' is not a number",
        "marks.csv line 8, field 'why': is empty (say why)",
        "marks.csv line 9, field 'marks': 2.333 has more than two decimals",
        "marks.csv line 10, field 'marks': -1 is below 0",
        "marks.csv line 11, field 'roll_no': roll number 99 is not on the roster roster.csv",
        "marks.csv line 12: roll 4 fashion was not handed in: there is nothing to mark",
    ]


def test_message_lists_at_most_twenty(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "".join(f"2,boston,viva,9,Dr. Rao,x{i}\n" for i in range(25)))
    with pytest.raises(MarksImportError) as info:
        read_marks_csv(path, known=known, now=NOW)
    message = str(info.value)
    assert message.startswith(f"{path}: 25 problem(s), nothing was imported:")
    assert message.count("\n") == 21 and message.endswith("... and 5 more")
    assert len(info.value.problems) == 25


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty"),
        (HEADER, "no marks rows below the header"),
        ("roll_no,experiment,marks,who,why,notes\n", "unknown column 'notes'"),
        ("roll_no,experiment,marks,who,why\n2,boston,4,a,b\n", "missing column(s) column"),
        (HEADER + "2,boston,viva,4,Dr. Rao,late, see email\n", "a comma inside 'why' needs the field in double quotes"),
        (HEADER + "2,boston,viva,,Dr. Rao,x\n", "field 'marks': is empty"),
    ],
)
def test_structural_problems(tmp_path: Path, text: str, expected: str) -> None:
    assert any(expected in p for p in problems_of(write(tmp_path, text)))


def test_unreadable_file(tmp_path: Path) -> None:
    assert "cannot read the file" in problems_of(tmp_path / "nope.csv")[0]


def entries() -> list[MarkEntry]:
    t = datetime(2025, 3, 1, 9, 0)
    return [
        MarkEntry("2", "boston", "viva", 3.0, "Dr. Rao", "viva held", t, 1),
        MarkEntry("7", "boston", "viva", 4.0, "Dr. Rao", "viva held", t, 2),
        MarkEntry("2", "boston", "viva", 4.5, "Dr. Sen", "second examiner", t + timedelta(hours=1), 3),
        MarkEntry("2", "fashion", "answers", 2.0, "Dr. Rao", "answer 3 wrong", t + timedelta(hours=2), 4),
    ]


def test_history_rows_filters_and_shows_previous() -> None:
    rows = history_rows(entries())
    assert [r["seq"] for r in rows] == ["1", "2", "3", "4"] and tuple(rows[0]) == HISTORY_HEADER
    assert rows[2]["previous"] == "3" and rows[2]["marks"] == "4.5" and rows[0]["previous"] == ""
    assert [r["seq"] for r in history_rows(entries(), roll_no="02")] == ["1", "3", "4"]
    assert [r["seq"] for r in history_rows(entries(), roll_no="2", experiment="fashion")] == ["4"]
    assert history_rows(entries(), experiment="imdb") == []


def test_revert_adds_an_entry_restoring_the_previous_value() -> None:
    history = entries()
    undo = revert(history, "02", "boston", "Viva", "Dr. Rao", "second examiner's mark was for roll 7", NOW)
    assert (undo.roll_no, undo.component, undo.marks, undo.seq, undo.at) == ("2", "viva", 3.0, 5, NOW)
    history.append(undo)
    assert len(history) == 5 and history[2].marks == 4.5  # nothing rewritten
    again = revert(history, "2", "boston", "viva", "Dr. Rao", "undo the revert", NOW + timedelta(minutes=1))
    assert again.marks == 4.5
    first = revert(entries(), "7", "boston", "viva", "Dr. Rao", "entered for the wrong student", NOW)
    assert first.marks is None  # back to the run's own value / pending
    assert history_rows([*entries(), first], roll_no="7")[-1]["marks"] == "withdrawn"


def test_revert_errors_are_clear() -> None:
    with pytest.raises(NothingToRevert, match="no examiner marks were ever entered for roll 2 boston answers"):
        revert(entries(), "2", "boston", "answers", "Dr. Rao", "x", NOW)
    withdrawn = [*entries()[:2], MarkEntry("7", "boston", "viva", None, "Dr. Rao", "w", NOW, 9)]
    withdrawn_only = [withdrawn[2]]
    with pytest.raises(NothingToRevert, match="did not change"):
        revert(withdrawn_only, "7", "boston", "viva", "Dr. Rao", "x", NOW)
    with pytest.raises(MarksError, match="needs --who and --why"):
        revert(entries(), "2", "boston", "viva", " ", "x", NOW)
    with pytest.raises(MarksError, match="before the latest entry"):
        revert(entries(), "2", "boston", "viva", "Dr. Rao", "x", datetime(2025, 3, 1, 9, 30))
    with pytest.raises(MarksError, match="not a roll number"):
        revert(entries(), "x", "boston", "viva", "Dr. Rao", "x", NOW)
    with pytest.raises(MarksError, match="'efficiency' is not a marks column"):
        revert(entries(), "2", "boston", "efficiency", "Dr. Rao", "x", NOW)
