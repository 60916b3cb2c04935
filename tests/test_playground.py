"""The playground: its contexts (decoding_lessons.playground), its links, the engine on its contexts
against transformers' processors, and the page in Chromium (docs/playground.md)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import decoding_lessons as dl
from decoding_lessons import playground as P

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "engine"))

from make_golden import transformers_scores, write_playground_goldens  # noqa: E402
from test_engine import NODE_TEST, _node  # noqa: E402

PLAYGROUND_JS = ROOT / "docs" / "javascripts" / "playground.mjs"


@pytest.fixture(scope="module")
def written(lm, tmp_path_factory):
    directory = tmp_path_factory.mktemp("playground") / "playground"
    return directory, P.write_playground(lm, directory)


# ------------------------------------------------------------------------------------------------
# The contexts


def test_contexts_cover_the_kinds_and_a_history():
    assert len(P.CONTEXTS) >= 20
    assert len(set(P.CONTEXT_KEYS)) == len(P.CONTEXT_KEYS)
    kinds = {c.kind for c in P.CONTEXTS}
    assert {"factual", "open-ended", "code", "list", "repetition", "story"} <= kinds
    assert [c.new_tokens for c in P.CONTEXTS if c.kind == "story"] == list(P.STORY_POSITIONS)


def test_written_files(written, lm):
    directory, index = written
    assert [c["key"] for c in index["contexts"]] == list(P.CONTEXT_KEYS)
    assert index["vocab_size"] == lm.vocab_size or index["vocab_size"] == lm.model.config.vocab_size
    cap = dl.LogitCapture(lm)
    for entry in index["contexts"]:
        raw = (directory / f"{entry['key']}.f32").read_bytes()
        assert len(raw) == entry["logits_bytes"] == 4 * index["vocab_size"]
        meta = json.loads((directory / f"{entry['key']}.json").read_text())
        assert len(meta["ids"]) == entry["tokens"] == len(meta["context_labels"])
        logits = torch.from_numpy(np.frombuffer(raw, dtype="<f4").copy())
        if entry["key"] in ("name", "html", "story_40"):  # the bytes are the capture's logits, bit for bit
            assert torch.equal(logits, cap(meta["ids"]).logits)
        # labels: the highest logits and every context token (the page can label whatever it shows)
        top = torch.topk(logits, 50).indices.tolist()
        assert all(str(i) in meta["labels"] for i in top + meta["ids"])
        assert meta["prompt_text"] + meta["generated_text"] == lm.tokenizer.decode(meta["ids"])
    story = [json.loads((directory / f"story_{n}.json").read_text()) for n in P.STORY_POSITIONS]
    # positions along one generation: each context extends the one before
    for a, b in zip(story, story[1:]):
        assert b["ids"][: len(a["ids"])] == a["ids"]
        assert len(b["ids"]) - b["prompt_length"] in P.STORY_POSITIONS
    assert {s["prompt_length"] for s in story} == {lm.encode(P.STORY).shape[1]}
    assert not [p for p in directory.parent.iterdir() if p.name.startswith(".")], "a temporary directory was left"


def test_write_leaves_nothing_half_built(lm, tmp_path, monkeypatch):
    target = tmp_path / "pg"
    calls = {"n": 0}
    real = P.token_label

    def failing(tok, i):
        calls["n"] += 1
        if calls["n"] > 500:
            raise RuntimeError("disk full")
        return real(tok, i)

    monkeypatch.setattr(P, "token_label", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        P.write_playground(lm, target)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=r"`labelled` has to be an integer >= 1, but is 0"):
        P.write_playground(lm, target, labelled=0)


# ------------------------------------------------------------------------------------------------
# Links


def test_fragment_round_trip_and_errors():
    frag = P.playground_fragment("cat", order="llama_cpp", repetition_penalty=1.3, top_k=0, temperature=2)
    assert frag == "ctx=cat&repetition_penalty=1.3&top_k=0&temperature=2&order=llama_cpp"
    state = P.parse_fragment("#" + frag)
    assert (state.context, state.settings, state.order, state.notes) == ("cat", {"repetition_penalty": 1.3, "top_k": 0, "temperature": 2}, "llama_cpp", [])
    assert P.parse_fragment(P.playground_fragment("sky", order=["top_p", "temperature"], top_p=0.5)).order == ("top_p", "temperature")
    with pytest.raises(ValueError, match=r"`top_p` has to be a float in the \[0, 1\] interval, but is 1.5"):
        P.playground_fragment("name", top_p=1.5)
    with pytest.raises(ValueError, match="`context` has to be one of name, sky"):
        P.playground_fragment("nope")
    with pytest.raises(ValueError, match="`num_beams` is not a knob the playground has"):
        P.playground_fragment("name", num_beams=2)
    with pytest.raises(ValueError, match="`order` has to be one of hf, llama_cpp"):
        P.playground_fragment("name", order="vllm")
    with pytest.raises(ValueError, match="`order` has to name fields"):
        P.playground_fragment("name", order=["top_p", "top_p"])
    # a sampler with several settings lists the ones it sets; the others take their defaults
    frag = P.playground_fragment("cat", order=["dry", "top_k"], top_k=0, dry={"dry_multiplier": 0.8, "dry_allowed_length": 3})
    assert frag == "ctx=cat&top_k=0&dry=dry_multiplier:0.8,dry_allowed_length:3&order=dry,top_k"
    state = P.parse_fragment(frag)
    assert (state.settings, state.order, state.notes) == ({"top_k": 0, "dry": {"dry_multiplier": 0.8, "dry_allowed_length": 3}}, ("dry", "top_k"), [])
    assert P.parse_fragment("xtc=").settings == {"xtc": {}}  # on, every setting at its default
    with pytest.raises(ValueError, match=r"`xtc_probability` has to be a float in the \[0, 1\] interval, but is 2"):
        P.playground_fragment("name", xtc={"xtc_probability": 2})
    with pytest.raises(ValueError, match=r"`mirostat` takes only the parameters mirostat, mirostat_tau, mirostat_eta, seed, but was given \['tau'\]"):
        P.playground_fragment("name", mirostat={"tau": 2})
    assert P.parse_fragment("xtc=xtc_probability").notes == ["`xtc`'s setting 'xtc_probability' has to be name:number: dropped"]


FRAGMENTS = [
    "", "#", "ctx=sky", "ctx=nope", "ctx=name&temperature=0", "temperature=-1", "temperature=1e-3", "top_k=5.0",
    "top_k=2.5", "top_k=abc", "top_p=2", "top_p=", "min_p=0.05&typical_p=1", "top_h=nan", "epsilon_cutoff=inf",
    "eta_cutoff=1e16", "repetition_penalty=%31.5", "no_repeat_ngram_size=3", "order=hf", "order=llama_cpp",
    "order=top_p,temperature", "order=top_p,top_p", "order=beam", "order=", "foo=1&bar", "ctx=html&top_k=0&order=min_p,top_k",
    "temperature=.5", "temperature=5.", "temperature=+2", "temperature=1_0", "temperature= 2",
    # the samplers with several settings
    "xtc=xtc_probability:0.5,seed:3", "xtc=", "xtc=foo", "xtc=nope:1", "xtc=xtc_probability:2", "xtc=seed:1.5",
    "dry=dry_multiplier:0.8&order=dry,top_k", "mirostat=mirostat:2,mirostat_tau:3", "mirostat=mirostat:3",
    "penalties=penalty_last_n:-1,penalty_repeat:1.2", "temp_ext=temp:0.5,dynatemp_range:inf",
    "openai_penalties=frequency_penalty:-2,presence_penalty:2.5", "order=xtc,mirostat,top_p",
]


def test_the_page_reads_fragments_as_python_does():
    table = dl.processors.table_json()
    script = (
        f"import {{ parseFragment }} from {json.dumps(PLAYGROUND_JS.as_uri())};\n"
        "let input = ''; process.stdin.on('data', (d) => input += d).on('end', () => {\n"
        "  const { table, fragments, keys } = JSON.parse(input);\n"
        "  const out = fragments.map((f) => parseFragment(f, table, keys));\n"
        "  process.stdout.write(JSON.stringify(out, (k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));\n"
        "});\n"
    )
    payload = json.dumps({"table": json.loads(table), "fragments": FRAGMENTS, "keys": list(P.PAGE_CONTEXT_KEYS)})
    proc = subprocess.run([_node(), "--input-type=module", "-e", script], input=payload, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    dropped = 0
    for frag, js in zip(FRAGMENTS, got):
        py = P.parse_fragment(frag)
        settings = {k: (str(v) if isinstance(v, float) and not math.isfinite(v) else v) for k, v in py.settings.items()}
        assert js["context"] == py.context, frag
        assert js["settings"] == settings, frag
        assert js["order"] == (list(py.order) if isinstance(py.order, tuple) else py.order), frag
        assert js["notes"] == py.notes, frag
        dropped += len(py.notes)
    assert dropped >= 15  # the bad ones are dropped, with Python's message


LINK_RE = re.compile(r"\]\((?:\.\./)*playground\.md#([^)\s]+)\)")


def test_lessons_link_into_the_playground():
    """Every sampling lesson links to the playground, and every link reads without a note."""
    links = {}
    for path in sorted((ROOT / "docs" / "lessons").glob("*.py")):
        for frag in LINK_RE.findall(path.read_text(encoding="utf-8")):
            links.setdefault(path.stem, []).append(frag)
    for stem in ("03_temperature", "04_top_k", "05_top_p", "06_min_p", "07_typical_p", "08_epsilon_eta", "09_top_h",
                 "10_repetition", "11_processor_order"):
        assert stem in links, f"{stem} has no link into the playground"
    for stem, frags in links.items():
        for frag in frags:
            state = P.parse_fragment(frag)
            assert state.notes == [], (stem, frag, state.notes)
            assert frag == P.playground_fragment(state.context, order=None if state.order == "hf" else state.order, **state.settings)


# ------------------------------------------------------------------------------------------------
# The engine on the playground's contexts


def test_engine_matches_transformers_on_the_playground_contexts(written, tmp_path):
    directory, _ = written
    doc = write_playground_goldens(tmp_path / "golden", directory, n_random=200)
    labels = [c["label"].split(":")[0] for c in doc["cases"]]
    assert labels.count("random") == 200 - len(doc["skipped"]) and labels.count("boundary") >= 20
    assert len({c["logits"] for c in doc["cases"]}) >= 15
    proc = subprocess.run([_node(), "--test", str(NODE_TEST)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "ENGINE_GOLDEN": str(tmp_path / "golden")}, timeout=600)
    print("\n".join(line for line in proc.stdout.splitlines() if line.startswith(("# engine:", "#   case"))))
    assert proc.returncode == 0, f"node --test failed:\n{proc.stdout}\n{proc.stderr}"


# ------------------------------------------------------------------------------------------------
# The page, in Chromium


def _python_kept(site: Path, key: str, settings: dict, order="hf") -> int:
    """How many tokens transformers' processors keep on the page's own logits of ``key``."""
    base = site / "assets" / "playground"
    logits = torch.from_numpy(np.fromfile(base / f"{key}.f32", dtype="<f4").copy())
    ids = torch.tensor([json.loads((base / f"{key}.json").read_text())["ids"]])
    _, scores = transformers_scores(logits, ids, settings, order)
    return int(torch.isfinite(scores).sum())


def _kept(page) -> int:
    return int(re.search(r"kept ([\d,]+) of", page.inner_text("[data-stat=kept]")).group(1).replace(",", ""))


# generate()'s order over the rows the page has controls for: the knobs and the samplers with several
# settings (xtc, penalties ...); not the controls that need token ids
PAGE_ORDER = [f for f in dl.processors.HF_ORDER if f in P.BROWSER_FIELDS]


def _stages(page) -> list[str]:
    return page.eval_on_selector_all(".dl-pg-stages tr[data-stage]", "rows => rows.map(r => r.dataset.stage)")


def _wait_for_stages(page, want: list[str]) -> None:
    """Wait until the stage table shows ``want`` (it is drawn once the context's logits arrive, and
    instant navigation may mount the page more than once), then check it."""
    shown = "want => JSON.stringify([...document.querySelectorAll('.dl-pg-stages tr[data-stage]')].map(r => r.dataset.stage)) === want"
    page.wait_for_function(shown, arg=json.dumps(want, separators=(",", ":")))
    page.wait_for_timeout(500)  # a second mount redraws the table: it must come back the same
    page.wait_for_function(shown, arg=json.dumps(want, separators=(",", ":")))


def _hash(page) -> str:
    return page.evaluate("location.hash.slice(1)")


def _ready(page) -> None:
    page.wait_for_selector("#dl-playground[data-state=ready]")


@pytest.fixture()
def reader(browser, site_url):
    from test_browser import Reader

    reader = Reader(browser, site_url)
    yield reader
    errors, external = reader.take_problems()
    reader.close()
    assert not errors, errors
    assert not external, f"requests left 127.0.0.1: {external}"


def test_the_site_serves_the_playground(built_site):
    index = json.loads((built_site / "assets" / "playground" / "index.json").read_text())
    assert [c["key"] for c in index["contexts"]] == list(P.CONTEXT_KEYS)
    html = (built_site / "playground" / "index.html").read_text()
    assert "playground.mjs" in html and "Float32Array" not in html  # logits are fetched, never inlined
    assert len(html) < 100_000
    for c in index["contexts"]:
        assert (built_site / "assets" / "playground" / f"{c['key']}.f32").stat().st_size == 4 * index["vocab_size"]


def test_every_control_changes_what_it_should(reader, site_url, built_site):
    page = reader.page
    page.goto(f"{site_url}playground/#ctx=name&temperature=1.5&min_p=0.1")
    _ready(page)
    assert _stages(page) == ["temperature", "top_k", "min_p"]  # the hidden top_k=50 runs
    assert page.is_visible(".dl-pg-topk")
    assert _kept(page) == _python_kept(built_site, "name", {"temperature": 1.5, "min_p": 0.1})

    page.uncheck("#dl-pg-top_k-on")  # the hidden top_k switched off
    assert _stages(page) == ["temperature", "min_p"] and _hash(page) == "ctx=name&temperature=1.5&top_k=0&min_p=0.1"
    assert not page.is_visible(".dl-pg-topk")
    assert _kept(page) == _python_kept(built_site, "name", {"temperature": 1.5, "min_p": 0.1, "top_k": 0})

    page.fill("#dl-pg-temperature-value", "0.5")  # the number box
    assert "temperature=0.5" in _hash(page)
    assert _kept(page) == _python_kept(built_site, "name", {"temperature": 0.5, "min_p": 0.1, "top_k": 0})
    page.fill("#dl-pg-min_p-value", "2")  # refused with Python's message, the state unchanged
    assert "`min_p` has to be a float in the [0, 1] interval, but is 2" in page.inner_text("li[data-field=min_p] .dl-pg-error")
    assert "min_p=0.1" in _hash(page)
    page.fill("#dl-pg-min_p-value", "0.2")
    assert page.inner_text("li[data-field=min_p] .dl-pg-error") == ""
    page.eval_on_selector("#dl-pg-top_p-on", "e => e.click()")
    page.eval_on_selector("#dl-pg-top_p-range", "e => { e.value = '0.8'; e.dispatchEvent(new Event('input')); }")  # the slider
    assert "top_p=0.8" in _hash(page)
    settings = {"temperature": 0.5, "top_k": 0, "top_p": 0.8, "min_p": 0.2}
    assert _kept(page) == _python_kept(built_site, "name", settings)

    page.select_option("#dl-pg-order", "llama_cpp")
    assert _stages(page) == [f for f in dl.processors.LLAMA_CPP_ORDER if f in ("top_p", "min_p", "temperature")]
    assert _hash(page).endswith("&order=llama_cpp")
    assert _kept(page) == _python_kept(built_site, "name", settings, "llama_cpp")

    page.select_option("#dl-pg-order", "custom")
    for _ in range(3):
        page.click("li[data-field=min_p] .dl-pg-up")
    custom = page.eval_on_selector_all(".dl-pg-knobs li[data-field]", "rows => rows.map(r => r.dataset.field)")
    assert custom.index("min_p") == PAGE_ORDER.index("min_p") - 3
    assert _stages(page) == [f for f in custom if f in settings and f != "top_k"]
    assert "order=" + ",".join(custom) in _hash(page)
    assert _kept(page) == _python_kept(built_site, "name", settings, custom)

    page.select_option("#dl-pg-context", "cat")
    page.wait_for_function("location.hash.startsWith('#ctx=cat')")
    assert "The cat sat on the mat" in page.inner_text(".dl-pg-context")

    page.click("#dl-pg-draw")
    first = page.inner_text(".dl-pg-draws")
    assert "total variation distance" in first and "1,000 draws (seed 0)" in first
    page.click("#dl-pg-draw")
    assert page.inner_text(".dl-pg-draws") == first  # seeded
    page.fill("#dl-pg-seed", "7")
    page.click("#dl-pg-draw")
    assert page.inner_text(".dl-pg-draws") != first

    page.click("#dl-pg-reset")
    assert _hash(page) == "ctx=cat" and _stages(page) == ["top_k"]
    assert _kept(page) == 50 or _kept(page) == _python_kept(built_site, "cat", {})


def test_the_url_round_trips_and_bad_values_get_a_note(reader, site_url):
    page = reader.page
    frag = "ctx=story_24&repetition_penalty=1.3&no_repeat_ngram_size=2&temperature=0.8&top_k=0&typical_p=0.9&order=top_k,typical_p,repetition_penalty,temperature,no_repeat_ngram_size"
    page.goto(f"{site_url}playground/#{frag}")
    _ready(page)
    want = P.parse_fragment(frag)
    # a partial order is completed with the other fields, in generate()'s order
    full = list(want.order) + [f for f in PAGE_ORDER if f not in want.order]
    assert _hash(page) == P.playground_fragment(want.context, order=full, **want.settings)
    summary, stages = page.inner_text(".dl-pg-summary"), _stages(page)
    assert stages == ["typical_p", "repetition_penalty", "temperature", "no_repeat_ngram_size"]
    written = _hash(page)
    page.goto("about:blank")
    page.goto(f"{site_url}playground/#{written}")  # a fresh load of the written link
    _ready(page)
    assert (page.inner_text(".dl-pg-summary"), _stages(page)) == (summary, stages)

    bad = "ctx=nowhere&top_p=1.5&temperature=0&top_k=2.5&foo=1"
    page.goto("about:blank")
    page.goto(f"{site_url}playground/#{bad}")
    _ready(page)
    notes = page.eval_on_selector_all(".dl-pg-dropped", "ns => ns.map(n => n.textContent)")
    assert notes == P.parse_fragment(bad).notes and len(notes) == 5
    assert _hash(page) == "ctx=name" and _stages(page) == ["top_k"]


def _python_sampler_scores(site: Path, key: str, settings: dict, order, tokenizer=None):
    """transformers' processors and the package's llama.cpp samplers on the page's own logits."""
    from transformers import GenerationConfig

    from make_golden import _run_stages, sampler_scores

    base = site / "assets" / "playground"
    logits = torch.from_numpy(np.fromfile(base / f"{key}.f32", dtype="<f4").copy())
    meta = json.loads((base / f"{key}.json").read_text())
    ids = torch.tensor([meta["ids"]])
    pairs, scores = sampler_scores(logits, ids, settings, order, GenerationConfig(), meta["prompt_length"], tokenizer)
    staged, _, _ = _run_stages(pairs, ids, logits, 1)  # the processors themselves, stage by stage (mirostat's trace)
    assert torch.equal(staged, scores)
    return dict(pairs), scores, meta


def test_the_samplers_with_several_settings(reader, site_url, built_site, lm):
    """llama.cpp's samplers on the page: a number box per setting, checked by the table's row,
    and the page's result equal to the package's (mirostat's draw, DRY on a repetition, XTC)."""
    page = reader.page
    page.goto(f"{site_url}playground/#ctx=cat&top_k=0&mirostat=mirostat:2,seed:3&order=llama_cpp")
    _ready(page)
    assert _stages(page) == ["mirostat"] and _kept(page) == 1
    procs, scores, meta = _python_sampler_scores(built_site, "cat", {"top_k": 0, "mirostat": {"mirostat": 2, "seed": 3}}, "llama_cpp")
    mu, surprise, size, token = procs["mirostat"].trace[-1]
    assert torch.isfinite(scores).nonzero().flatten().tolist() == [token]
    note = page.inner_text("[data-decision=mirostat]")
    assert f"kept {size:,} token" in note and f"“{meta['labels'][str(token)]}”" in note and f"{surprise:.3f} bits" in note
    assert page.inner_text(".dl-pg-final .dl-pg-label") == meta["labels"][str(token)]

    page.fill("#dl-pg-mirostat-mirostat_tau", "1")  # a setting's number box
    assert "mirostat=mirostat:2,mirostat_tau:1,seed:3" in _hash(page)
    procs, _, _ = _python_sampler_scores(built_site, "cat", {"top_k": 0, "mirostat": {"mirostat": 2, "mirostat_tau": 1, "seed": 3}}, "llama_cpp")
    assert f"kept {procs['mirostat'].trace[-1][2]:,} token" in page.inner_text("[data-decision=mirostat]")
    page.fill("#dl-pg-mirostat-seed", "-1")  # refused with Python's message, the state unchanged
    assert "`seed` has to be an integer in [0, 4294967295], but is -1" in page.inner_text("li[data-field=mirostat] .dl-pg-error")
    assert "seed:3" in _hash(page)
    page.uncheck("#dl-pg-mirostat-on")
    assert _stages(page) == []

    # DRY: the token that would extend "My name is" again loses dry_multiplier·base^(n − allowed)
    page.select_option("#dl-pg-context", "name_trap")
    page.wait_for_function("location.hash.startsWith('#ctx=name_trap')")
    page.check("#dl-pg-dry-on")
    page.fill("#dl-pg-dry-dry_multiplier", "5")
    assert _stages(page) == ["dry"] and "dry=dry_multiplier:5" in _hash(page)
    _, scores, meta = _python_sampler_scores(built_site, "name_trap", {"top_k": 0, "dry": {"dry_multiplier": 5}}, "llama_cpp", lm.tokenizer)
    raw = torch.from_numpy(np.fromfile(built_site / "assets" / "playground" / "name_trap.f32", dtype="<f4").copy())
    assert int(scores.argmax()) != int(raw.argmax())  # DRY changed the most likely token here
    assert page.inner_text(".dl-pg-final .dl-pg-label") == meta["labels"][str(int(scores.argmax()))]
    # XTC after it, in llama.cpp's chain
    page.check("#dl-pg-xtc-on")
    page.fill("#dl-pg-xtc-xtc_probability", "1")
    page.fill("#dl-pg-xtc-xtc_threshold", "0.02")
    assert _stages(page) == ["dry", "xtc"]
    settings = {"top_k": 0, "dry": {"dry_multiplier": 5}, "xtc": {"xtc_probability": 1, "xtc_threshold": 0.02, "seed": 0}}
    _, scores, _ = _python_sampler_scores(built_site, "name_trap", settings, "llama_cpp", lm.tokenizer)
    assert _kept(page) == int(torch.isfinite(scores).sum()) < raw.numel()
    written = _hash(page)
    page.goto("about:blank")
    page.goto(f"{site_url}playground/#{written}")  # the written link reads back to the same state
    _ready(page)
    assert _stages(page) == ["dry", "xtc"] and _hash(page) == written


def test_hostile_tokens_show_literally(reader, site_url):
    page = reader.page
    hostile = ["<script>window.__dlPwned = 1</script>", "&amp;", "<b>bold</b>", "<img src=x onerror=window.__dlPwned=2>"]

    def patch(route):
        response = route.fetch()
        meta = response.json()
        logits = np.frombuffer(page.context.request.get(route.request.url.replace(".json", ".f32")).body(), dtype="<f4")
        for token_id, text in zip(np.argsort(-logits)[: len(hostile)], hostile):
            meta["labels"][str(int(token_id))] = text
        route.fulfill(response=response, body=json.dumps(meta), headers={**response.headers, "content-type": "application/json"})

    page.route("**/assets/playground/html.json", patch)
    page.goto(f"{site_url}playground/#ctx=html&top_k=0")
    _ready(page)
    labels = page.eval_on_selector_all(".dl-pg-final .dl-pg-label", "ls => ls.map(l => l.textContent)")
    assert labels[: len(hostile)] == hostile
    assert page.evaluate("window.__dlPwned") is None
    assert page.eval_on_selector_all(".dl-pg-final b, .dl-pg-final img, .dl-pg-final script", "e => e.length") == 0
    assert "<b>bold</b> & <i>italic</i>" in page.inner_text(".dl-pg-context")  # the prompt, as text
    page.unroute("**/assets/playground/html.json")


def test_the_playground_on_a_phone_and_by_instant_navigation(reader, site_url):
    from test_browser import check_legible, set_scheme

    page = reader.page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{site_url}playground/#ctx=name&top_p=0.9")
    _ready(page)
    set_scheme(page, "slate")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.locator("#dl-pg-top_p-range").bounding_box()
    assert box and box["width"] >= 150  # the slider is usable
    page.click("#dl-pg-draw")
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(400)  # the header's title fades back
    check_legible(page, "playground", "slate", 0)
    set_scheme(page, "default")
    check_legible(page, "playground", "default", 0)
    page.set_viewport_size({"width": 1280, "height": 900})
    # instant navigation: from a lesson, through its link, and back
    page.goto(f"{site_url}lessons/06_min_p/")
    page.click("a[href*='playground/#ctx=name&temperature=1.5&min_p=0.1']")
    page.wait_for_url("**/playground/**")
    _ready(page)
    # the stage table is drawn after the context's logits arrive (a loaded machine takes a while)
    _wait_for_stages(page, ["temperature", "top_k", "min_p"])
    page.go_back()
    page.wait_for_url("**/06_min_p/**")
    page.go_forward()  # instant navigation again (no load event): the page mounts on its link's state
    _wait_for_stages(page, ["temperature", "top_k", "min_p"])
