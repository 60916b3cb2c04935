"""Glue between a lesson notebook and the site: one call at the top of every lesson.

>>> lm, cap = lesson_setup()      # doctest: +SKIP

It loads the model the build chose (``MODEL=`` / ``DEVICE=`` through the environment), routes
``fig.show()`` through the site renderer, seeds every random generator, and shows which model,
device, dtype, torch and transformers built the page.
"""

from __future__ import annotations

import html
import random

import numpy as np
import torch

from .capture import LogitCapture
from .loading import LanguageModel, load_model
from .plotting.theme import use_site_renderer

SEED = 0


def seed_everything(seed: int = SEED) -> None:
    """Seed Python, NumPy and torch, so sampling cells give the same draws on every build."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_info_html(lm: LanguageModel) -> str:
    """An HTML note naming the model, device, dtype and library versions that built the page."""
    info = lm.build_info()
    items = "".join(f"<li><b>{html.escape(k)}</b>: <code>{html.escape(v)}</code></li>" for k, v in info.items())
    return f'<div class="dl-build-info"><p>This page was executed with:</p><ul>{items}</ul></div>'


def lesson_setup(show_info: bool = True) -> tuple[LanguageModel, LogitCapture]:
    """Load the build's model, use the site renderer, seed everything; return ``(lm, capture)``."""
    use_site_renderer()
    seed_everything()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    lm = load_model()
    if show_info:
        from IPython.display import HTML, display

        display(HTML(build_info_html(lm)))
    return lm, LogitCapture(lm)
