"""The controls that constrain the output (bad words, sequence bias, a grammar, the EOS ban, forced
EOS, the exponential length penalty, suppressed tokens): rows of the processor table, scores equal
to generate(output_scores=True) over whole generations, and bad input refused by name."""

from __future__ import annotations

import json
import re

import pytest
import torch

import decoding_lessons as dl
from decoding_lessons import processors as P
from decoding_lessons.constraints import ChoiceGrammar, shift
from decoding_lessons.plotting.constraints import mass_chart, shift_chart

PROMPT = "2 + 2 = "


@pytest.fixture(scope="module")
def ids(lm):
    """Token ids from the tokenizer (never written by hand): words and the EOS id."""
    tok = lm.tokenizer

    def one(text):
        return tok(text, add_special_tokens=False).input_ids

    return {"4": one("4"), " 4": one(" 4"), "the": one(" the"), "The answer": one(" The answer"),
            "eos": lm.model.generation_config.eos_token_id, "newline": one("\n")}


def trace_configs(ids, lm):
    eos = ids["eos"]
    grammar = dl.choice_grammar(lm, ['{"answer": 4}', '{"answer": 5}', '{"answer": "four"}'], PROMPT)
    sampling = dict(do_sample=True, temperature=0.9, top_k=40, top_p=0.95)
    return {
        "bias +": dl.DecodingConfig(sequence_bias={tuple(ids["the"]): 4.0}),
        "bias - (multi-token)": dl.DecodingConfig(sequence_bias=[[ids["4"], -3.0], [ids["The answer"], -2.0]]),
        "bad words": dl.DecodingConfig(bad_words_ids=[ids["4"], ids[" 4"], ids["The answer"]]),
        "min_new_tokens": dl.DecodingConfig(min_new_tokens=10, **sampling),
        "grammar": dl.DecodingConfig(prefix_allowed_tokens_fn=grammar),
        "grammar, sampled": dl.DecodingConfig(prefix_allowed_tokens_fn=grammar, do_sample=True, top_k=0, temperature=1.3),
        "forced eos": dl.DecodingConfig(forced_eos_token_id=eos),
        "decay": dl.DecodingConfig(exponential_decay_length_penalty=(2, 1.6), **sampling),
        "suppress newline + eos": dl.DecodingConfig(suppress_tokens=ids["newline"] + [eos], **sampling),
        "controls + watermark": dl.DecodingConfig(
            sequence_bias={tuple(ids["the"]): 1.5}, bad_words_ids=[ids["4"]], min_new_tokens=3, forced_eos_token_id=eos,
            watermarking_config={"bias": 2.0, "context_width": 2}, **sampling,
        ),
        "everything": dl.DecodingConfig(
            sequence_bias={tuple(ids["the"]): 1.5}, repetition_penalty=1.2, no_repeat_ngram_size=3,
            bad_words_ids=[ids["4"]], min_new_tokens=3, forced_eos_token_id=eos,
            exponential_decay_length_penalty=(4, 1.3), suppress_tokens=ids["newline"], min_p=0.05, **sampling,
        ),
    }


CASES = ["bias +", "bias - (multi-token)", "bad words", "min_new_tokens", "grammar", "grammar, sampled", "forced eos",
         "decay", "suppress newline + eos", "controls + watermark", "everything"]


@pytest.mark.parametrize("name", CASES)
def test_trace_equals_generate(lm, ids, name):
    cfg = trace_configs(ids, lm)[name]
    seed = 3 if cfg.do_sample else 0
    out = dl.reference_generate(lm, PROMPT, cfg, max_new_tokens=10, seed=seed, scores=True)
    trace = dl.generate_with_trace(lm, PROMPT, cfg, max_new_tokens=10, seed=seed, keep_scores=True)
    assert torch.equal(trace.sequence, out.sequences.cpu()), (name, trace.text)
    assert len(trace.steps) == len(out.scores)
    for s, scores in zip(trace.steps, out.scores):
        assert torch.equal(s.scores, scores[0].cpu()), name


def test_each_step_of_a_generation_equals_the_scores_at_its_position(lm, cap, ids):
    """The scoring of one step (what NextToken.scores runs), told the step's position (prompt length,
    max_new_tokens), gives generate()'s score at every step of a generation, from generate()'s own
    logits (a later step's logits come through the KV cache, which a fresh capture does not reproduce
    bit for bit); the first step from a capture too."""
    cfg = trace_configs(ids, lm)["everything"].replace(do_sample=False)
    out = dl.reference_generate(lm, PROMPT, cfg, max_new_tokens=8, scores=True, logits=True)
    prompt_length = lm.encode(PROMPT).shape[1]
    assert len(out.scores) == 8
    for n, (logits, scores) in enumerate(zip(out.logits, out.scores)):
        context = out.sequences[:, : prompt_length + n]
        ours = dl.apply_processors(logits[0], context, cfg, lm.model.generation_config, prompt_length=prompt_length, max_new_tokens=8)
        assert torch.equal(ours, scores[0]), n
    step = cap(PROMPT)
    assert torch.equal(step.scores(cfg, max_new_tokens=8), out.scores[0][0])
    assert bool(out.scores[-1][0].isfinite().sum() == 1)  # the last step: forced EOS only


def test_the_controls_change_what_they_say(lm, cap, ids):
    step = cap(PROMPT)
    eos = ids["eos"]
    assert step.scores(dl.DecodingConfig(min_new_tokens=1))[eos].isneginf()
    assert not step.scores(dl.DecodingConfig(min_new_tokens=1), prompt_length=step.input_ids.shape[1] - 1)[eos].isneginf()
    last = step.scores(dl.DecodingConfig(forced_eos_token_id=eos), max_new_tokens=1)
    assert int(last.isfinite().sum()) == 1 and float(last[eos]) == 0.0
    assert torch.equal(step.scores(dl.DecodingConfig(forced_eos_token_id=eos), max_new_tokens=2), step.logits)
    biased = step.scores(dl.DecodingConfig(sequence_bias={tuple(ids["the"]): 2.5}))
    assert bool(biased[ids["the"][0]] == step.logits[ids["the"][0]] + 2.5)
    s = shift(step, dl.DecodingConfig(suppress_tokens=ids["4"]))
    assert s.removed == pytest.approx(float(step.probs()[ids["4"][0]]), abs=1e-6) and s.kept_after == s.kept_before - 1


def test_processor_list_equals_generates(lm, ids):
    grammar = dl.choice_grammar(lm, ["yes", "no"], PROMPT)
    cfg = trace_configs(ids, lm)["everything"].replace(prefix_allowed_tokens_fn=grammar)
    ours = [type(p) for p in dl.logits_processors(cfg, lm.model.generation_config, prompt_length=6, max_length=20)]
    gc = cfg.to_generation_config(lm.model.generation_config)
    gc.max_length, gc.num_beams, gc.num_return_sequences = 20, 1, 1  # what generate() fills in before building
    gc._eos_token_tensor = torch.tensor([ids["eos"]])
    theirs = lm.model._get_logits_processor(generation_config=gc, input_ids_seq_length=6, prefix_allowed_tokens_fn=grammar,
                                            logits_processor=None, device="cpu")
    assert ours == [type(p) for p in theirs]
    order = [P.PROCESSORS[f].cls for f in P.GENERATE_ORDER]
    assert ours == [c for c in order if c in ours]  # the table's rows are generate()'s order


def test_the_table_rows_of_the_controls():
    assert P.GENERATE_ORDER == tuple(r.field for r in P.ROWS)
    assert P.GENERATE_ORDER[:3] == ("sequence_bias", "repetition_penalty", "no_repeat_ngram_size")
    assert P.CONTROL_ORDER == ("sequence_bias", "bad_words_ids", "min_new_tokens", "prefix_allowed_tokens_fn",
                               "forced_eos_token_id", "exponential_decay_length_penalty", "suppress_tokens")
    assert P.FINAL_ORDER == P.GENERATE_ORDER[-1:] == ("watermarking_config",)  # after the warpers, always
    for name in P.CONTROL_ORDER + P.FINAL_ORDER:
        row = P.PROCESSORS[name]
        assert row.build(row.off) is None and not row.knob
    context = P.BuildContext(eos_token_ids=(2,), prompt_length=3, max_length=10, vocab_size=100)
    values = {"sequence_bias": {(5,): 1.0}, "bad_words_ids": [[5]], "min_new_tokens": 2, "prefix_allowed_tokens_fn": lambda b, x: [1],
              "forced_eos_token_id": 2, "exponential_decay_length_penalty": (1, 1.5), "suppress_tokens": [5],
              "watermarking_config": {"bias": 1.0}}
    for name, value in values.items():
        row = P.PROCESSORS[name]
        assert type(row.build(row.check(value), context=context)) is row.cls, name
    table = {r["field"]: r for r in json.loads(P.table_json())["processors"]}
    assert table["prefix_allowed_tokens_fn"]["browser"] is False and table["suppress_tokens"]["browser"] is True
    assert table["watermarking_config"]["browser"] is False and table["watermarking_config"]["sampling_only"] is False
    assert table["forced_eos_token_id"]["needs"] == ["max_length"] and table["temperature"]["needs"] == []
    assert "prompt_length" in table["min_new_tokens"]["needs"] and table["sequence_bias"]["generate_order"] == 0
    assert table["sequence_bias"]["hf_order"] is None


def test_bad_input_names_the_parameter_and_its_range():
    cases = {
        "sequence_bias": [{}, {(1,): "x"}, {(-1,): 1.0}, {(1,): float("inf")}, {(1,): float("nan")}, [[[1], 1.0, 2]], "abc"],
        "bad_words_ids": [[], [[]], [[-1]], [1, 2], [[1.5]], "bad"],
        "min_new_tokens": [-1, 1.5, True],
        "prefix_allowed_tokens_fn": [3, "fn"],
        "forced_eos_token_id": [-1, [], [1.5], True],
        "exponential_decay_length_penalty": [(1,), (-1, 1.5), (1, 0.0), (1, -2.0), (1, float("inf")), (1.5, 2.0), 3],
        "suppress_tokens": [[], [-3], 5, [True]],
        "watermarking_config": [2.0, "lefthash", {"delta": 1.0}],
    }
    allowed = {"sequence_bias": "[-inf, inf)", "bad_words_ids": "token ids (integers >= 0)", "min_new_tokens": "an integer >= 0",
               "prefix_allowed_tokens_fn": "a function (batch_id, input_ids)", "forced_eos_token_id": "an integer >= 0",
               "exponential_decay_length_penalty": "(0, inf)", "suppress_tokens": "token ids (integers >= 0)",
               "watermarking_config": "greenlist_ratio"}
    for name, values in cases.items():
        for value in values:
            with pytest.raises(ValueError, match=f"^`{name}` has to be") as error:
                dl.DecodingConfig(**{name: value})
            assert allowed[name] in str(error.value) and "but " in str(error.value), (name, value, str(error.value))
    with pytest.raises(ValueError, match=re.escape("decay_factor a float in the (0, inf) interval, but is (1, 0.0)")):
        dl.DecodingConfig(exponential_decay_length_penalty=(1, 0.0))
    with pytest.raises(ValueError, match="`forced_eos_token_id` has to name a token that `suppress_tokens` does not suppress"):
        dl.DecodingConfig(forced_eos_token_id=2, suppress_tokens=[2, 3])


def test_token_ids_outside_the_vocabulary_are_refused_by_name(cap):
    step = cap(PROMPT)
    vocab = step.logits.shape[-1]
    for name, value in {"suppress_tokens": [vocab], "bad_words_ids": [[1, vocab + 5]], "sequence_bias": {(vocab,): 1.0},
                        "forced_eos_token_id": vocab}.items():
        with pytest.raises(ValueError, match=re.escape(f"`{name}` has to hold token ids in the [0, {vocab}) interval")):
            step.scores(dl.DecodingConfig(**{name: value}), max_new_tokens=1)


def test_context_the_controls_need_is_asked_for(lm, cap):
    with pytest.raises(ValueError, match="`forced_eos_token_id` needs the generation's `max_length`"):
        cap(PROMPT).scores(dl.DecodingConfig(forced_eos_token_id=2))
    with pytest.raises(ValueError, match="`min_new_tokens` needs the generation's `prompt_length`"):
        dl.logits_processors(dl.DecodingConfig(min_new_tokens=2), lm.model.generation_config)
    with pytest.raises(ValueError, match=r"`prompt_length` has to be an integer in \[1, "):
        cap(PROMPT).scores(dl.DecodingConfig(min_new_tokens=2), prompt_length=0)


def test_a_grammar_that_allows_nothing(lm, cap):
    """generate() refuses an empty answer with transformers' ValueError; ours names the function,
    the context and why, before transformers sees it."""
    def nothing(batch_id, input_ids):
        return []

    cfg = dl.DecodingConfig(prefix_allowed_tokens_fn=nothing)
    with pytest.raises(ValueError, match="returned an empty list"):
        dl.reference_generate(lm, PROMPT, cfg, max_new_tokens=2)
    message = r"`prefix_allowed_tokens_fn` has to return at least one token id in \[0, \d+\), but allowed nothing after \d+ tokens"
    with pytest.raises(ValueError, match=message):
        dl.generate_with_trace(lm, PROMPT, cfg, max_new_tokens=2)
    with pytest.raises(ValueError, match=message):
        cap(PROMPT).scores(cfg)
    with pytest.raises(ValueError, match=r"has to return token ids in \[0, "):
        cap(PROMPT).scores(dl.DecodingConfig(prefix_allowed_tokens_fn=lambda b, x: [10**7]))
    with pytest.raises(ValueError, match="has to return a list of token ids"):
        cap(PROMPT).scores(dl.DecodingConfig(prefix_allowed_tokens_fn=lambda b, x: 3))


def test_choice_grammar_forces_a_valid_answer(lm):
    answers = ['{"city": "Paris"}', '{"city": "Rome"}', '{"city": "Oslo"}']
    prompt = "The capital of France, as JSON:"
    grammar = dl.choice_grammar(lm, answers, prompt)
    for seed in range(3):
        trace = dl.generate_with_trace(lm, prompt, dl.DecodingConfig(prefix_allowed_tokens_fn=grammar, do_sample=True, top_k=0,
                                                                     temperature=2.0), max_new_tokens=20, seed=seed)
        assert grammar.text(trace.token_ids) in answers and trace.token_ids[-1] == grammar.eos_token_id
        json.loads(grammar.text(trace.token_ids))
    assert grammar.allowed([10**6]) == []
    with pytest.raises(ValueError, match="`choices` has to be a non-empty list of non-empty strings"):
        ChoiceGrammar(lm.tokenizer, [], 3, 2)
    with pytest.raises(ValueError, match="`choices` has to be a non-empty list of non-empty strings"):
        ChoiceGrammar(lm.tokenizer, ["a", ""], 3, 2)


def test_shift_and_mass_charts(cap, ids):
    step = cap(PROMPT)
    cfg = dl.DecodingConfig(suppress_tokens=ids["4"])
    fig = shift_chart(step, cfg, k=5, highlight=[ids["eos"]])
    s = shift(step, cfg)
    assert f"removes {s.removed:.1%}" in fig.layout.title.text
    assert list(fig.data[0].y) == sorted(fig.data[0].y, reverse=True)
    assert fig.data[2].name == "removed" and len(fig.data[2].x) == 1
    with pytest.raises(ValueError, match="`k` has to be an integer >= 1, but is 0"):
        shift_chart(step, cfg, k=0)
    with pytest.raises(ValueError, match=r"`highlight` has to hold token ids in the \[0, "):
        shift_chart(step, cfg, highlight=[-1])
    fig = mass_chart({"a": [torch.tensor([0.2, 0.8]), torch.tensor([0.6, 0.4])]}, {"EOS": [0]})
    assert list(fig.data[0].y) == [pytest.approx(0.2), pytest.approx(0.6)]
    with pytest.raises(ValueError, match="`steps` has to be a non-empty dict"):
        mass_chart({}, {"EOS": [0]})
