"""The reference pages: the glossary (docs/glossary.md) and the knobs cheat-sheet
(docs/lessons/23_knobs_cheat_sheet.py). Cheap checks on their sources, no site build: the anchors
the lessons link to exist once each, every link resolves, and the cheat-sheet's facts are checked
by its hidden cells (and, here, its data cell against the installed transformers and the package)."""

from __future__ import annotations

import posixpath
import re
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

import jupytext
import pytest
from transformers import GenerationConfig

import decoding_lessons as dl
from conftest import ROOT

DOCS = ROOT / "docs"
GLOSSARY = DOCS / "glossary.md"
CHEAT_SHEET = DOCS / "lessons" / "23_knobs_cheat_sheet.py"

# The anchors the lessons link to (#logit, #kv-cache, ...): renaming one breaks their links.
REQUIRED_ANCHORS = [
    "token", "tokenizer", "vocabulary", "context", "prompt", "forward-pass", "kv-cache", "logit", "score",
    "probability", "log-probability", "surprisal", "entropy", "perplexity", "greedy", "sampling", "seed",
    "temperature", "truncation", "kept-set", "top-k", "nucleus", "min-p", "typical-p", "epsilon-eta", "top-h",
    "logits-processor", "processor-order", "generation-config", "total-variation", "penalty", "repetition-penalty",
    "frequency-presence-penalty", "n-gram", "hypothesis", "beam", "beam-width", "length-penalty", "early-stopping",
    "eos", "diversity-penalty", "degeneration-penalty", "draft-model", "acceptance", "constraint", "grammar",
    "logit-bias", "watermark", "z-score", "premature-layer",
]

ANCHOR_RE = re.compile(r"^#{1,6} .*\{#([^}\s]+)\}\s*$", re.M)
LINK_RE = re.compile(r"\]\(([^)\s]+)\)")


def slugify(heading: str) -> str:
    """Python-Markdown's toc slug (the ids MkDocs and mkdocs-jupyter give headings)."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = unicodedata.normalize("NFKD", text)
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors_of(path: Path) -> set[str]:
    """The ids a documentation file's headings get: ``{#id}`` where given, else the slug."""
    if path.suffix == ".py":
        text = "\n".join(c.source for c in jupytext.reads(path.read_text(), fmt="py:percent").cells if c.cell_type == "markdown")
    else:
        text = path.read_text()
    out = set(ANCHOR_RE.findall(text))
    for line in re.findall(r"^#{1,6} (.+)$", text, re.M):
        if "{#" not in line:
            out.add(slugify(line))
    return out


def internal_links(text: str) -> list[str]:
    return [href for href in LINK_RE.findall(text) if not urlsplit(href).scheme and not href.startswith("mailto:")]


def check_links(page: Path, text: str) -> list[str]:
    """The links in ``text`` (written on ``page``) whose file or anchor does not exist."""
    broken = []
    for href in internal_links(text):
        parts = urlsplit(href)
        target = page if not parts.path else DOCS / posixpath.normpath(posixpath.join(page.parent.relative_to(DOCS).as_posix(), parts.path))
        if not target.is_file():
            broken.append(f"{href}: no file {target.relative_to(ROOT)}")
        elif parts.fragment and target.suffix in (".md", ".py") and parts.fragment not in anchors_of(target):
            broken.append(f"{href}: no anchor #{parts.fragment} in {target.relative_to(ROOT)}")
    return broken


def cheat_sheet_cells():
    return jupytext.reads(CHEAT_SHEET.read_text(), fmt="py:percent").cells


def hidden(cell) -> bool:
    return "hide-input" in cell.metadata.get("tags", [])


# ------------------------------------------------------------------------------------------------
# The glossary
# ------------------------------------------------------------------------------------------------


def test_the_glossary_has_every_anchor_the_lessons_need_once():
    ids = ANCHOR_RE.findall(GLOSSARY.read_text())
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, duplicates
    missing = [a for a in REQUIRED_ANCHORS if a not in ids]
    assert not missing, missing
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) for i in ids), ids


def test_every_glossary_term_is_defined_and_links_to_a_lesson():
    text = GLOSSARY.read_text()
    entries = re.split(r"^### ", text, flags=re.M)[1:]
    assert len(entries) == len(ANCHOR_RE.findall(text))
    for entry in entries:
        heading, _, body = entry.partition("\n")
        assert body.strip(), heading
        assert re.search(r"\]\(lessons/\d\d_\w+\.py(#[\w-]+)?\)", body), f"{heading}: no link to the lesson that teaches it"


def test_every_link_in_the_glossary_resolves():
    assert check_links(GLOSSARY, GLOSSARY.read_text()) == []


def test_the_link_check_catches_a_broken_link():
    assert check_links(GLOSSARY, "[x](lessons/99_missing.py) [y](lessons/05_top_p.py#no-such-heading) [z](#nowhere)") == [
        "lessons/99_missing.py: no file docs/lessons/99_missing.py",
        "lessons/05_top_p.py#no-such-heading: no anchor #no-such-heading in docs/lessons/05_top_p.py",
        "#nowhere: no anchor #nowhere in docs/glossary.md",
    ]


def test_slugify_gives_python_markdowns_ids():
    assert slugify("Which tokens the penalties count") == "which-tokens-the-penalties-count"
    assert slugify("The hidden `top_k=50`") == "the-hidden-top_k50"
    assert slugify("transformers' defaults, read from the library") == "transformers-defaults-read-from-the-library"


# ------------------------------------------------------------------------------------------------
# The cheat-sheet
# ------------------------------------------------------------------------------------------------


def test_every_link_in_the_cheat_sheet_resolves():
    text = "\n".join(c.source for c in cheat_sheet_cells())  # markdown cells and the Markdown the code cells write
    broken = check_links(CHEAT_SHEET, text)
    assert broken == [], broken
    assert "../glossary.md" in text


def test_the_cheat_sheet_checks_its_facts_in_hidden_cells():
    cells = cheat_sheet_cells()
    checks = "\n".join(c.source for c in cells if c.cell_type == "code" and hidden(c))
    for needle in (
        "GenerationConfig._get_default_generation_params()",  # transformers' defaults
        "inspect.getsource(GenerationMixin._get_logits_processor)",  # transformers' order, from its source
        "dl.HF_ORDER",
        "dl.LLAMA_CPP_ORDER",
        "dl.reference_generate(",  # the order against generate() itself
        "refuses(lambda: lp.TopPLogitsWarper(1.01))",  # the ranges, against the classes
        "lm.model.generation_config",  # the model's own values are read, not written down
    ):
        assert needle in checks, needle
    assert checks.count("assert ") >= 30
    # the reader's code stays short: the setup, one cell reading the defaults, one chart
    visible = [c for c in cells if c.cell_type == "code" and not hidden(c)]
    assert len(visible) == 3, [c.source[:60] for c in visible]
    assert sum(len([line for line in c.source.splitlines() if line.strip()]) for c in visible) <= 25


@pytest.fixture(scope="module")
def data():
    """The cheat-sheet's data cell (the first hidden cell: imports and tables, no model), executed."""
    cell = next(c for c in cheat_sheet_cells() if c.cell_type == "code" and hidden(c))
    namespace = {"dl": dl}
    exec(compile(cell.source, str(CHEAT_SHEET), "exec"), namespace)
    return namespace


def test_the_cheat_sheets_transformers_defaults_are_the_installed_ones(data):
    library = GenerationConfig._get_default_generation_params()
    for key, value in data["TRANSFORMERS_DEFAULTS"].items():
        assert library.get(key) == value, (key, library.get(key), value)
        assert getattr(GenerationConfig(), key) is None, key


def test_the_cheat_sheets_orders_agree_with_the_package(data):
    order = data["TRANSFORMERS_ORDER"]
    assert [n for n in dl.HF_ORDER if n in order] == order
    chain = [data["LLAMA_CPP_AS_FIELDS"][s] for s in data["LLAMA_CPP_CHAIN"] if s in data["LLAMA_CPP_AS_FIELDS"]]
    assert [f for f in dl.LLAMA_CPP_ORDER if f in chain] == [f for f in chain if f in dl.LLAMA_CPP_ORDER]
    assert data["LLAMA_CPP_COMMIT"] in dl.LLAMA_CPP_VERSION


def test_the_cheat_sheets_llama_cpp_defaults_are_the_packages(data):
    package = dl.llama_cpp.LLAMA_CPP_DEFAULTS
    for key, value in data["LLAMA_CPP_VALUES"].items():
        got = package[key]
        assert (tuple(got) if isinstance(value, tuple) else got) == value, (key, got, value)
    assert list(package["samplers"]) == data["LLAMA_CPP_CHAIN"]


def test_the_cheat_sheets_tables_have_one_cell_per_column(data):
    assert {len(row) for row in data["NAMES"]} == {7}
    assert {len(row) for row in data["DEFAULTS"]} == {6}
    knobs = [row[0] for row in data["NAMES"]]
    assert len(knobs) == len(set(knobs))
    for knob in ("temperature", "top-k", "top-p", "min-p", "typical-p", "repetition penalty", "top-nσ", "XTC", "DRY",
                 "mirostat", "dynamic temperature", "seed", "max new tokens"):
        assert knob in knobs, knob


# ------------------------------------------------------------------------------------------------
# The lessons' links to the glossary
# ------------------------------------------------------------------------------------------------

LINKED_LESSONS = sorted(p for p in (DOCS / "lessons").glob("[0-9][0-9]_*.py") if 1 <= int(p.name[:2]) <= 21)
GLOSSARY_LINK_RE = re.compile(r"\]\((\.\./glossary\.md(?:#[^)\s]*)?)\)")


def markdown_text(path: Path) -> str:
    return "\n".join(c.source for c in jupytext.reads(path.read_text(), fmt="py:percent").cells if c.cell_type == "markdown")


def test_lessons_1_to_21_are_all_there():
    assert [int(p.name[:2]) for p in LINKED_LESSONS] == list(range(1, 22))


@pytest.mark.parametrize("lesson", LINKED_LESSONS, ids=lambda p: p.stem)
def test_the_lesson_links_to_the_glossary_and_every_glossary_link_resolves(lesson):
    links = GLOSSARY_LINK_RE.findall(markdown_text(lesson))
    assert any("#" in link for link in links), f"{lesson.name}: no link to a glossary term"
    # every glossary link anywhere in the notebook (also in Markdown that code cells write) resolves
    everywhere = [href for href in internal_links(lesson.read_text()) if href.split("#")[0] == "../glossary.md"]
    assert len(everywhere) >= len(links)
    broken = check_links(lesson, " ".join(f"[x]({href})" for href in everywhere))
    assert broken == [], broken


def test_lesson_1_points_to_the_glossary_and_the_glossary_to_the_cheat_sheet():
    """Lesson 01 links the glossary, which links the cheat-sheet (a lesson linking lesson 23 directly
    would break the strict throw-away builds of lessons 01–02, where lesson 23 is absent; the tests'
    projects carry the glossary's headings)."""
    text = markdown_text(DOCS / "lessons" / "01_logits_scores_tokens.py")
    assert "](../glossary.md)" in text and "23_knobs_cheat_sheet" not in text
    assert "](lessons/23_knobs_cheat_sheet.py)" in GLOSSARY.read_text()


def test_the_glossary_link_check_catches_a_missing_anchor():
    lesson = LINKED_LESSONS[0]
    assert check_links(lesson, "[a](../glossary.md#logit) [b](../glossary.md#no-such-term)") == [
        "../glossary.md#no-such-term: no anchor #no-such-term in docs/glossary.md"
    ]
