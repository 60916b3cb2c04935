"""The docstring examples run, on the embedded model where they need one (the API reference shows
them, so a failing example is a bug in the docs). Only examples that would download a model are
marked ``+SKIP``."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest
import torch

import decoding_lessons as dl

MODULES = sorted(
    name for _, name, _ in pkgutil.walk_packages(dl.__path__, prefix="decoding_lessons.") if not name.endswith("__main__")
)


@pytest.fixture(scope="module")
def namespace(lm):
    """What the examples may use without defining it: the embedded model and a captured step."""
    cap = dl.LogitCapture(lm)
    public = {name: getattr(dl, name) for name in dl.__all__}
    return {**public, "lm": lm, "cap": cap, "step": cap("The sky is"), "tokenizer": lm.tokenizer, "tok": lm.tokenizer, "torch": torch, "dl": dl}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, namespace):
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, module.__name__, globs={**vars(module), **namespace}):
        runner.run(test, out=report.append)
    assert not report, "".join(report)


def test_the_examples_mostly_run_rather_than_skip():
    """Counting ">>>" lines: a +SKIP is for a download, not for an example that merely needs the model."""
    total = skipped = 0
    for name in MODULES:
        for test in doctest.DocTestFinder(exclude_empty=True).find(importlib.import_module(name), name):
            for example in test.examples:
                total += 1
                skipped += bool(example.options.get(doctest.SKIP))
    assert total >= 50 and skipped <= total // 2, (skipped, total)
