"""The retired generation modes, said once: the package's table agrees with the installed
transformers (the Hub repositories, the modes), every implementation it names exists, and each
lesson of a retired mode shows the table's note rather than a sentence of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers.generation.configuration_utils import GenerationMode
from transformers.generation.utils import GENERATION_MODES_MAPPING

import decoding_lessons as dl
from decoding_lessons.retired import RETIRED

LESSONS = Path(__file__).resolve().parent.parent / "docs" / "lessons"


@pytest.mark.parametrize("name", sorted(RETIRED))
def test_the_table_agrees_with_transformers(name):
    mode = RETIRED[name]
    assert GENERATION_MODES_MAPPING[GenerationMode[mode.mode]] == mode.repo
    assert callable(getattr(dl, mode.function))
    assert mode.removed_in == {"4.55": "4.56", "4.56": "4.57"}[mode.last_in_core]
    note = dl.retired_note(name)
    assert mode.repo in note and "trust_remote_code=True" in note and f"up to transformers {mode.last_in_core}" in note


def test_every_mode_transformers_sends_to_the_hub_is_in_the_table():
    hub = {m.name for m, target in GENERATION_MODES_MAPPING.items() if "/" in target}
    assert hub == {m.mode for m in RETIRED.values()}


@pytest.mark.parametrize("name", sorted(RETIRED))
def test_its_lesson_shows_the_note_and_no_release_of_its_own(name):
    sources = [p for p in LESSONS.glob("*.py") if f"dl.{name}(" in p.read_text()]
    own = [p for p in sources if f'dl.retired_note("{name}")' in p.read_text()]
    assert len(own) == 1, f"one lesson should show dl.retired_note({name!r}): {own}"
    text = own[0].read_text()
    assert "until 4.5" not in text and "since then it lives" not in text, own[0].name


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match=r"`function` has to be one of \[.*'contrastive_search'.*\], but is 'greedy'"):
        dl.retired_note("greedy")
