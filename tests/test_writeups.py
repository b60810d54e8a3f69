"""Write-ups handed in beside the notebook: found, attributed, read with locations, and scored.

The fixtures are written the way students of this lab write: a Word journal
("Assignment No. 3 … Q1) What is …? Ans: …"), a Google-Docs PDF with the
questions as headings, a Notepad .txt in Windows-1252 or UTF-16, a markdown
file, a Word table of questions and answers, a scan without a text layer.
Questions are the real ones of rubrics/fashion and rubrics/boston.
"""

from __future__ import annotations

import shutil
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import docx
import nbformat
import pytest
from fpdf import FPDF, XPos, YPos
from PIL import Image, ImageDraw

import graders
from graders.marking.answers import score_answer
from graders.marking.writeups import find as writeups_find
from graders.marking.writeups import read as writeups_read
from graders.marking.writeups.find import find_writeups, writeup_detector
from graders.marking.writeups.match import AnswerSource, answers_from, evidence, nothing_written
from graders.marking.writeups.read import read_writeup
from graders.models import WriteupText
from graders.rubric import Question, available_experiments, load_rubric

HERE = Path(__file__).parent / "writeups"
FASHION = list(load_rubric("fashion").questions)
BOSTON = list(load_rubric("boston").questions)


@pytest.fixture(scope="module")
def detect() -> Callable[[str], str]:
    """The detector the harness passes: every experiment of the lab."""
    return writeup_detector([load_rubric(e) for e in available_experiments()])


# --- fixtures written like students write them ---------------------------------------------------------------------

FASHION_JOURNAL = [
    ("Title", "Deep Learning Laboratory"),
    ("", "Name: Riya Patil          Roll No: 41          Div: B"),
    ("Heading 1", "Assignment No. 3"),
    ("", "Title: Use MNIST Fashion Dataset and create a classifier to classify fashion clothing into categories."),
    ("Heading 1", "Theory"),
    (
        "",
        "A convolutional neural network learns filters that slide over the 28x28 images of the Fashion MNIST "
        "dataset (T-shirt, trouser, pullover, sneaker, ankle boot ...). We trained it for 10 epochs with Adam.",
    ),
    ("Heading 1", "Assignment Questions"),
    (
        "",
        "Q1) What is Binary Classification? Ans: Binary classification is a supervised learning task in which each "
        "example is put into one of exactly two classes, for example spam or not spam, positive or negative. The "
        "network ends in a sigmoid neuron that outputs the probability of the positive class and a threshold of 0.5 "
        "decides the label.",
    ),
    ("", "Q.2 What is binary Cross Entropy?"),
    (
        "",
        "Ans: Binary cross entropy is the loss function for two class problems. For a true label y (0 or 1) and the "
        "predicted probability p it is -[y log p + (1 - y) log(1 - p)], so a confident wrong prediction costs a lot.",
    ),
    ("", "Que 3: What is Validation Split?"),
    (
        "",
        "Ans- Validation split is the fraction of the training data (validation_split=0.2 means 20%) that Keras "
        "keeps aside. It is not used for training; the model is evaluated on it after every epoch to monitor "
        "overfitting and to tune hyperparameters.",
    ),
    ("", "Question No. 4 - What is the Epoch Cycle?"),
    ("", "An epoch is one complete pass of the entire training dataset through the network."),
    ("", "Each epoch is made of batches; after every batch (one step) the weights are updated."),
    ("", "Q5. What is Adam Optimizer?"),
    (
        "",
        "Adam (Adaptive Moment Estimation) is a gradient descent optimizer. It keeps a running average of the "
        "gradients (first moment, like momentum) and of the squared gradients (second moment, like RMSprop) and uses "
        "them to adapt the learning rate of each parameter.",
    ),
    ("Heading 1", "Conclusion"),
    ("", "Thus we built a CNN classifier on Fashion MNIST which reached about 90% accuracy on the test data."),
]


def write_journal(path: Path, paragraphs: list[tuple[str, str]] = FASHION_JOURNAL) -> Path:
    """A Word journal: styled title and headings, questions typed with the students' own markers."""
    document = docx.Document()
    for style, text in paragraphs:
        document.add_paragraph(text, style=style or None)
    document.save(str(path))
    return path


BOSTON_PAGES: list[list[str | tuple[str, str]]] = [
    [
        "Assignment 1: Boston Housing Price Prediction",
        (
            "What is Linear Regression?",
            "Linear regression predicts a continuous target (the dependent variable, here the house price MEDV) "
            "as a linear function of the input features (independent variables). The coefficients or weights of "
            "the straight line are fitted by least squares, i.e. by minimising the squared error.",
        ),
        (
            "What is a Deep Neural Network?",
            "A deep neural network has several hidden layers of neurons between the input layer and the output "
            "layer. Each neuron multiplies its inputs by weights, adds a bias and applies a non-linear activation "
            "such as ReLU; the weights are learned with backpropagation.",
        ),
    ],
    [
        "",
        (
            "What is the concept of standardization?",
            "Standardization rescales every feature to zero mean and unit standard deviation, "
            "z = (x - mean) / std, with the mean and std taken from the training set only so that nothing leaks "
            "from the test data. Features of different scale then count equally and training converges faster.",
        ),
        (
            "Why split data into train and test?",
            "The model is fitted on the training set and then evaluated on the test set it has never seen, "
            "which measures how well it generalises to new data and shows overfitting.",
        ),
    ],
    [
        "",
        (
            "Write Down Application of Deep Neural Network?",
            "Image recognition and face detection, speech recognition in voice assistants, natural language processing "
            "and translation, medical diagnosis from scans, self-driving cars and house price forecasting.",
        ),
    ],
]


def para(pdf: FPDF, height: float, text: str) -> None:
    """A paragraph across the page width, the cursor back at the left margin below it."""
    pdf.multi_cell(0, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def write_gdocs_pdf(path: Path, pages: list[list[str | tuple[str, str]]] = BOSTON_PAGES) -> Path:
    """A PDF as Google Docs exports it: each question a bold heading, its answer in body text, several pages."""
    pdf = FPDF()
    for page in pages:
        pdf.add_page()
        title, *blocks = page
        if title:
            pdf.set_font("Helvetica", "B", 18)
            para(pdf, 10, str(title))
        for block in blocks:
            assert isinstance(block, tuple)
            pdf.set_font("Helvetica", "B", 14)
            para(pdf, 9, block[0])
            pdf.set_font("Helvetica", "", 11)
            para(pdf, 6, block[1])
            pdf.ln(4)
    pdf.output(str(path))
    return path


def write_scan(path: Path) -> Path:
    """A phone photo of a handwritten journal page saved as PDF: an image, no text layer."""
    image = Image.new("L", (600, 800), 235)
    draw = ImageDraw.Draw(image)
    for row in range(20, 780, 28):
        draw.line((30, row, 570, row + 3), fill=60, width=2)  # lines of handwriting
    pdf = FPDF()
    pdf.add_page()
    pdf.image(image, x=10, y=10, w=190)
    pdf.output(str(path))
    return path


def write_notebook(path: Path, code: str, markdown: Sequence[str] = ()) -> Path:
    cells = [nbformat.v4.new_markdown_cell(m) for m in markdown] + [nbformat.v4.new_code_cell(code)]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    return path


FASHION_CODE = "from tensorflow.keras.datasets import fashion_mnist\n(x, y), (xt, yt) = fashion_mnist.load_data()"
BOSTON_CODE = "import pandas as pd\ndf = pd.read_csv('HousingData.csv')\ny = df['MEDV']"


def by_question(sources: list[AnswerSource]) -> dict[int, AnswerSource]:
    return {s.question + 1: s for s in sources}


# --- reading ------------------------------------------------------------------------------------------------------


def test_graders_is_imported_from_this_checkout() -> None:
    assert Path(graders.__file__).resolve().parent in Path(writeups_read.__file__).resolve().parents
    assert Path(graders.__file__).resolve().parent.parent == Path(__file__).resolve().parent.parent


def test_word_journal_every_answer_found_with_its_paragraph(tmp_path: Path) -> None:
    text = read_writeup(write_journal(tmp_path / "Assignment3_answers.docx"))
    assert text.readable and not text.note and text.kind == "docx"
    found = by_question(answers_from([text], [], FASHION))
    # paragraph numbers count the body's paragraphs as Word does, from 1
    expected = {1: "paragraph 8", 2: "paragraph 10", 3: "paragraph 12", 4: "paragraph 14", 5: "paragraph 17"}
    for number, location in expected.items():
        source = found[number]
        assert (source.source, source.location, source.matched_by) == ("Assignment3_answers.docx", location, "wording")
        assert source.under == "Assignment Questions"
        assert source.score.fraction == 1.0, (number, source.score)
    assert "updated" in found[4].text  # an answer running over two paragraphs is kept whole
    assert "Thus we built" not in found[5].text  # and ends at the next heading
    assert "What is Adam" not in found[5].text  # the question itself is not part of the answer
    line = evidence(found[1], FASHION[0])
    assert line.startswith("Q1 in Assignment3_answers.docx, paragraph 8 (under 'Assignment Questions'): covers two")


def test_google_docs_pdf_questions_as_headings_located_by_page(tmp_path: Path) -> None:
    text = read_writeup(write_gdocs_pdf(tmp_path / "Assignment1_answers.pdf"))
    assert text.readable and text.note == "" and not text.scanned
    found = by_question(answers_from([text], [], BOSTON))
    pages = {1: "page 1", 2: "page 1", 3: "page 2", 4: "page 2", 5: "page 3"}
    assert {n: s.location for n, s in found.items()} == pages
    assert all(s.source == "Assignment1_answers.pdf" for s in found.values())
    assert all(s.score.fraction >= 0.75 for s in found.values()), [s.score for s in found.values()]
    assert evidence(found[3], BOSTON[2]).startswith("Q3 in Assignment1_answers.pdf, page 2: covers mean")


def test_notepad_txt_in_windows_1252_and_utf16(tmp_path: Path) -> None:
    cp1252 = HERE / "boston_answers_cp1252.txt"
    raw = cp1252.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the fixture really is Windows-1252
    content = raw.decode("cp1252")
    (tmp_path / "bom.txt").write_bytes(content.encode("utf-16"))  # Notepad's "Unicode", with a BOM
    (tmp_path / "nobom.txt").write_bytes(content.encode("utf-16-le"))
    (tmp_path / "utf8.txt").write_bytes(content.encode("utf-8-sig"))
    for path in (cp1252, tmp_path / "bom.txt", tmp_path / "nobom.txt", tmp_path / "utf8.txt"):
        text = read_writeup(path)
        assert "\u2022 Speech recognition" in text.text and "(x \u2013 mean)" in text.text, path.name
        found = by_question(answers_from([text], [], BOSTON))
        assert [found[n].location for n in range(1, 6)] == ["line 6", "line 12", "line 17", "line 22", "line 27"]
        assert all(s.score.fraction == 1.0 for s in found.values()), path.name
        assert "Conclusion" not in found[4].text


def test_markdown_write_up_headings_and_lines() -> None:
    text = read_writeup(HERE / "fashion_answers.md")
    assert text.kind == "markdown"
    found = by_question(answers_from([text], [], FASHION))
    assert [found[n].location for n in range(1, 6)] == ["line 6", "line 11", "line 16", "line 21", "line 25"]
    assert found[2].under == "Q2. What is binary Cross Entropy?"
    assert all(s.score.fraction == 1.0 for s in found.values())
    assert "91% test accuracy" not in found[5].text  # '## Conclusion' ends the last answer


def test_word_table_of_questions_and_answers(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("Assignment 1 - Boston housing", 1)
    document.add_paragraph("The answers to the assignment questions:")
    table = document.add_table(rows=1, cols=3)
    for cell, title in zip(table.rows[0].cells, ("Sr. No.", "Question", "Answer")):
        cell.text = title
    for number, question, answer in [
        (
            "1",
            BOSTON[0].text,
            "Linear regression fits a straight line between the independent input features and "
            "the continuous target by least squares.",
        ),
        (
            "2",
            BOSTON[1].text,
            "It is a network with many hidden layers of neurons; each layer has weights and a bias "
            "and a relu activation.",
        ),
    ]:
        row = table.add_row().cells
        row[0].text, row[1].text, row[2].text = number, question, answer
    document.save(str(tmp_path / "answers.docx"))
    text = read_writeup(tmp_path / "answers.docx")
    found = by_question(answers_from([text], [], BOSTON))
    assert found[1].location == "table 1, row 2" and found[2].location == "table 1, row 3"
    assert found[1].under == "Assignment 1 - Boston housing"
    assert found[1].score.fraction == 1.0 and found[2].score.fraction == 1.0
    assert not found[3].found


def test_word_numbered_list_numbers_are_read(tmp_path: Path) -> None:
    """Word's automatic numbering is not in the paragraph text; it is read back so 'Q3'-less lists still count."""
    paragraphs = [("Heading 1", "Assignment 1 answers")]
    for question, answer in zip(
        BOSTON[:3],
        [
            "Linear regression predicts a continuous target from input features "
            "with a straight line whose coefficients come from least squares.",
            "A network with several hidden layers of neurons, with weights, biases and relu activation.",
            "Rescaling each feature to zero mean and unit standard deviation using the training set statistics.",
        ],
    ):
        paragraphs += [("List Number", question.text), ("", answer)]
    text = read_writeup(write_journal(tmp_path / "answers.docx", paragraphs))
    assert [s.text for s in text.sections if s.text.endswith("?")] == [
        "1. What is Linear Regression?",
        "2. What is a Deep Neural Network?",
        "3. What is the concept of standardization?",
    ]
    found = by_question(answers_from([text], [], BOSTON))
    assert [found[n].location for n in (1, 2, 3)] == ["paragraph 3", "paragraph 5", "paragraph 7"]


def test_answers_marked_only_by_number() -> None:
    text = read_writeup(HERE / "fashion_numbers_only.txt")
    found = by_question(answers_from([text], [], FASHION))
    assert (found[1].location, found[1].matched_by) == ("line 4", "number")
    assert (found[4].location, found[4].matched_by) == ("line 8", "number")
    assert found[1].score.fraction >= 0.75 and found[4].score.fraction == 1.0
    assert not found[2].found and not found[3].found
    assert "found by its number" in evidence(found[4], FASHION[3])


def test_questions_listed_first_answers_below(tmp_path: Path) -> None:
    questions = "\n".join(f"Q{n}. {q.text}" for n, q in enumerate(BOSTON, start=1))
    path = tmp_path / "answers.txt"
    path.write_text(
        f"Assignment 1\nQuestions:\n{questions}\n\nAnswers:\n"
        "Ans 1: Linear regression fits a straight line from the input features to a continuous target; "
        "its coefficients come from least squares.\n"
        "Ans 2: A deep neural network has several hidden layers of neurons with weights, biases and "
        "relu activation.\n",
        encoding="utf-8",
    )
    found = by_question(answers_from([read_writeup(path)], [], BOSTON))
    assert (found[1].location, found[1].matched_by, found[1].score.fraction) == ("line 10", "number", 1.0)
    assert (found[2].location, found[2].matched_by, found[2].score.fraction) == ("line 11", "number", 1.0)
    assert not found[3].found


# --- choosing between the notebook and the write-up ----------------------------------------------------------------


def test_better_answer_wins_and_says_where() -> None:
    markdown = [
        "# Assignment 3: Fashion MNIST",
        "### Q1. What is Binary Classification?\nTwo classes.",
        "### Q2. What is binary Cross Entropy?\nBinary cross entropy is the loss for two classes: the negative "
        "log of the predicted probability of the true label.",
    ]
    text = read_writeup(HERE / "fashion_answers.md")
    shorter = text.model_copy(update={"sections": tuple(s for s in text.sections if int(s.location.split()[1]) < 11)})
    found = by_question(answers_from([shorter], markdown, FASHION, cell_numbers=[1, 4, 7]))
    assert (found[1].source, found[1].location) == ("fashion_answers.md", "line 6")  # the notebook's is too short
    assert (found[2].source, found[2].location) == ("notebook", "markdown cell 7")  # the write-up stops before Q2
    assert found[2].where == "notebook markdown cell 7"
    assert evidence(found[2], FASHION[1]).startswith("Q2 in notebook markdown cell 7: covers loss, log")
    # without the write-up the notebook's own answers are kept exactly as before
    alone = by_question(answers_from([], markdown, FASHION))
    assert alone[1].text == "Two classes." and alone[2].location == "markdown cell 3"


def test_scores_good_high_offtopic_low(tmp_path: Path) -> None:
    good = answers_from([read_writeup(HERE / "boston_answers_cp1252.txt")], [], BOSTON)
    off = answers_from([read_writeup(HERE / "offtopic_answers.txt")], [], BOSTON)
    assert all(s.found for s in off)  # every question is answered ...
    good_mean = sum(s.score.fraction for s in good) / 5
    off_mean = sum(s.score.fraction for s in off) / 5
    assert good_mean == 1.0 and off_mean <= 0.2, (good_mean, off_mean)  # ... but off topic
    for source, question in zip(off, BOSTON):  # the same numbers straight from graders.marking.answers
        assert score_answer(source.text, question) == source.score


# --- pending and unreadable ----------------------------------------------------------------------------------------


def test_scan_is_reported_and_answers_pending(tmp_path: Path) -> None:
    scan = read_writeup(write_scan(tmp_path / "Assignment1_scan.pdf"))
    assert scan.scanned and not scan.readable
    assert scan.note == (
        "Assignment1_scan.pdf could not be read: it has no text layer (a scanned or photographed "
        "document?): for the examiner to read"
    )
    sources = answers_from([scan], [], BOSTON)
    assert nothing_written(sources)
    assert "no text layer" in evidence(sources[0], BOSTON[0])


def test_pending_only_when_nothing_written_anywhere(tmp_path: Path) -> None:
    template = ["### Q1. What is Binary Classification?", "### Q2. What is binary Cross Entropy?"]  # not answered
    assert nothing_written(answers_from([], template, FASHION))
    assert nothing_written(answers_from([read_writeup(HERE / "dataset_README.md")], template, FASHION))
    assert not nothing_written(answers_from([], template + ["### Q3. What is Validation Split?\n20% of data"], FASHION))
    assert not nothing_written(answers_from([read_writeup(HERE / "fashion_numbers_only.txt")], template, FASHION))
    assert not nothing_written(answers_from([read_writeup(HERE / "offtopic_answers.txt")], [], BOSTON))


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("answers.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "encrypted (password-protected)"),
        ("answers.docx", b"PK\x03\x04 this is not really a zip", "damaged"),
        ("answers.docx", b"", "damaged"),
        ("answers.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF", "damaged"),
        ("answers.pdf", b"not a pdf at all", "damaged"),
        ("answers.doc", b"\xd0\xcf\x11\xe0" + b"\0" * 100, "old Word format (.doc)"),
    ],
)
def test_broken_files_are_a_note_never_an_exception(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    text = read_writeup(path)
    assert not text.readable and text.note.startswith(f"{name} could not be read: ") and reason in text.note
    assert nothing_written(answers_from([text], [], FASHION))


def test_encrypted_pdf(tmp_path: Path) -> None:
    for user, readable in (("secret", False), ("", True)):  # "", as Word's restrict-editing export: opens
        pdf = FPDF()
        pdf.add_page()
        pdf.set_font("Helvetica", "", 12)
        para(
            pdf,
            8,
            "Q1) What is Binary Classification?\nAns: putting each sample into one of two classes "
            "with a sigmoid output giving a probability.",
        )
        pdf.set_encryption(owner_password="teacher", user_password=user)
        pdf.output(str(tmp_path / "answers.pdf"))
        text = read_writeup(tmp_path / "answers.pdf")
        assert text.readable is readable, text.note
        if not readable:
            assert text.note == "answers.pdf could not be read: encrypted (it needs a password)"
        else:
            assert answers_from([text], [], FASHION)[0].location == "page 1"


def test_size_and_page_caps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = write_gdocs_pdf(tmp_path / "answers.pdf")
    monkeypatch.setattr(writeups_read, "MAX_PDF_PAGES", 2)
    text = read_writeup(pdf)
    assert text.note == "answers.pdf: only the first 2 of 3 pages were read"
    assert not by_question(answers_from([text], [], BOSTON))[5].found and text.readable
    monkeypatch.setattr(writeups_read, "MAX_WRITEUP_BYTES", 1000)
    assert read_writeup(pdf).note == "answers.pdf could not be read: it is larger than 0 MB"
    assert read_writeup(tmp_path / "missing.md").note == "missing.md could not be read: it was not found"
    assert "could not be read" in read_writeup(tmp_path).note  # a folder, not a file


def test_docx_zip_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_journal(tmp_path / "answers.docx")
    monkeypatch.setattr(writeups_read, "MAX_DOCX_XML_BYTES", 2000)
    assert read_writeup(path).note == "answers.docx could not be read: its text unpacks to more than 0 MB"


def test_large_journal_is_read_quickly(tmp_path: Path) -> None:
    theory = [("", "The theory of convolution, pooling, padding and strides explained at length. " * 6)] * 300
    path = write_journal(tmp_path / "journal.docx", FASHION_JOURNAL[:6] + theory + FASHION_JOURNAL[6:])
    started = time.perf_counter()
    found = answers_from([read_writeup(path)], [], FASHION)
    assert all(s.score.fraction == 1.0 for s in found)
    assert time.perf_counter() - started < 10


# --- finding and attributing ----------------------------------------------------------------------------------------


def two_experiments(folder: Path) -> Path:
    """A student folder as handed in: two experiments' notebooks and write-ups, the dataset's README, data, pins."""
    folder.mkdir()
    write_notebook(folder / "Assignment1_Boston.ipynb", BOSTON_CODE)
    write_notebook(folder / "Assignment3_FashionMNIST.ipynb", FASHION_CODE)
    write_gdocs_pdf(folder / "Assignment1_answers.pdf")
    write_journal(folder / "Assignment3_answers.docx")
    shutil.copy(HERE / "dataset_README.md", folder / "README.md")
    shutil.copy(HERE / "requirements.txt", folder / "requirements.txt")
    (folder / "HousingData.csv").write_text("CRIM,ZN,MEDV\n0.1,18,24\n", encoding="utf-8")
    (folder / "~$signment3_answers.docx").write_bytes(b"\0" * 162)  # Word's lock file while the journal was open
    return folder


def test_two_experiments_each_gets_its_own_write_up(tmp_path: Path, detect: Callable[[str], str]) -> None:
    folder = two_experiments(tmp_path / "41_Riya Patil")
    boston = find_writeups(folder, folder / "Assignment1_Boston.ipynb", "boston", detect)
    fashion = find_writeups(folder, folder / "Assignment3_FashionMNIST.ipynb", "fashion", detect)
    assert [p.name for p in boston] == ["Assignment1_answers.pdf"]
    assert [p.name for p in fashion] == ["Assignment3_answers.docx"]
    assert detect(read_writeup(folder / "README.md").text) == ""  # names Boston, answers nothing: not a write-up
    found = by_question(answers_from([read_writeup(p) for p in fashion], [], FASHION))
    assert found[1].where == "Assignment3_answers.docx, paragraph 8 (under 'Assignment Questions')"


def test_text_decides_and_the_name_only_when_the_text_cannot(tmp_path: Path, detect: Callable[[str], str]) -> None:
    folder = tmp_path / "52_Sneha"
    folder.mkdir()
    write_notebook(folder / "Assignment1_Boston.ipynb", BOSTON_CODE)
    write_notebook(folder / "Assignment2A_IMDB.ipynb", "from tensorflow.keras.datasets import imdb")
    write_notebook(folder / "Assignment3_FashionMNIST.ipynb", FASHION_CODE)
    write_journal(folder / "Assignment1_theory.docx")  # named for 1, but its text is assignment 3's journal
    # 2A and 3B share their questions: answers naming neither dataset nor number go by the file name
    plain = (HERE / "fashion_answers.md").read_text(encoding="utf-8").replace("Fashion MNIST", "the dataset")
    plain = plain.replace("Assignment 3B", "Answers")
    (folder / "Assignment3_answers.txt").write_text(plain, encoding="utf-8")
    write_scan(folder / "Assignment1_scan.pdf")  # unreadable: by name
    assert detect(plain) == ""
    names = {
        e: [p.name for p in find_writeups(folder, folder / nb, e, detect)]
        for e, nb in [
            ("boston", "Assignment1_Boston.ipynb"),
            ("imdb", "Assignment2A_IMDB.ipynb"),
            ("fashion", "Assignment3_FashionMNIST.ipynb"),
        ]
    }
    assert names == {
        "boston": ["Assignment1_scan.pdf"],
        "imdb": [],
        "fashion": ["Assignment1_theory.docx", "Assignment3_answers.txt"],
    }


def test_subject_word_of_the_notebook_name(tmp_path: Path, detect: Callable[[str], str]) -> None:
    """Without assignment numbers, a word only this notebook's name has ties them; the student's name does not."""
    folder = tmp_path / "7_Om"
    folder.mkdir()
    write_notebook(folder / "Om_fashion_cnn.ipynb", FASHION_CODE)
    write_notebook(folder / "Om_imdb.ipynb", "from tensorflow.keras.datasets import imdb")
    plain = (HERE / "fashion_answers.md").read_text(encoding="utf-8").replace("Fashion MNIST", "the dataset")
    (folder / "cnn_answers.md").write_text(plain.replace("Assignment 3B", "Answers"), encoding="utf-8")
    (folder / "Om_notes.md").write_text(plain.replace("Assignment 3B", "Answers"), encoding="utf-8")
    assert [p.name for p in find_writeups(folder, folder / "Om_fashion_cnn.ipynb", "fashion", detect)] == [
        "cnn_answers.md"
    ]
    assert find_writeups(folder, folder / "Om_imdb.ipynb", "imdb", detect) == []


def test_write_up_inside_the_zip(tmp_path: Path, detect: Callable[[str], str]) -> None:
    folder = tmp_path / "9_Kiran"
    folder.mkdir()
    write_notebook(folder / "Assignment3_FashionMNIST.ipynb", FASHION_CODE)
    with zipfile.ZipFile(folder / "handin.zip", "w") as zf:
        zf.write(HERE / "fashion_answers.md", "Assignment3/fashion_answers.md")
        zf.write(HERE / "requirements.txt", "Assignment3/requirements.txt")
        zf.writestr("__MACOSX/Assignment3/._fashion_answers.md", b"\0\5\26\7")
    with zipfile.ZipFile(folder / "unsafe.zip", "w") as zf:
        zf.write(HERE / "fashion_answers.md", "../fashion_answers.md")
    found = find_writeups(folder, folder / "Assignment3_FashionMNIST.ipynb", "fashion", detect)
    assert found == [folder / "handin.zip!Assignment3" / "fashion_answers.md"]
    text = read_writeup(found[0])
    assert text.name == "handin.zip!Assignment3/fashion_answers.md"
    first = answers_from([text], [], FASHION)[0]
    assert first.where == (
        "handin.zip!Assignment3/fashion_answers.md, line 6 (under 'Q1. What is Binary Classification?')"
    )


def test_nothing_beside_the_notebook(tmp_path: Path, detect: Callable[[str], str]) -> None:
    folder = tmp_path / "3_Broken"
    folder.mkdir()
    write_notebook(folder / "Assignment3_FashionMNIST.ipynb", FASHION_CODE)
    assert find_writeups(folder, folder / "Assignment3_FashionMNIST.ipynb", "fashion", detect) == []
    assert find_writeups(tmp_path / "absent", None, "fashion", detect) == []


def test_write_up_text_travels_as_json(tmp_path: Path) -> None:
    text = read_writeup(write_journal(tmp_path / "answers.docx"))
    again = WriteupText.model_validate_json(text.model_dump_json())
    assert again == text and answers_from([again], [], FASHION) == answers_from([text], [], FASHION)


def test_questions_are_the_rubrics() -> None:
    assert isinstance(FASHION[0], Question)
    assert FASHION[0].text == "What is Binary Classification?" and BOSTON[4].text.startswith("Write Down Application")


@pytest.mark.parametrize(
    ("member", "unsafe"),
    [
        ("../x.md", True),
        ("a/../b.md", True),
        ("/etc/x.md", True),
        ("\\x.md", True),
        ("C:x.md", True),
        ("a\\..\\b.md", True),
        ("ok/x.md", False),
        ("x..y.md", False),
    ],
)
def test_archive_safety_rule_is_one_rule(member: str, unsafe: bool) -> None:
    from graders import submissions

    assert submissions.unsafe_member(member) is unsafe
    assert writeups_find.unsafe_member is submissions.unsafe_member  # write-ups apply intake's rule, not a copy
