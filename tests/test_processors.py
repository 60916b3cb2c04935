"""The processor table: each fact once, and everything derived from it agrees with transformers."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch
from transformers import GenerationConfig, LogitsProcessorList

import decoding_lessons as dl
from decoding_lessons import processors as P
from decoding_lessons import orders, rules, scoring


def test_one_row_per_config_field():
    from dataclasses import fields

    assert {f.name for f in fields(dl.DecodingConfig)} - {"do_sample"} == set(P.GENERATE_ORDER)
    # the other libraries' rows are the rest of the table, and no configuration field
    assert set(P.PROCESSORS) - set(P.GENERATE_ORDER) == {r.field for r in P.LIBRARY_ROWS} == {
        "penalties", "dry", "top_n_sigma", "xtc", "temp_ext", "mirostat", "openai_penalties"}
    assert {r.library for r in P.ROWS} == {"transformers"} and {r.library for r in P.LIBRARY_ROWS} == {"llama.cpp", "OpenAI API"}


def test_defaults_are_transformers_defaults():
    defaults = GenerationConfig._get_default_generation_params()
    assert {row.field: row.default for row in P.ROWS} == {row.field: defaults.get(row.field) for row in P.ROWS}


@pytest.mark.parametrize("row", P.KNOBS, ids=lambda r: r.field)
def test_the_off_value_adds_no_processor_and_the_default_is_the_class(row):
    assert row.build(row.off) is None and row.is_off(row.off)
    on = {"float": 0.5, "int": 2}[row.kind] if row.field not in ("repetition_penalty", "temperature") else 1.5
    proc = row.build(on)
    assert isinstance(proc, row.cls)
    assert type(scoring.build_processor(row.field, dl.DecodingConfig(do_sample=True, **{row.field: on}).resolved())) is row.cls


@pytest.mark.parametrize("row", [r for r in P.ROWS if r.kind in ("float", "int")], ids=lambda r: r.field)
def test_the_interval_is_enforced_at_its_ends(row):
    if row.kind == "int":
        row.check(int(row.low))
        for bad in (int(row.low) - 1, True, 1.5):
            with pytest.raises(ValueError, match=f"`{row.field}` has to be an integer >= {int(row.low)}"):
                dl.DecodingConfig(**{row.field: bad})
        return
    inside = (row.low + min(row.high, 1.0)) / 2
    dl.DecodingConfig(**{row.field: inside})
    for end, is_open in ((row.low, row.low_open), (row.high, row.high_open)):
        if math.isinf(end):
            continue
        if is_open:
            message = re.escape(f"`{row.field}` has to be a float in the {row.interval} interval")
            with pytest.raises(ValueError, match=message):
                dl.DecodingConfig(**{row.field: end})
        else:
            dl.DecodingConfig(**{row.field: end})


def test_the_orders_and_off_values_come_from_the_table():
    library = ("penalties", "dry", "top_n_sigma", "xtc", "temp_ext", "mirostat", "openai_penalties")
    assert orders.HF_ORDER == P.HF_ORDER == scoring.PENALTY_ORDER + library + scoring.WARPER_ORDER
    assert orders.LLAMA_CPP_ORDER == ("repetition_penalty", "penalties", "dry", "top_n_sigma", "top_k", "typical_p", "top_p",
                                      "min_p", "xtc", "temperature", "temp_ext", "mirostat")
    assert rules.WARPER_OFF == {r.field: r.off for r in P.ROWS if r.sampling_only}
    assert scoring.GENERATE_DEFAULTS == {"do_sample": False, **{r.field: r.default for r in P.ROWS}}


def test_generate_builds_the_same_list_in_the_same_order(lm):
    cfg = dl.DecodingConfig(do_sample=True, temperature=0.8, top_k=40, top_p=0.95, min_p=0.02, typical_p=0.9,
                            epsilon_cutoff=1e-4, eta_cutoff=1e-3, top_h=0.9, repetition_penalty=1.3, no_repeat_ngram_size=3)
    ours = [type(p) for p in dl.logits_processors(cfg, lm.model.generation_config)]
    gc = cfg.to_generation_config(lm.model.generation_config)
    theirs = lm.model._get_logits_processor(generation_config=gc, input_ids_seq_length=4, encoder_input_ids=torch.ones(1, 4, dtype=torch.long),
                                            prefix_allowed_tokens_fn=None, logits_processor=None, device="cpu")
    theirs = [type(p) for p in theirs if type(p) in {r.cls for r in P.ROWS}]
    assert ours == theirs == [P.PROCESSORS[f].cls for f in P.HF_ORDER if f in P.GENERATE_ORDER]


def test_a_library_knob_sits_in_hf_order_where_generate_merges_it(lm):
    """top_n_sigma handed to generate() as logits_processor=[...] runs after the penalties and before
    temperature: where HF_ORDER puts it, so apply_in_order(HF_ORDER, top_n_sigma=n) is generate()'s."""
    cfg = dl.DecodingConfig(do_sample=True, temperature=0.7, top_k=0, min_p=0.05, repetition_penalty=1.3)
    custom = LogitsProcessorList([dl.TopNSigmaLogitsProcessor(1.5)])
    gc = cfg.to_generation_config(lm.model.generation_config)
    merged = lm.model._get_logits_processor(generation_config=gc, input_ids_seq_length=4, encoder_input_ids=torch.ones(1, 4, dtype=torch.long),
                                            prefix_allowed_tokens_fn=None, logits_processor=custom, device="cpu")
    fields = {r.cls: r.field for r in P.TABLE}
    names = [fields[type(p)] for p in merged if type(p) in fields]
    assert names == [f for f in P.HF_ORDER if f in names] == ["repetition_penalty", "top_n_sigma", "temperature", "min_p"]
    step = dl.LogitCapture(lm)("The cat sat on the mat. The cat")
    want = merged(step.input_ids, step.logits.float().clone().reshape(1, -1))[0]
    got = dl.apply_in_order(step, cfg, P.HF_ORDER, top_n_sigma=1.5)
    assert torch.equal(torch.isfinite(got), torch.isfinite(want)) and torch.equal(got, want)
    # llama.cpp's order runs it before temperature too; and its kept set is temperature's invariant
    kept = [torch.isfinite(dl.apply_in_order(step, cfg.replace(temperature=t), P.LLAMA_CPP_ORDER, top_n_sigma=1.0)) for t in (0.5, 1.0, 3.0)]
    assert torch.equal(kept[0], kept[1]) and torch.equal(kept[1], kept[2])


def test_library_knobs_are_checked_by_their_row(lm):
    step = dl.LogitCapture(lm)("Hello")
    with pytest.raises(ValueError, match=re.escape("`top_n_sigma` has to be a float >= 0, but is -1")):
        dl.apply_in_order(step, None, P.HF_ORDER, top_n_sigma=-1)
    with pytest.raises(ValueError, match="takes by keyword only the other libraries' samplers \\(penalties, dry, top_n_sigma, .*\\['top_k'\\]"):
        dl.apply_in_order(step, None, P.HF_ORDER, top_k=3)
    with pytest.raises(ValueError, match="lacks \\['top_n_sigma'\\]"):
        dl.apply_in_order(step, None, ["temperature"], top_n_sigma=1.0)
    assert torch.equal(dl.apply_in_order(step, None, P.HF_ORDER, top_n_sigma=0.0), step.scores(None))


def test_the_json_for_the_browser_holds_every_row():
    table = json.loads(P.table_json())
    assert [r["field"] for r in table["processors"]] == [r.field for r in P.TABLE]
    assert {r["field"]: r["library"] for r in table["processors"]}["top_n_sigma"] == "llama.cpp"
    assert table["hf_order"] == list(P.HF_ORDER) and table["llama_cpp_order"] == list(P.LLAMA_CPP_ORDER)
    by_field = {r["field"]: r for r in table["processors"]}
    assert by_field["min_p"]["interval"]["text"] == "[0, 1]" and by_field["top_k"]["default"] == 50
    assert by_field["temperature"]["interval"]["high"] == "inf" and by_field["top_k"]["off"] == 0


def test_the_site_serves_the_table(built_site):
    assert json.loads((built_site / "assets" / "processors.json").read_text()) == json.loads(P.table_json())


SAMPLER_ROWS = [r for r in P.LIBRARY_ROWS if r.kind == "params"]


def test_the_samplers_rows_in_llama_cpps_order_are_llama_cpps_chain(lm):
    """Every llama.cpp sampler row at once, in LLAMA_CPP_ORDER: bit-equal to llama_cpp_chain with the
    same settings (before its final draw), so the rows' order is llama.cpp's and they hand on its
    candidate array; and mirostat after llama.cpp's temperature leaves the chain's draw."""
    step = dl.LogitCapture(lm)("The cat sat on the mat. The cat sat on the")
    cfg = dl.DecodingConfig(do_sample=True, top_k=0)
    settings = dict(penalty_repeat=1.2, penalty_freq=0.1, penalty_last_n=16, dry_multiplier=0.8, top_n_sigma=2.0,
                    xtc_probability=1.0, xtc_threshold=0.05, dynatemp_range=0.5, temp=0.9)
    got = dl.apply_in_order(step, cfg, P.LLAMA_CPP_ORDER, top_n_sigma=2.0,
                            penalties={"penalty_repeat": 1.2, "penalty_freq": 0.1, "penalty_last_n": 16}, dry={"dry_multiplier": 0.8},
                            xtc={"xtc_probability": 1.0, "xtc_threshold": 0.05, "seed": 7}, temp_ext={"temp": 0.9, "dynatemp_range": 0.5})
    chain = dl.llama_cpp_chain(lm.tokenizer, top_k=0, top_p=1.0, min_p=0.0, seed=7, **settings)
    assert [type(p).__name__ for p in chain][:-1] == [P.PROCESSORS[f].cls.__name__ for f in
                                                      ("penalties", "dry", "top_n_sigma", "xtc", "temp_ext")]
    want = step.logits.float().clone().reshape(1, -1)
    for proc in list(chain)[:-1]:
        want = proc(step.input_ids, want)
    assert torch.equal(got, want[0])
    assert 1 < int(torch.isfinite(got).sum()) < got.numel()  # XTC fired and top-nσ cut
    for version in (1, 2):
        chain = dl.llama_cpp_chain(temp=0.7, mirostat=version, seed=5)
        want = step.logits.float().clone().reshape(1, -1)
        for proc in chain:
            want = proc(step.input_ids, want)
        got = dl.apply_in_order(step, cfg, P.LLAMA_CPP_ORDER, temp_ext={"temp": 0.7}, mirostat={"mirostat": version, "seed": 5})
        assert torch.equal(got, want[0]) and int(torch.isfinite(got).sum()) == 1


@pytest.mark.parametrize("row", SAMPLER_ROWS, ids=lambda r: r.field)
def test_a_samplers_settings_are_checked_each_against_its_interval(row):
    assert row.check({}) == tuple((q.name, q.default) for q in row.params)  # the library's defaults
    with pytest.raises(ValueError, match=re.escape(f"`{row.field}` has to be a dict of its parameters")):
        row.check(0.5)
    with pytest.raises(ValueError, match=re.escape(f"`{row.field}` takes only the parameters") + ".*\\['nope'\\]"):
        row.check({"nope": 1})
    for q in row.params:
        if q.kind == "int":
            row.check({q.name: int(q.low)})
            for bad in (int(q.low) - 1, True, 1.5) + (() if math.isinf(q.high) else (int(q.high) + 1,)):
                with pytest.raises(ValueError, match=re.escape(f"`{q.name}` has to be an integer {q.interval}")):
                    row.check({q.name: bad})
            continue
        for end, is_open in ((q.low, q.low_open), (q.high, q.high_open)):
            if math.isinf(end):
                continue
            if is_open:
                with pytest.raises(ValueError, match=re.escape(f"`{q.name}` has to be a float in the {q.interval} interval")):
                    row.check({q.name: end})
            else:
                assert dict(row.check({q.name: end}))[q.name] == end
            outside = end - 1 if end == q.low else end + 1
            with pytest.raises(ValueError, match=re.escape(f"`{q.name}` has to be a float") + ".*" + re.escape(f"but is {outside!r}")):
                row.check({q.name: outside})
        with pytest.raises(ValueError, match=re.escape(f"`{q.name}` has to be a")):
            row.check({q.name: math.nan})


def test_a_sampler_at_llama_cpps_defaults_is_off_but_temperature(lm):
    """llama.cpp's defaults switch off every one of these samplers but its temperature (0.8)."""
    step = dl.LogitCapture(lm)("Hello there, how")
    plain = dl.apply_in_order(step, None, P.HF_ORDER)
    for row in SAMPLER_ROWS:
        out = dl.apply_in_order(step, None, P.HF_ORDER, **{row.field: {}})
        assert torch.equal(out, plain) == (row.field != "temp_ext"), row.field
    assert torch.equal(dl.apply_in_order(step, None, P.HF_ORDER, temp_ext={}), plain / np.float32(0.8))


def test_the_openai_penalties_count_the_generated_tokens_only(lm):
    step = dl.LogitCapture(lm)("one two one two one")
    ids = step.input_ids[0].tolist()
    plain = step.logits.float()
    got = dl.apply_in_order(step, None, P.HF_ORDER, prompt_length=2, openai_penalties={"frequency_penalty": 0.5, "presence_penalty": 0.25})
    counts = torch.zeros_like(plain)
    for t in ids[2:]:
        counts[t] += 1
    assert torch.equal(got, plain - 0.5 * counts - 0.25 * (counts > 0).float())
    # the whole context is the prompt by default: nothing generated, nothing penalised
    assert torch.equal(dl.apply_in_order(step, None, P.HF_ORDER, openai_penalties={"presence_penalty": 1.0}), plain)
    with pytest.raises(ValueError, match=re.escape(f"`prompt_length` has to be an integer in [0, {len(ids)}], but is -1")):
        dl.apply_in_order(step, None, P.HF_ORDER, prompt_length=-1)


def test_the_json_carries_each_samplers_settings():
    table = {r["field"]: r for r in json.loads(P.table_json())["processors"]}
    xtc = {q["name"]: q for q in table["xtc"]["params"]}
    assert table["xtc"]["kind"] == "params" and list(xtc) == ["xtc_probability", "xtc_threshold", "seed"]
    assert xtc["xtc_threshold"]["default"] == 0.1 and xtc["xtc_threshold"]["interval"]["text"] == "[0, 1]"
    # DRY runs in the browser on its breakers matched against the vocabulary (dry_breaker_table)
    assert table["dry"]["browser"] is True and table["dry"]["needs"] == ["tokenizer"]
    assert all(r["browser"] for r in table.values() if r["kind"] == "params")
    assert table["temperature"]["params"] == []
