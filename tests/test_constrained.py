"""Constrained beam search against transformers 4.55.4's own outputs, its record (banks, forced
candidates), the ported constraint classes, and bad input.

transformers 5 no longer runs ``force_words_ids``/``constraints``; the fixture
``tests/reference/constrained_4_55_4.json`` was recorded with 4.55.4 itself on the embedded model, by
``tests/reference/make_constrained_455.py`` (the recipe for the 4.55 venv is in
``make_reference_455.py``'s docstring). Every case must agree: the same sequences, and
``sequences_scores`` within 1e-4 (measured: 0.0 in all 23).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import decoding_lessons as dl
from decoding_lessons.search import constrained as C
from test_search_reference import sha256

REFERENCE = Path(__file__).resolve().parent / "reference" / "constrained_4_55_4.json"
REF = json.loads(REFERENCE.read_text())
CASES = {c["name"]: c for c in REF["cases"]}
SCORE_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def ref_lm(lm):
    recorded = REF["model"]
    weights = Path(lm.model.name_or_path) / "model.safetensors"
    assert Path(lm.model.name_or_path).name == recorded["dir_name"] and sha256(weights) == recorded["safetensors_sha256"], (
        f"{REFERENCE.name} was recorded on other weights: regenerate it with tests/reference/make_constrained_455.py"
    )
    assert REF["transformers_version"] == "4.55.4"
    return lm


def run(lm, case, **changes):
    kw = dict(case["generate_kwargs"])
    ret = kw.pop("num_return_sequences", 1)
    by_words = case["passed_as"] == "constraints"
    args = dict(
        constraints=case["words"] if by_words else None, force_words_ids=None if by_words else case["token_ids"],
        num_beams=case["num_beams"], max_new_tokens=case["max_new_tokens"], num_return_sequences=ret, **kw,
    )
    args.update(changes)
    return dl.constrained_beam_search(lm, REF["prompts"][case["prompt"]]["ids"], **args)


def test_words_and_prompts_encode_to_the_recorded_ids(ref_lm):
    tok = ref_lm.tokenizer
    for entry in REF["prompts"].values():
        assert tok(entry["text"]).input_ids == entry["ids"]
    for case in REF["cases"]:
        for words, ids in zip(case["words"], case["token_ids"]):
            encode = lambda w: tok(w, add_special_tokens=False).input_ids  # noqa: E731
            assert ([encode(w) for w in words] if isinstance(words, list) else encode(words)) == ids, case["name"]


@pytest.mark.parametrize("name", list(CASES))
def test_equals_transformers_4_55(ref_lm, name):
    case = CASES[name]
    r = run(ref_lm, case)
    assert r.sequences.tolist() == case["sequences"]
    diff = float((r.sequences_scores - torch.tensor(case["sequences_scores"])).abs().max())
    assert diff <= SCORE_TOLERANCE, diff
    assert r.forward_passes == r.num_steps == case["steps"]  # one pass per step, all beams together


def test_the_fixture_covers_what_the_issue_asks(ref_lm):
    kinds = {kind for c in REF["cases"] for kind in (("disjunctive" if isinstance(w, list) else "phrasal") for w in c["words"])}
    assert kinds == {"phrasal", "disjunctive"}
    assert {c["passed_as"] for c in REF["cases"]} == {"force_words_ids", "constraints"}
    short = run(ref_lm, CASES["capital_too_short"])  # the length limit comes before the constraints are met
    assert short.returned[0].constraints_met is False
    assert any(len(ids) > 1 for c in REF["cases"] for ids in c["token_ids"] if not isinstance(ids[0], list))  # multi-token phrases
    ended = run(ref_lm, CASES["chat_capital_paris"])  # EOS ends a hypothesis once the constraints are met
    assert ended.returned[0].eos and ended.returned[0].constraints_met


def test_4_55s_shared_token_list_is_what_makes_two_cases_equal(ref_lm, monkeypatch):
    """4.55's ``DisjunctiveConstraint.copy(stateful=True)`` shares its token list with the original.
    The port keeps that; copying the list instead changes the two recorded cases in which one beam
    advances to several branches of a disjunctive trie: the fixture depends on the quirk."""
    original = C.DisjunctiveConstraint.copy

    def real_copy(self, stateful=False):
        new = original(self, stateful)
        if stateful:
            new.current_seq = list(self.current_seq)
        return new

    monkeypatch.setattr(C.DisjunctiveConstraint, "copy", real_copy)
    for name in ("story_one_of_w_words", "sky_objects_breeze_unicorns"):
        assert run(ref_lm, CASES[name]).sequences.tolist() != CASES[name]["sequences"], name


def test_without_banks_it_is_another_search(ref_lm, monkeypatch):
    monkeypatch.setattr(C.ConstraintState, "bank", lambda self: 0)
    assert run(ref_lm, CASES["sky_purple_clouds"]).sequences.tolist() != CASES["sky_purple_clouds"]["sequences"]


def test_the_record_banks_and_forced_candidates(ref_lm):
    case = CASES["capital_eiffel_tower"]
    r = run(ref_lm, case)
    phrase = case["token_ids"][0]
    assert r.settings["max_bank"] == len(phrase) and r.settings["constraints"] == [phrase]
    assert r.returned[0].constraints_met and r.texts[0].replace("␣", " ").count(" Eiffel Tower") >= 1
    kept = [c for c in r.candidates if c.next_slot is not None]  # chosen as a beam (the last ones then finished)
    assert len(kept) == case["num_beams"] * r.num_steps
    for c in kept:  # a phrasal constraint's bank is the replayed state's (no disjunctive sharing)
        state = C.ConstraintState([C.PhrasalConstraint(phrase)])
        state.reset(r.prompt_ids + [r.candidates[i].token_id for i in r.path(c.id)])
        assert c.bank == state.bank()
    forced = [c for c in r.candidates if c.forced]
    assert forced and all(c.token_id in phrase for c in forced)
    assert any(c.status == "kept" and c.bank == len(phrase) for c in forced)
    # the returned beam's path ends the phrase with a bank that grew one token at a time
    banks = [r.candidates[i].bank for i in r.path(r.returned[0].node)]
    assert banks[-1] == len(phrase) and all(b - a in (0, 1) or b == 0 for a, b in zip(banks, banks[1:]))


def test_a_word_in_the_prompt_is_met_from_the_start(ref_lm):
    r = run(ref_lm, CASES["capital_in_prompt"])
    assert all(c.bank == r.settings["max_bank"] for c in r.candidates if c.status == "kept")
    assert not any(c.forced for c in r.candidates)


def test_the_constraint_classes():
    p = C.PhrasalConstraint([3, 4, 5])
    assert [p.advance(), p.update(3), p.advance(), p.update(9)] == [3, (True, False, False), 4, (False, False, True)]
    d = C.DisjunctiveConstraint([[1, 2], [1, 3, 4], [7]])
    assert sorted(d.advance()) == [1, 7] and d.seqlen == 3
    state = C.ConstraintState([C.PhrasalConstraint([3, 4]), C.DisjunctiveConstraint([[1, 2], [7]])])
    state.reset([3, 9, 3, 4, 1])  # broken off, started again, met; then the disjunctive one half way
    assert (len(state.complete_constraints), state.bank(), state.completed, state.advance()) == (1, 3, False, [2])
    state.add(2)
    assert state.completed and state.bank() == 4


def test_bad_input_names_the_parameter(ref_lm):
    lm = ref_lm
    with pytest.raises(ValueError, match=r"`num_beams` has to be an integer >= 2, but is 1"):
        dl.constrained_beam_search(lm, "The sky is", [" blue"], num_beams=1)
    with pytest.raises(ValueError, match=r"encode to at least one token, but '' encodes to none"):
        dl.constrained_beam_search(lm, "The sky is", [""])
    with pytest.raises(ValueError, match=r"may not repeat or be the start of one another"):
        dl.constrained_beam_search(lm, "The sky is", [[" wizard", " wizardry"]])
    vocab = lm.model.get_output_embeddings().weight.shape[0]
    with pytest.raises(ValueError, match=rf"token ids in the \[0, {vocab}\) interval, but hold \[{vocab}\]"):
        dl.constrained_beam_search(lm, "The sky is", force_words_ids=[[vocab]])
    with pytest.raises(ValueError, match=r"needs at least one constraint"):
        dl.constrained_beam_search(lm, "The sky is")
    with pytest.raises(ValueError, match=r"`force_words_ids` has to be a non-empty list"):
        dl.constrained_beam_search(lm, "The sky is", force_words_ids=[[]])
    with pytest.raises(ValueError, match=r"`force_words_ids`: a phrasal constraint has to be a non-empty list of token ids"):
        dl.constrained_beam_search(lm, "The sky is", force_words_ids=[[-1, 2]])
    with pytest.raises(ValueError, match=r"`constraints` has to be a list"):
        dl.constrained_beam_search(lm, "The sky is", " blue")
    with pytest.raises(ValueError, match=r"`num_return_sequences` has to be an integer in \[1, 4\], but is 5"):
        dl.constrained_beam_search(lm, "The sky is", [" blue"], num_return_sequences=5)


def test_the_tree_is_coloured_by_bank(ref_lm):
    r = run(ref_lm, CASES["sky_purple_clouds"])
    fig = dl.beam_tree(r, ref_lm)
    legend = [t.name for t in fig.data if t.showlegend is not False and t.name]
    assert "all constraints met" in legend and "bank 0 of 2" in legend
    assert "Constrained beam search" in fig.layout.title.text and "purple" in fig.layout.title.text
    forced_hover = [h for t in fig.data if t.hovertext for h in t.hovertext if "advances a constraint" in h]
    assert len(forced_hover) == sum(c.forced for c in r.candidates)
