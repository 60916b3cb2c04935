"""The watermark (``watermarking_config``): a row of the processor table, scores equal to
generate(watermarking_config=...) over whole generations (greedy and sampled, lefthash and selfhash,
with other processors), the green list and its mass from transformers' own processor, z-scores equal
to WatermarkDetector's, the figures, and bad input refused by name."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch
from transformers import WatermarkDetector, WatermarkingConfig, WatermarkLogitsProcessor

import decoding_lessons as dl
from decoding_lessons import orders
from decoding_lessons import processors as P
from decoding_lessons import watermark as W

PROMPT = "The weather today is"

CASES = {
    "greedy, lefthash": dict(watermarking_config={"bias": 2.0}),
    "greedy, selfhash, width 2, repetition penalty": dict(
        watermarking_config={"seeding_scheme": "selfhash", "context_width": 2, "bias": 2.5}, repetition_penalty=1.3),
    "sampled, lefthash, width 3, top_p": dict(
        watermarking_config=WatermarkingConfig(bias=1.5, context_width=3, greenlist_ratio=0.4), do_sample=True, top_p=0.9),
    "sampled, selfhash, width 3, top_k + temperature + no-repeat": dict(
        watermarking_config={"seeding_scheme": "selfhash", "context_width": 3, "hashing_key": 7}, do_sample=True, top_k=20,
        temperature=0.8, no_repeat_ngram_size=2),
}


@pytest.mark.parametrize("name", list(CASES))
def test_trace_equals_generate(lm, name):
    cfg = dl.DecodingConfig(**CASES[name])
    seed = 5 if cfg.do_sample else 0
    out = dl.reference_generate(lm, PROMPT, cfg, max_new_tokens=10, seed=seed, scores=True)
    trace = dl.generate_with_trace(lm, PROMPT, cfg, max_new_tokens=10, seed=seed, keep_scores=True)
    assert torch.equal(trace.sequence, out.sequences.cpu()), (name, trace.text)
    assert len(trace.steps) == len(out.scores) > 1
    for s, scores in zip(trace.steps, out.scores):
        assert torch.equal(s.scores, scores[0].cpu()), name
    plain = dl.reference_generate(lm, PROMPT, cfg.replace(watermarking_config=None), max_new_tokens=10, seed=seed, scores=True)
    assert any(not torch.equal(a, b) for a, b in zip(plain.scores, out.scores))  # the watermark did something


def test_a_zero_bias_changes_nothing(lm):
    cfg = dl.DecodingConfig(do_sample=True, watermarking_config={"bias": 0.0})
    marked = dl.reference_generate(lm, PROMPT, cfg, max_new_tokens=8, seed=2)
    assert torch.equal(marked, dl.reference_generate(lm, PROMPT, cfg.replace(watermarking_config=None), max_new_tokens=8, seed=2))


def test_processor_list_equals_generates(lm):
    cfg = dl.DecodingConfig(do_sample=True, top_k=30, top_p=0.9, repetition_penalty=1.2, suppress_tokens=[5],
                            watermarking_config={"context_width": 2})
    procs = dl.logits_processors(cfg, lm.model.generation_config, vocab_size=lm.vocab_size)
    gc = cfg.to_generation_config(lm.model.generation_config)
    gc.max_length, gc.num_beams, gc.num_return_sequences = 20, 1, 1
    gc._eos_token_tensor = torch.tensor([lm.model.generation_config.eos_token_id])
    theirs = lm.model._get_logits_processor(generation_config=gc, input_ids_seq_length=6, prefix_allowed_tokens_fn=None,
                                            logits_processor=None, device="cpu")
    assert [type(p) for p in procs] == [type(p) for p in theirs]
    assert type(procs[-1]) is WatermarkLogitsProcessor  # last, after the warpers
    ours, mine = procs[-1], theirs[-1]
    assert (ours.vocab_size, ours.greenlist_size, ours.context_width) == (mine.vocab_size, mine.greenlist_size, mine.context_width)
    assert torch.equal(ours.fixed_table, mine.fixed_table)
    assert lm.vocab_size == lm.model.config.get_text_config().vocab_size  # the scores' width is generate()'s vocab_size
    greedy = dl.logits_processors(cfg.replace(do_sample=False), lm.model.generation_config, vocab_size=lm.vocab_size)
    assert type(greedy[-1]) is WatermarkLogitsProcessor  # with greedy decoding too


def test_the_table_row():
    row = P.PROCESSORS["watermarking_config"]
    assert P.GENERATE_ORDER[-1] == "watermarking_config" and P.FINAL_ORDER == ("watermarking_config",)
    assert "watermarking_config" not in P.CONTROL_ORDER + P.WARPER_ORDER + P.HF_ORDER
    assert row.cls is WatermarkLogitsProcessor and not row.sampling_only and not row.knob and row.build(row.off) is None
    table = {r["field"]: r for r in json.loads(P.table_json())["processors"]}
    assert table["watermarking_config"]["browser"] is False and table["watermarking_config"]["kind"] == "watermark"
    with pytest.raises(ValueError, match=re.escape("`watermarking_config` needs the generation's `vocab_size`")):
        row.build(row.check({}), context=P.BuildContext())
    built = row.build(row.check({"greenlist_ratio": 0.5}), context=P.BuildContext(vocab_size=100))
    assert built.greenlist_size == 50 and built.rng.device == torch.device("cpu")


def test_the_configuration_stores_a_hashable_watermark(cap):
    a = dl.DecodingConfig(watermarking_config=WatermarkingConfig(bias=1.0))
    b = dl.DecodingConfig(watermarking_config={"bias": 1})
    assert a == b and hash(a) == hash(b) and isinstance(a.watermarking_config, dl.Watermark)
    assert isinstance(a.watermarking_config.bias, float)
    given = a.explicit()["watermarking_config"]
    assert isinstance(given, WatermarkingConfig) and given.to_dict() == a.watermarking_config.as_dict()
    gc = a.to_generation_config()
    assert gc.watermarking_config.bias == 1.0
    assert dl.DecodingConfig.from_generation_config(gc) == a
    assert "watermark(γ=0.25, δ=1" in a.describe()
    with pytest.raises(ValueError, match="`config` has to set only the knobs"):
        dl.apply_in_order(cap(PROMPT), a, orders.HF_ORDER)


def test_bad_input_names_the_parameter_and_its_range():
    cases = {
        "greenlist_ratio": ([0.0, 1.0, -0.1, 1.5, "a", True, float("nan")], r"a float in the \(0, 1\) interval"),
        "bias": ([float("inf"), float("nan"), "2", True], "a finite float"),
        "context_width": ([0, -1, 1.5, True], "an integer >= 1"),
        "hashing_key": ([-1, 2**63, 1.5, True], r"an integer in \[0, 9223372036854775807\]"),
        "seeding_scheme": (["hash", 3, None], "one of 'lefthash', 'selfhash'"),
    }
    for name, (values, allowed) in cases.items():
        for value in values:
            with pytest.raises(ValueError, match=f"^`watermarking_config.{name}` has to be {allowed}, but is ") as error:
                dl.DecodingConfig(watermarking_config={name: value})
            assert repr(value) in str(error.value)
    with pytest.raises(ValueError, match=r"^`watermarking_config` has to be a dict of the fields greenlist_ratio, .*, but holds the unknown \['delta'\]"):
        dl.DecodingConfig(watermarking_config={"delta": 2.0})
    for value in (2.0, "lefthash", [("bias", 2.0)]):
        with pytest.raises(ValueError, match=r"^`watermarking_config` has to be a transformers.WatermarkingConfig or a dict"):
            dl.DecodingConfig(watermarking_config=value)
    with pytest.raises(ValueError, match="needs a vocabulary of at least 40 tokens, but the scores hold 10"):
        dl.watermark_processor(10, {"seeding_scheme": "selfhash"})
    with pytest.raises(ValueError, match="`config` has to set `watermarking_config`, but it is None"):
        dl.green_mass(None, dl.DecodingConfig())
    with pytest.raises(ValueError, match="`scores` has to be given for seeding_scheme 'selfhash'"):
        dl.green_list(100, [1, 2], {"seeding_scheme": "selfhash"})
    with pytest.raises(ValueError, match="`context_ids` has to hold at least context_width=3 tokens"):
        dl.green_list(100, [1, 2], {"context_width": 3})
    with pytest.raises(ValueError, match="`context_ids` has to be a non-empty list of token ids"):
        dl.green_list(100, [], {})


def test_green_list_and_mass_equal_a_direct_computation(lm, cap):
    step = cap(PROMPT)
    w = dl.Watermark(greenlist_ratio=0.3, bias=2.0)
    green = dl.green_list(lm, step.input_ids, w)
    direct = WatermarkLogitsProcessor(lm.vocab_size, "cpu", **w.as_dict())._get_greenlist_ids(step.input_ids[0])
    assert torch.equal(green, direct.sort().values) and len(green) == int(0.3 * lm.vocab_size)
    cfg = dl.DecodingConfig(watermarking_config=w)
    m = dl.green_mass(step, cfg)
    assert torch.equal(m.green, green)
    assert m.mass_before == pytest.approx(float(torch.softmax(step.logits, -1).double()[direct].sum()), abs=1e-9)
    assert m.mass_after == pytest.approx(float(torch.softmax(step.scores(cfg), -1).double()[direct].sum()), abs=1e-9)
    assert m.mass_after == pytest.approx(m.predicted_after, abs=1e-5) and m.mass_after > m.mass_before
    biased = step.scores(cfg)
    assert torch.equal(biased[green], step.logits[green] + 2.0)
    # selfhash: the green tokens are the 40 best candidates that are in the list their own seed draws
    ws = dl.Watermark(seeding_scheme="selfhash", context_width=2)
    sg = dl.green_list(lm, step.input_ids, ws, scores=step.logits)
    proc = WatermarkLogitsProcessor(lm.vocab_size, "cpu", **ws.as_dict())
    top = step.logits.topk(40).indices
    mine = [int(t) for t in top if int(t) in set(proc._get_greenlist_ids(torch.cat([step.input_ids[0], t[None]])).tolist())]
    assert sg.tolist() == sorted(mine) and len(mine) > 0


def test_the_green_step_chart_shows_the_mass(lm, cap):
    step = cap(PROMPT)
    cfg = dl.DecodingConfig(watermarking_config={"bias": 3.0})
    m = dl.green_mass(step, cfg)
    fig = dl.green_step_chart(step, cfg, k=6)
    assert f"holding {m.mass_before:.1%} → {m.mass_after:.1%} (δ = 3)" in fig.layout.title.text
    green = set(m.green.tolist())
    shown = 0
    for t in fig.data:
        probs = m.before if t.name.startswith("before") else m.after
        for text, y in zip(t.hovertext, t.y):
            token = int(re.search(r"id: (\d+)", text).group(1))
            assert (token in green) == ("green" in t.name) and y == pytest.approx(float(probs[token]), abs=1e-7)
            shown += 1
    assert shown >= 12  # each token twice (before and after)
    top_before = m.before.topk(6).indices.tolist()
    ys = sorted([y for t in fig.data if t.name.startswith("before") for y in t.y], reverse=True)[:6]
    assert ys == pytest.approx([float(m.before[i]) for i in top_before], abs=1e-7)
    assert any(i in green for i in top_before) or any(i in green for i in m.after.topk(6).indices.tolist())
    with pytest.raises(ValueError, match="`k` has to be an integer >= 1, but is 0"):
        dl.green_step_chart(step, cfg, k=0)


def test_a_watermarked_generation_step_by_step_and_its_detection(lm):
    cfg = dl.DecodingConfig(do_sample=True, watermarking_config={"bias": 2.0})
    run = dl.watermark_generation(lm, PROMPT, cfg, max_new_tokens=16, seed=4)
    trace = dl.generate_with_trace(lm, PROMPT, cfg, max_new_tokens=16, seed=4, keep_scores=True)
    assert run.token_ids == trace.token_ids
    assert all(torch.equal(a, s.scores) for a, s in zip(run.scores, trace.steps))
    proc = WatermarkLogitsProcessor(lm.vocab_size, "cpu", **cfg.watermarking_config.as_dict())
    context = run.prompt_ids[0].tolist()
    for s in run.steps:
        greens = set(proc._get_greenlist_ids(torch.tensor(context)).tolist())
        assert s.green == (s.token_id in greens)
        assert s.mass_after == pytest.approx(s.mass_before * math.e**2 / (s.mass_before * math.e**2 + 1 - s.mass_before), abs=1e-5)
        context.append(s.token_id)
    # the detector sees only the generated ids: it scores every token but the first (no context for it)
    out = dl.detect(lm, run.token_ids, cfg)
    theirs = WatermarkDetector(lm.model.config, "cpu", cfg.watermarking_config.to_config())(
        torch.tensor([run.token_ids]), return_dict=True)
    assert out.z_score[0] == theirs.z_score[0]
    count, n = sum(s.green for s in run.steps[1:]), len(run.steps) - 1
    assert out.num_green_tokens[0] == count and out.num_tokens_scored[0] == n
    assert out.z_score[0] == pytest.approx((count - 0.25 * n) / math.sqrt(n * 0.25 * 0.75), abs=1e-12)
    fig = dl.green_trace_chart(run)
    assert list(fig.data[0].y) == [s.mass_before for s in run.steps] and list(fig.data[1].y) == [s.mass_after for s in run.steps]
    assert len(fig.data[2].x) == sum(s.green for s in run.steps)
    greedy = dl.DecodingConfig(watermarking_config={"bias": 2.0})
    g = dl.watermark_generation(lm, PROMPT, greedy, max_new_tokens=8)
    plain = dl.reference_generate(lm, PROMPT, greedy.replace(watermarking_config=None), max_new_tokens=8)[0, g.prompt_ids.shape[1]:]
    first = next((i for i, s in enumerate(g.steps) if s.changed), None)  # greedy: the first step the watermark changed
    same = len(g.steps) if first is None else first
    assert g.token_ids[:same] == plain[:same].tolist() and (first is None or g.token_ids[first] != int(plain[first]))
    assert all(s.top_before == int(s.token_id) or s.green for s in g.steps)  # a changed pick is a green token
    with pytest.raises(ValueError, match="`ids` has to hold more than context_width=1 tokens per row"):
        dl.detect(lm, run.token_ids[:1], cfg)


def test_the_detection_study_equals_the_detector(lm):
    cfg = dl.DecodingConfig(do_sample=True, top_k=0, watermarking_config={"bias": 2.0})
    prompts = ["The weather today is", "My favourite animal is", "Once upon a time"]
    study = dl.detection_study(lm, prompts, cfg, biases=(2.0, 5.0), samples=2, max_new_tokens=12, seed=1)
    assert study.texts == 6 and [r.bias for r in study.runs] == [2.0, 5.0] and study.plain.bias == 0.0
    det = WatermarkDetector(lm.model.config, "cpu", WatermarkingConfig(bias=2.0))
    for run in [study.plain] + study.runs:
        assert len(run.token_ids) == 6 and list(run.tokens) == [len(t) for t in run.token_ids]
        for i, ids in enumerate(run.token_ids):
            if len(ids) > 1:
                assert run.z_scores[i] == det(torch.tensor([ids]), return_dict=True).z_score[0]
    # the log-likelihood is the unwatermarked model's: a teacher-forced pass over prompt + text agrees
    ids = study.run(5.0).token_ids[0]
    ll = dl.sequence_logprob(lm, prompts[0], list(ids)) / len(ids)
    assert study.run(5.0).loglik[0] == pytest.approx(ll, abs=1e-3)
    assert np.nanmean(study.run(5.0).z_scores) > np.nanmean(study.plain.z_scores)
    fig = dl.z_histogram(study)
    assert [t.name for t in fig.data] == ["plain", "watermarked, δ = 2"]
    assert sorted(fig.data[1].x) == sorted(float(z) for z in study.run(2.0).z_scores if math.isfinite(z))
    assert fig.layout.shapes[0].x0 == study.threshold == 3.0
    fig = dl.tradeoff_chart(study)
    assert list(fig.data[0].x) == [r.price_perplexity for r in (study.plain, study.run(2.0), study.run(5.0))]
    assert list(fig.data[0].y) == [float(np.nanmean(r.z_scores)) for r in (study.plain, study.run(2.0), study.run(5.0))]
    # the expected log-likelihood: each step's sampling distribution (generate()'s scores) against the model's
    cfg5, prompt_ids = cfg.replace(watermarking_config=dl.Watermark(bias=5.0)), lm.encode(prompts[0])
    full = torch.cat([prompt_ids, torch.tensor([ids])], dim=1)
    with torch.no_grad():
        logits = lm.model(full).logits[0, prompt_ids.shape[1] - 1 : -1].float()
    expected = []
    for n in range(len(ids)):
        scores = dl.apply_processors(logits[n], full[:, : prompt_ids.shape[1] + n], cfg5, lm.model.generation_config,
                                     prompt_length=prompt_ids.shape[1], max_new_tokens=12)
        expected.append(float((torch.softmax(scores, -1) * torch.log_softmax(logits[n], -1)).sum()))
    assert study.run(5.0).expected_loglik[0] == pytest.approx(sum(expected) / len(expected), abs=1e-3)
    # the price at fixed contexts: δ = 5 applied at the plain text's contexts
    plain_ids = study.plain.token_ids[0]
    full = torch.cat([prompt_ids, torch.tensor([plain_ids])], dim=1)
    with torch.no_grad():
        logits = lm.model(full).logits[0, prompt_ids.shape[1] - 1 : -1].float()
    price = []
    for n in range(len(plain_ids)):
        scores = dl.apply_processors(logits[n], full[:, : prompt_ids.shape[1] + n], cfg5, lm.model.generation_config,
                                     prompt_length=prompt_ids.shape[1], max_new_tokens=12)
        price.append(float((torch.softmax(scores, -1) * torch.log_softmax(logits[n], -1)).sum()))
    assert study.run(5.0).price_loglik[0] == pytest.approx(sum(price) / len(price), abs=1e-3)
    assert np.array_equal(study.plain.price_loglik, study.plain.expected_loglik)
    with pytest.raises(ValueError, match=r"`watermarking_config.bias` has to be a finite float, but is inf"):
        dl.detection_study(lm, prompts, cfg, biases=(float("inf"),))
    with pytest.raises(ValueError, match="`prompts` has to be a non-empty list of non-empty strings"):
        dl.detection_study(lm, [], cfg)
    with pytest.raises(ValueError, match="`samples` has to be an integer >= 1, but is 0"):
        dl.detection_study(lm, prompts, cfg, samples=0)
    with pytest.raises(ValueError, match="`biases` has to name each δ once"):
        dl.detection_study(lm, prompts, cfg, biases=(1.0, 1))
    with pytest.raises(ValueError, match="`bias` has to be one of"):
        study.run(3.0)
