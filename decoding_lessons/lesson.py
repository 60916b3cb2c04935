"""Glue between a lesson notebook and the site: one call at the top of every lesson, and the few
helpers that turn numbers into a sentence or a table.

Examples:
    >>> lm, cap = lesson_setup()      # doctest: +SKIP

:func:`lesson_setup` loads the model the build chose (``MODEL=`` / ``DEVICE=`` / ``DTYPE=`` through
the environment), seeds every random generator, and shows which model, device, dtype, torch and
transformers ran the page. Only when the site build executes the lesson (it sets
``DECODING_LESSONS_SITE_BUILD=1``) does ``fig.show()`` go through the site renderer; anywhere else
(JupyterLab, classic Notebook, VS Code, Colab) Plotly keeps its own renderer, whose JSON mime bundle
those front ends draw.

What the lesson holds (the model, its capture, the renderer and so its chart count) is one
:class:`Lesson` object, :func:`current_lesson`; the benchmark reads its counts from there.
"""

from __future__ import annotations

import html
import os
import random
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .capture import LogitCapture
from .checks import check_int
from .loading import LanguageModel, load_model

SEED = 0
SITE_BUILD_ENV = "DECODING_LESSONS_SITE_BUILD"  # set by hooks/build.py for the kernels it starts


@dataclass
class Lesson:
    """What one lesson's kernel holds: the model, its capture, and (in the site build) the
    renderer that puts its figures into the page."""

    lm: LanguageModel
    cap: LogitCapture
    renderer: object | None = None

    def stats(self) -> dict:
        """Forward passes, distinct contexts and charts so far (the benchmark's counts)."""
        return {
            "forward_passes": self.cap.forward_passes,
            "distinct_contexts": self.cap.distinct_contexts,
            "charts": getattr(self.renderer, "charts", 0),
        }


_lesson: Lesson | None = None


def current_lesson() -> Lesson | None:
    """The :class:`Lesson` the last :func:`lesson_setup` made in this process, or ``None``."""
    return _lesson


def seed_everything(seed: int = SEED) -> None:
    """Seed Python, NumPy and torch, so sampling cells give the same draws on every build."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def library_output_to_build_log() -> None:
    """In the site build, send Python warnings and transformers' log messages to the kernel
    process's own stderr, which is the build log, instead of the cell's output, where they would
    be a red box on the page (a model chosen with ``MODEL=`` may warn about anything)."""
    import logging
    import sys
    import warnings

    log_stream = sys.__stderr__
    # ipykernel (>= 6) captures the process's file descriptor 2 and echoes what is written there
    # into the running cell's output; it keeps a copy of the real stderr's descriptor, which is
    # where the build log is
    original = getattr(sys.stderr, "_original_stdstream_copy", None)
    if isinstance(original, int):
        try:
            log_stream = os.fdopen(os.dup(original), "w", buffering=1, encoding="utf-8", errors="replace")
        except OSError:  # pragma: no cover - the copy was closed
            pass
    if log_stream is None:  # pragma: no cover - a kernel without a stderr
        return

    def to_log(message, category, filename, lineno, file=None, line=None):
        log_stream.write(warnings.formatwarning(message, category, filename, lineno, line))
        log_stream.flush()

    warnings.showwarning = to_log
    from transformers.utils import logging as hf_logging

    for handler in hf_logging.get_logger().handlers:  # the library's root logger, "transformers"
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(log_stream)


def build_info_html(lm: LanguageModel) -> str:
    """An HTML note naming the model, device, dtype and library versions that built the page."""
    info = lm.build_info()
    items = "".join(f"<li><b>{html.escape(k)}</b>: <code>{html.escape(v)}</code></li>" for k, v in info.items())
    return f'<div class="dl-build-info"><p>This page was executed with:</p><ul>{items}</ul></div>'


def lesson_setup(show_info: bool = True) -> tuple[LanguageModel, LogitCapture]:
    """Load the build's model, seed everything, show the build info; return ``(lm, capture)``.

    In the site build (``$DECODING_LESSONS_SITE_BUILD``), figures also go through the site renderer."""
    global _lesson
    renderer = None
    if os.environ.get(SITE_BUILD_ENV):
        from .plotting.theme import use_site_renderer

        renderer = use_site_renderer()
        library_output_to_build_log()
    seed_everything()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    lm = load_model()
    if show_info:
        from IPython.display import HTML, display

        display(HTML(build_info_html(lm)))
    cap = LogitCapture(lm)
    _lesson = Lesson(lm=lm, cap=cap, renderer=renderer)
    return lm, cap


def markdown_table(header: Sequence[str], rows: Sequence[Sequence], align: str | None = None) -> str:
    """A Markdown table: ``header`` names the columns, ``rows`` holds one sequence of cells per row.

    Cells are written with ``str()``; a ``|`` inside a cell is escaped and a line break becomes
    ``↵``, so no cell can break the table. ``align`` holds one letter per column, ``l``, ``r`` or
    ``c`` (default: every column left-aligned).

    Examples:
        >>> print(markdown_table(["token", "p"], [["`a|b`", "0.5"], ["c", 0.25]], align="lr"))
        | token | p |
        |---|---:|
        | `a\\|b` | 0.5 |
        | c | 0.25 |
    """
    header = list(header)
    align = align or "l" * len(header)
    if len(align) != len(header) or set(align) - set("lrc"):
        raise ValueError(f"`align` has to hold one of l, r, c per column ({len(header)}), but is {align!r}")
    rule = {"l": "---", "r": "---:", "c": ":---:"}

    def cell(value) -> str:
        text = str(value).replace("\r\n", "\n").strip("\n").replace("\n", " ↵ ")
        return text.replace("\\|", "|").replace("|", "\\|")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "|".join(rule[a] for a in align) + "|"]
    for number, row in enumerate(rows):
        row = list(row)
        if len(row) != len(header):
            raise ValueError(f"`rows[{number}]` has to hold {len(header)} cells, one per column, but holds {len(row)}")
        lines.append("| " + " | ".join(cell(c) for c in row) + " |")
    return "\n".join(lines)


def _check_text(name: str, text, what: str = "") -> None:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"`{name}`{what} has to be a non-empty string, but is {text!r}")


def exercise(question: str, answer: str, number: int | None = None) -> str:
    """Markdown for one predict-then-reveal question: the question, then its answer folded away in
    a ``<details>`` block the reader opens after making a guess.

    Both are Markdown (inline code, emphasis, ``$maths$``). Blank lines surround the answer inside
    ``<details>``, so the notebook's Markdown renderer (nbconvert's, on the site; Jupyter's own in a
    notebook) renders it as Markdown rather than passing it through as raw HTML. ``number``, when
    given, is written in bold before the question.

    Examples:
        >>> print(exercise("How many tokens does `top_k=5` keep?", "**5**, or more if tokens tie with the 5th.", number=1))
        **1.** How many tokens does `top_k=5` keep?
        <BLANKLINE>
        <details><summary>Answer</summary>
        <BLANKLINE>
        **5**, or more if tokens tie with the 5th.
        <BLANKLINE>
        </details>
    """
    _check_text("question", question)
    _check_text("answer", answer)
    if number is not None:
        check_int("number", number, 1)
    lead = f"**{number}.** " if number is not None else ""
    return f"{lead}{question.strip()}\n\n<details><summary>Answer</summary>\n\n{answer.strip()}\n\n</details>"


def exercises(items: Sequence[tuple[str, str]]) -> str:
    """Markdown for a lesson's exercises: one :func:`exercise` per ``(question, answer)`` pair in
    ``items``, numbered from 1, separated by blank lines.

    Examples:
        >>> text = exercises([("Is $p$ above 0.5?", "Yes."), ("How many tokens are kept?", "**3**.")])
        >>> text.count("<details>"), text.splitlines()[0], text.splitlines()[8]
        (2, '**1.** Is $p$ above 0.5?', '**2.** How many tokens are kept?')
    """
    pairs = list(items) if isinstance(items, Sequence) and not isinstance(items, (str, bytes)) else []
    if not pairs:
        raise ValueError(f"`items` has to be a non-empty sequence of (question, answer) pairs, but is {items!r}")
    blocks = []
    for number, item in enumerate(pairs, start=1):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(f"`items[{number - 1}]` has to be a (question, answer) pair, but is {item!r}")
        _check_text(f"items[{number - 1}][0]", item[0], " (the question)")
        _check_text(f"items[{number - 1}][1]", item[1], " (the answer)")
        blocks.append(exercise(item[0], item[1], number=number))
    return "\n\n".join(blocks)


__all__ = ["Lesson", "current_lesson", "exercise", "exercises", "lesson_setup", "markdown_table", "seed_everything"]
