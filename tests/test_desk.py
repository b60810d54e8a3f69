"""The examiners' desk: pending states, the guards (bind, token, CSRF, Host), and a real browser marking a viva.

The gradebook is built from hand-written runs (no grading). The browser tests
drive the system's headless Chromium through Selenium against a real server on
a free loopback port, and save screenshots (to ``LABGRADE_DESK_SCREENSHOTS``
when set, else to the test's temporary folder).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from graders.desk.app import check_bind, create_app, serve
from graders.desk.sheets import Desk, DeskError, FormItem, MarkingForm, compose_why
from graders.gradebook import Gradebook
from graders.models import CheckResult, Component, ComponentMarks, IntegrityFlag, RunRecord, Status, VivaQuestion
from tests.artifacts_helper import course_toml, make_run

COURSE = "Desk test class"
T0 = datetime(2026, 8, 27, 10, 0)
TOKEN = "s3cret-desk-token"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")

COURSE_TOML = course_toml(COURSE)
ROSTER = "roll_no,name\n1,Asha Patil\n2,Rohan Deshmukh\n3,Meera <b>Joshi</b>\n"


def _answer_checks(written: bool) -> list[CheckResult]:
    """Five Answers checks as check_answer reports them: answered (with coverage) or not found at all."""
    checks = []
    for i in range(1, 6):
        evidence = f"Q{i}: covers loss, log" if written else f"Q{i} 'Question {i}' not answered in the notebook"
        checks.append(
            CheckResult(
                id="answer",
                title="Assignment question answered",
                component=Component.answers,
                points=1.0,
                awarded=0.8 if written else 0.0,
                passed=written,
                evidence=evidence,
            )
        )
    return checks


def _viva(n: int, auto: int = 0) -> list[VivaQuestion]:
    return [
        VivaQuestion(
            question=f"Your layer 'dense_{i}' (Dense) has how many parameters? Show the calculation.",
            answer=f"{(i + 1) * 1000:,} (output shape {64 * i})",
            auto_answered=i <= auto,
        )
        for i in range(1, n + 1)
    ]


def _run(run_id: str, roll_no: str, experiment: str, marks: ComponentMarks, **extra: Any) -> RunRecord:
    return make_run(
        run_id=run_id,
        course=COURSE,
        roll_no=roll_no,
        name="x",
        experiment=experiment,
        status=extra.pop("status", Status.completed),
        marks=marks,
        graded_at=T0,
        submitted_at=T0 - timedelta(days=1),
        **extra,
    )


def build_course(folder: Path) -> Path:
    """course.toml, roster and a gradebook with four runs; 2/boston and 3/fashion are not graded."""
    (folder / "submissions").mkdir(parents=True)
    (folder / "out").mkdir()
    (folder / "roster.csv").write_text(ROSTER, encoding="utf-8")
    course = folder / "course.toml"
    course.write_text(COURSE_TOML, encoding="utf-8")
    runs = [
        _run(
            "r1-fashion",
            "1",
            "fashion",
            ComponentMarks(answers=4, coding_efficiency=3.25, viva=None, timely_completion=5),
            suggested={"viva": 1.0},
            viva=_viva(5, auto=1),
            checks=_answer_checks(True),
            history={"loss": [0.9, 0.5, 0.4], "val_loss": [1.0, 0.6, 0.5], "accuracy": [0.6, 0.8, 0.85]},
        ),
        _run(
            "r1-boston",
            "1",
            "boston",
            ComponentMarks(answers=3, coding_efficiency=4, viva=None, timely_completion=5),
            viva=_viva(4),
            checks=_answer_checks(True),
        ),
        _run(
            "r2-fashion",
            "2",
            "fashion",
            ComponentMarks(answers=None, coding_efficiency=2, viva=None, timely_completion=4),
            viva=_viva(3),
            checks=_answer_checks(False),
            flags=[
                IntegrityFlag(
                    kind="trained_on_test",
                    label="trained on test rows",
                    evidence="86 of the 90 test rows scored by evaluate() in cell 8 were in the training data",
                )
            ],
        ),
        _run(
            "r3-boston",
            "3",
            "boston",
            ComponentMarks(timely_completion=5),
            status=Status.no_model,
            reason="ran, but no trained Keras model was found",
            checks=_answer_checks(False),
        ),
    ]
    with Gradebook(folder / "out" / "gradebook.sqlite") as book:
        for run in runs:
            book.record_run(run)
    return course


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return build_course(tmp_path / "course")


def overrides_of(course: Path, roll_no: str, experiment: str) -> list[Any]:
    with Gradebook(course.parent / "out" / "gradebook.sqlite") as book:
        return book.overrides(COURSE, roll_no, experiment)


# -- pending states ---------------------------------------------------------------


def test_viva_is_pending_until_examined_and_answers_when_nothing_was_written(course: Path) -> None:
    desk = Desk(course)
    ungraded = desk.cell("3", "fashion")
    assert ungraded is not None and ungraded.run is None and ungraded.status_label == "not graded yet"
    asha = desk.cell("1", "fashion")
    assert asha is not None
    assert [p.component for p in asha.pending] == [Component.viva]  # the auto-answered share is not a viva held
    assert asha.column(Component.answers).marks == 4  # type: ignore[union-attr]
    assert asha.given == 12.25 and asha.total is None
    rohan = desk.cell("2", "fashion")
    assert rohan is not None and [p.component for p in rohan.pending] == [Component.answers, Component.viva]
    assert rohan.given == 6 and rohan.pending_marks == 10
    marks = desk.marks()
    assert marks.pending_marks("1") == 10 and desk.marks("9").students == []


def test_the_reason_says_when_which_questions_and_the_note() -> None:
    form = MarkingForm(Component.viva, [FormItem(f"q{i}", "k") for i in range(5)])
    why = compose_why(form, [1, 1, 0, 1, 0], date(2026, 12, 3), "unsure about the loss")
    assert why == (
        "viva held 2026-12-03, questions 1, 2, 4 answered (per question, of 1 each: 1, 1, 0, 1, 0); "
        "unsure about the loss"
    )
    assert form.total([1, 1, 0, 1, 0]) == 3
    three = MarkingForm(Component.viva, [FormItem(f"q{i}", "k") for i in range(3)])
    assert three.total([1, 1, 1]) == 5 and three.total([1, 0.5, 0]) == 2.5
    direct = MarkingForm(Component.viva, [])
    assert direct.total([4.5]) == 4.5
    assert "marked 4.5 of 5 directly" in compose_why(direct, [4.5], date(2026, 12, 3), "")


def test_a_save_rewrites_the_pages_a_full_report_would_write(course: Path) -> None:
    from graders import api

    desk = Desk(course)
    api.report(course=course)  # the reports as grading left them
    reports = course.parent / "out" / "reports"
    untouched = (reports / "1" / "boston" / "marks.html").stat().st_mtime_ns
    sheet = desk.cell("1", "fashion")
    assert sheet is not None
    entry, problem = desk.record(sheet, Component.viva, 4.0, "Dr. Rao", "viva held 2026-12-03, questions 1-4 answered")
    assert problem == "" and entry.marks == 4.0
    names = [
        "register.html",
        "index.html",
        "marks.csv",
        "1/fashion/marks.html",
        "1/fashion/feedback.html",
        "1/fashion/viva.html",
    ]
    by_desk = {name: (reports / name).read_bytes() for name in names}
    assert (
        b"Dr. Rao" in by_desk["1/fashion/marks.html"]
        and b'<figure class="curves"><svg' in by_desk["1/fashion/feedback.html"]
    )
    assert (reports / "1" / "boston" / "marks.html").stat().st_mtime_ns == untouched  # other pages are left alone
    assert not list(reports.glob(".desk-render-*"))  # no scratch folder left behind
    api.report(course=course)
    assert {name: (reports / name).read_bytes() for name in names if name.endswith((".html", ".csv"))} == {
        name: page for name, page in by_desk.items() if name.endswith((".html", ".csv"))
    }


def test_the_desk_register_shows_the_integrity_flags_the_static_register_shows(course: Path) -> None:
    app = create_app(course, token=None)
    html = _client(app).get("/").get_data(as_text=True)
    assert html.count("&#9888; trained on test rows") == 1  # student 2's Fashion run, nobody else
    cell = html[html.index('data-experiment="fashion"', html.index('data-k-roll="2"')) :]
    assert cell.index("trained on test rows") < cell.index("</td>")


# -- guards -----------------------------------------------------------------------


def test_another_address_without_a_token_is_refused_in_one_line(course: Path) -> None:
    for host in ("0.0.0.0", "192.168.1.20", "::", "desk.example.org"):
        with pytest.raises(DeskError, match="without a token") as caught:
            serve(course, host=host, port=0, token=None)
        assert "\n" not in str(caught.value)
    with pytest.raises(DeskError, match="at least 8 characters"):
        check_bind("0.0.0.0", "short")
    check_bind("0.0.0.0", TOKEN)
    for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"):
        check_bind(host, None)


def test_a_course_without_a_gradebook_is_refused(tmp_path: Path) -> None:
    course = build_course(tmp_path / "c")
    (course.parent / "out" / "gradebook.sqlite").unlink()
    with pytest.raises(DeskError, match="no gradebook at .*labgrade grade"):
        create_app(course, token=None)


def _client(app: Flask) -> FlaskClient:
    return app.test_client()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the form"
    return found.group(1)


def test_a_post_without_the_csrf_token_is_refused(course: Path) -> None:
    client = _client(create_app(course, token=None))
    form = {"q1": "1", "q2": "1", "q3": "1", "q4": "1", "q5": "1", "examiner": "Dr. Rao", "held_on": "2026-12-03"}
    page = client.get("/students/1/fashion/viva")
    assert page.status_code == 200
    refused = client.post("/students/1/fashion/viva", data=form)
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    forged = client.post("/students/1/fashion/viva", data={**form, "csrf": "forged"})
    assert forged.status_code == 400
    assert overrides_of(course, "1", "fashion") == []
    saved = client.post("/students/1/fashion/viva", data={**form, "csrf": _csrf(page.get_data(as_text=True))})
    assert saved.status_code == 302
    assert [o.marks for o in overrides_of(course, "1", "fashion")] == [5]


def test_bad_marks_are_refused_with_a_message(course: Path) -> None:
    client = _client(create_app(course, token=None))
    csrf = _csrf(client.get("/students/2/fashion/viva").get_data(as_text=True))
    bad = client.post(
        "/students/2/fashion/viva",
        data={"csrf": csrf, "q1": "1.5", "q2": "", "q3": "x", "examiner": "Dr. Rao", "held_on": "2026-12-03"},
    )
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "Give question 1 a mark from 0 to 1 (got &#39;1.5&#39;)" in text and "question 2" in text
    assert 'value="Dr. Rao"' in text  # what was typed is kept
    assert overrides_of(course, "2", "fashion") == []
    assert client.get("/students/2/boston/viva").status_code == 404  # not graded: nothing to mark
    assert client.get("/students/1/fashion/coding_efficiency").status_code == 404


def test_only_loopback_host_names_reach_a_desk_without_a_token(course: Path) -> None:
    client = _client(create_app(course, token=None))
    assert client.get("/", headers={"Host": "127.0.0.1:8765"}).status_code == 200
    assert client.get("/", headers={"Host": "[::1]:8765"}).status_code == 200
    assert client.get("/", headers={"Host": "rebound.example.com"}).status_code == 400


def test_with_a_token_every_request_needs_it(course: Path) -> None:
    app = create_app(course, token=TOKEN)
    client = _client(app)
    first = client.get("/students/1")
    assert first.status_code == 401 and "Desk token" in first.get_data(as_text=True)
    assert "Asha" not in first.get_data(as_text=True)  # nothing of the gradebook shows
    assert client.get("/reports/register.html").status_code == 401
    assert client.get("/?token=wrong-token-x").status_code == 401
    once = client.get("/students/1?token=" + TOKEN)
    assert once.status_code == 302 and once.headers["Location"] == "/students/1"  # the token leaves the address bar
    assert client.get("/students/1").status_code == 200
    other = _client(app)
    login = other.get("/login?next=/students/2")
    wrong = other.post("/login", data={"csrf": _csrf(login.get_data(as_text=True)), "token": "nope-nope", "next": "/"})
    assert wrong.status_code == 401 and "not the desk" in wrong.get_data(as_text=True)
    signed = other.post(
        "/login", data={"csrf": _csrf(login.get_data(as_text=True)), "token": TOKEN, "next": "/students/2"}
    )
    assert signed.status_code == 302 and signed.headers["Location"] == "/students/2"
    assert other.get("/").status_code == 200
    assert "no-store" in other.get("/").headers["Cache-Control"]
    signed_again = other.get("/students/2?token=" + TOKEN)
    assert signed_again.status_code == 302 and signed_again.headers["Location"] == "/students/2"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x", "/students/1\nSet-Cookie: x"],
)
def test_signing_in_never_leads_off_the_desk(target: str) -> None:
    from graders.desk.app import local_path

    assert local_path(target) == "/"
    assert local_path("/students/1?x=1") == "/students/1?x=1"


def test_the_desk_serves_report_pages_but_not_the_gradebook(course: Path) -> None:
    from graders import api

    api.report(course=course)
    (course.parent / "out" / "reports" / "gradebook.sqlite").write_bytes(b"SQLite format 3")
    client = _client(create_app(course, token=None))
    for path, expected in [("/reports/1/fashion/marks.html", 200), ("/reports/gradebook.sqlite", 404)]:
        with client.get(path) as response:  # a file response holds the file open until closed
            assert response.status_code == expected, path
    assert client.get("/reports/../gradebook.sqlite").status_code == 404


# -- the real browser -------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless system Chromium through Selenium; no driver download is ever attempted."""
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.skip("browser tests need the system Chromium: apt-get install chromium chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver", reason="browser tests need `pip install selenium`")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1366,900",
        "--lang=en-GB",
    ):
        options.add_argument(arg)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not fetch anything
        driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("LABGRADE_DESK_SCREENSHOTS") or tmp_path_factory.mktemp("desk-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shoot(driver: Any, path: Path) -> None:
    """A screenshot of the whole page at a laptop's width (the viewport is stretched to the page's height)."""
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    metrics = {"width": 1366, "height": max(768, height), "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        driver.save_screenshot(str(path))
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert path.stat().st_size > 10_000


class Served:
    """A desk on a free loopback port, in a background thread."""

    def __init__(self, app: Flask) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def served(course: Path) -> Iterator[str]:
    desk = Served(create_app(course, token=None))
    try:
        yield desk.url
    finally:
        desk.close()


def _by(kind: str) -> Any:
    from selenium.webdriver.common.by import By

    return getattr(By, kind)


def wait_for(driver: Any, css: str) -> Any:
    """The element once the page showing it has loaded (a click that submits does not wait for the answer)."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, 10).until(expected_conditions.presence_of_element_located((_by("CSS_SELECTOR"), css)))


def _cell(driver: Any, roll_no: str, experiment: str) -> str:
    row = driver.find_element(
        _by("XPATH"), f"//table[contains(@class,'register')]//tr[td[1][normalize-space()='{roll_no}']]"
    )
    return str(row.find_element(_by("CSS_SELECTOR"), f"td[data-experiment='{experiment}']").text)


def test_an_examiner_marks_a_viva_in_the_browser(browser: Any, served: str, course: Path, shots: Path) -> None:
    browser.get(served + "/")
    assert "Class register" in browser.find_element(_by("TAG_NAME"), "h1").text
    assert "pending — examiner" in _cell(browser, "1", "fashion")
    register = browser.find_element(_by("CSS_SELECTOR"), "table.register")
    assert register.find_element(_by("PARTIAL_LINK_TEXT"), "Meera").text == "Meera <b>Joshi</b>"  # escaped
    shoot(browser, shots / "register.png")
    browser.find_element(_by("LINK_TEXT"), "Asha Patil").click()
    wait_for(browser, "section#fashion").find_element(_by("LINK_TEXT"), "Viva form").click()
    wait_for(browser, "input#q1")
    assert "Viva" in browser.find_element(_by("TAG_NAME"), "h1").text
    assert "2,000 (output shape 64)" in browser.page_source  # the answer key, for the examiner
    for number, mark in enumerate(["1", "1", "0", "1", "0.5"], start=1):
        browser.find_element(_by("ID"), f"q{number}").send_keys(mark)
    browser.find_element(_by("ID"), "examiner").send_keys("Dr. S. Kulkarni")
    browser.find_element(_by("ID"), "note").send_keys("explained pooling well")
    assert browser.find_element(_by("ID"), "total").text == "3.5"
    shoot(browser, shots / "viva_form.png")
    browser.find_element(_by("CSS_SELECTOR"), "button.primary").click()
    saved = wait_for(browser, ".flash.ok").text
    assert saved == (
        "Viva recorded for Asha Patil (1), 3 · fashion: 3.5 / 5 by Dr. S. Kulkarni; the reports are re-rendered."
    )
    shoot(browser, shots / "after_saving.png")
    [entry] = overrides_of(course, "1", "fashion")
    assert (entry.component, entry.marks, entry.who) == (Component.viva, 3.5, "Dr. S. Kulkarni")
    assert entry.why == (
        f"viva held {date.today().isoformat()}, questions 1, 2, 4, 5 answered "
        "(per question, of 1 each: 1, 1, 0, 1, 0.5); explained pooling well"
    )
    browser.find_element(_by("LINK_TEXT"), "Register").click()
    wait_for(browser, "table.register")
    cell = _cell(browser, "1", "fashion")
    assert "Viva 3.5 / 5" in cell and "pending" not in cell and cell.startswith("15.75/20")
    shoot(browser, shots / "register_after_saving.png")
    marks_sheet = (course.parent / "out" / "reports" / "1" / "fashion" / "marks.html").read_text(encoding="utf-8")
    assert "Dr. S. Kulkarni" in marks_sheet and "questions 1, 2, 4, 5 answered" in marks_sheet  # re-rendered
    browser.get(served + "/students/3/boston/viva")  # no model, so no questions: one mark out of 5
    assert wait_for(browser, "input#direct").get_attribute("max") == "5.0"
    assert browser.find_element(_by("ID"), "examiner").get_attribute("value") == "Dr. S. Kulkarni"  # remembered
    shoot(browser, shots / "viva_form_no_questions.png")


def test_an_empty_examiner_name_is_refused(browser: Any, served: str, course: Path, shots: Path) -> None:
    browser.get(served + "/students/2/fashion/answers")
    assert "not answered in the notebook" in browser.page_source  # what the checks found, beside each key
    for number in range(1, 6):
        browser.find_element(_by("ID"), f"q{number}").send_keys("0.5")
    browser.find_element(_by("CSS_SELECTOR"), "button.primary").click()
    examiner = browser.find_element(_by("ID"), "examiner")
    assert examiner.get_attribute("validationMessage")  # the browser itself says the name is required
    assert browser.current_url.endswith("/students/2/fashion/answers") and overrides_of(course, "2", "fashion") == []
    examiner.send_keys("   ")
    browser.find_element(_by("CSS_SELECTOR"), "button.primary").click()
    alert = wait_for(browser, ".flash.bad").text
    assert "Not saved" in alert and "Enter the examiner's name" in alert
    shoot(browser, shots / "refused_without_examiner.png")
    assert overrides_of(course, "2", "fashion") == []
    browser.find_element(_by("ID"), "examiner").send_keys("Prof. A. Mehta")
    browser.find_element(_by("CSS_SELECTOR"), "button.primary").click()
    wait_for(browser, ".flash.ok")
    assert [(o.component, o.marks, o.who) for o in overrides_of(course, "2", "fashion")] == [
        (Component.answers, 2.5, "Prof. A. Mehta")
    ]
    browser.get(served + "/")
    cell = _cell(browser, "2", "fashion")
    assert "Answers" not in cell and "Viva pending — examiner" in cell


def test_the_browser_signs_in_with_the_token(browser: Any, course: Path, shots: Path) -> None:
    desk = Served(create_app(course, token=TOKEN))
    try:
        browser.delete_all_cookies()
        browser.get(desk.url + "/students/1")
        assert "Desk token" in browser.page_source and "Asha" not in browser.page_source
        shoot(browser, shots / "login.png")
        browser.find_element(_by("ID"), "token").send_keys(TOKEN)
        browser.find_element(_by("CSS_SELECTOR"), "button.primary").click()
        wait_for(browser, "section#fashion")
        assert browser.current_url == desk.url + "/students/1"
        assert "Asha Patil" in browser.find_element(_by("TAG_NAME"), "h1").text
        browser.find_element(_by("XPATH"), "//button[normalize-space()='Sign out']").click()
        wait_for(browser, "input#token")
        browser.get(desk.url + "/")
        assert "Desk token" in browser.page_source
        browser.get(desk.url + "/?token=" + TOKEN)
        assert browser.current_url == desk.url + "/" and "Class register" in browser.page_source
    finally:
        desk.close()


FULL_EXPERIMENTS = ("boston", "fashion", "imdb", "letters", "stock", "face", "agegender", "colorize")


def build_full_course(folder: Path) -> Path:
    """Every experiment of the lab, mini projects allotted by roll number, a run for most cells."""
    (folder / "submissions").mkdir(parents=True)
    (folder / "out").mkdir()
    rolls = ["1", "2", "3", "31", "32", "61", "62"]
    names = [
        "Asha Patil",
        "Rohan Deshmukh",
        "Meera Joshi",
        "Kabir Shaikh",
        "Ishita Kulkarni-Deshpande",
        "Omkar Pawar",
        "Sneha Iyer",
    ]
    (folder / "roster.csv").write_text(
        "roll_no,name\n" + "".join(f"{r},{n}\n" for r, n in zip(rolls, names)), encoding="utf-8"
    )
    dates = "".join(f"\n[experiments.{e}]\nstart = 2026-08-03\ndue = 2026-10-09\n" for e in FULL_EXPERIMENTS)
    course = folder / "course.toml"
    course.write_text(
        f'[course]\nname = "{COURSE}"\nroster = "roster.csv"\nsubmissions = "submissions"\n'
        f'gradebook = "out/gradebook.sqlite"\nreports = "out/reports"\n{dates}',
        encoding="utf-8",
    )
    mini = {
        "1": "face",
        "2": "face",
        "3": "face",
        "31": "agegender",
        "32": "agegender",
        "61": "colorize",
        "62": "colorize",
    }
    with Gradebook(folder / "out" / "gradebook.sqlite") as book:
        for n, roll in enumerate(rolls):
            for k, exp in enumerate((*FULL_EXPERIMENTS[:5], mini[roll])):
                if (n + k) % 7 == 6:
                    continue  # not graded yet
                marks = ComponentMarks(answers=(n + k) % 6, coding_efficiency=3.5, viva=None, timely_completion=5)
                book.record_run(
                    _run(f"{roll}-{exp}", roll, exp, marks, viva=_viva(5), checks=_answer_checks((n + k) % 6 != 0))
                )
    return course


def test_the_register_of_a_whole_lab_fits_a_laptop_screen(browser: Any, tmp_path: Path, shots: Path) -> None:
    desk = Served(create_app(build_full_course(tmp_path / "full"), token=None))
    try:
        browser.get(desk.url + "/")
        assert len(browser.find_elements(_by("CSS_SELECTOR"), "table.register thead th")) == 2 + 6 + 1
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, "the page scrolls sideways"
        beyond = browser.execute_script(
            "const th = [...document.querySelectorAll('table.register thead th')].pop();"
            "return [th.textContent.trim(), th.getBoundingClientRect().right - window.innerWidth];"
        )
        assert beyond[0] == "Total" and beyond[1] <= 0, "the Total column is cut off"
        rolls = "return [...document.querySelectorAll('#register tbody tr')].map(r => r.cells[0].textContent.trim());"
        totals = "return [...document.querySelectorAll('#register tbody tr')].map(r => +r.dataset.kTotal);"
        button = browser.find_element(_by("CSS_SELECTOR"), "#register thead button[data-key='total']")
        button.click()
        assert browser.execute_script(totals) == sorted(browser.execute_script(totals))
        button.click()
        ordered = browser.execute_script(totals)
        assert ordered == sorted(ordered, reverse=True) and browser.execute_script(rolls)[0] == "1"
        browser.find_element(_by("CSS_SELECTOR"), "#register thead button[data-key='name']").click()
        names = "return [...document.querySelectorAll('#register tbody tr')].map(r => r.cells[1].textContent.trim());"
        assert browser.execute_script(names) == sorted(browser.execute_script(names))
        shoot(browser, shots / "register_full_course.png")
    finally:
        desk.close()
