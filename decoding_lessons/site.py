"""Glue between a lesson notebook and the site: one call at the top of every lesson.

Examples:
    >>> lm, cap = lesson_setup()      # doctest: +SKIP

It loads the model the build chose (``MODEL=`` / ``DEVICE=`` / ``DTYPE=`` through the environment),
seeds every random generator, and shows which model, device, dtype, torch and transformers ran the
page. Only when the site build executes the lesson (it sets ``DECODING_LESSONS_SITE_BUILD=1``) does
``fig.show()`` go through the site renderer; anywhere else (JupyterLab, classic Notebook, VS Code,
Colab) Plotly keeps its own renderer, whose JSON mime bundle those front ends draw.
"""

from __future__ import annotations

import atexit
import html
import json
import os
import random

import numpy as np
import torch

from .capture import LogitCapture
from .loading import LanguageModel, load_model
from .plotting.theme import use_site_renderer

SEED = 0
STATS_ENV = "DECODING_LESSONS_STATS_DIR"
SITE_BUILD_ENV = "DECODING_LESSONS_SITE_BUILD"  # set by hooks/build.py for the kernels it starts
_captures: list[LogitCapture] = []


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
    if os.environ.get(SITE_BUILD_ENV):
        use_site_renderer()
        library_output_to_build_log()
    seed_everything()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    lm = load_model()
    if show_info:
        from IPython.display import HTML, display

        display(HTML(build_info_html(lm)))
    cap = LogitCapture(lm)
    _captures.append(cap)
    if os.environ.get(STATS_ENV) and len(_captures) == 1:
        atexit.register(_write_stats, os.environ[STATS_ENV])
    return lm, cap


def _write_stats(directory: str) -> None:
    """For the benchmark: this kernel's forward passes, distinct contexts and charts, as JSON."""
    from .plotting import theme

    stats = {
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "forward_passes": sum(c.forward_passes for c in _captures),
        "distinct_contexts": sum(c.distinct_contexts for c in _captures),
        "charts": theme.charts_rendered,
    }
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, f"kernel-{os.getpid()}.json"), "w") as fh:
        json.dump(stats, fh)
