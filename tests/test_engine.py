"""The browser engine (docs/javascripts/engine.mjs) against transformers' own processors.

Python writes golden vectors with the package's processors (tests/engine/make_golden.py: real
logits of the embedded model and synthetic ones with ties and extreme values, every knob alone,
with min_tokens_to_keep > 1, 240 random configurations in generate()'s order, llama.cpp's chain
and random orders), and Node checks the engine on them (tests/engine/engine.test.mjs).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import decoding_lessons as dl
from decoding_lessons.processors import ALL_KNOBS as KNOBS

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "docs" / "javascripts" / "engine.mjs"
NODE_TEST = ROOT / "tests" / "engine" / "engine.test.mjs"
sys.path.insert(0, str(ROOT / "tests" / "engine"))

from make_golden import write_goldens  # noqa: E402


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("the browser engine's tests need Node.js 20 or newer (`node` on the PATH): "
                    "install it (apt-get install nodejs, or https://nodejs.org) and rerun")
    return node


@pytest.fixture(scope="module")
def goldens(lm, tmp_path_factory):
    directory = tmp_path_factory.mktemp("engine-golden")
    return directory, write_goldens(directory, lm)


def test_goldens_cover_every_processor_and_order(goldens):
    _, doc = goldens
    labels = Counter(c["label"].split(":")[0] for c in doc["cases"])
    assert labels["random"] >= 200
    alone = {c["label"].split(":")[1] for c in doc["cases"] if c["label"].startswith("alone:")}
    assert alone == {row.field for row in KNOBS if row.browser}
    # llama.cpp's samplers with several settings, each alone and in random combinations and orders
    samplers = {c["label"].split(":")[1] for c in doc["cases"] if c["label"].startswith("sampler:")}
    assert samplers == {row.field for row in dl.processors.LIBRARY_ROWS if row.kind == "params" and row.browser}
    assert labels["random-sampler"] >= 80
    # mirostat's decision (μ, the kept set, the drawn token, its surprise) is compared number for number
    assert sum(1 for c in doc["cases"] if "mirostat" in c) >= 30
    assert len(doc["dry_breakers"]) > 10
    orders = Counter(c["order"] if isinstance(c["order"], str) else "custom" for c in doc["cases"])
    assert orders["hf"] >= 100 and orders["llama_cpp"] >= 40 and orders["custom"] >= 40
    # the hidden top_k=50: cases that leave top_k unset and run it anyway
    assert sum(1 for c in doc["cases"] if "top_k" not in c["settings"] and "top_k" in c["stages"]) >= 40
    assert {c["min_tokens_to_keep"] for c in doc["cases"]} >= {1, 2, 3, 5}
    assert {c["logits"][:3] for c in doc["cases"]} == {"rea", "syn"}


def test_engine_matches_transformers(goldens):
    directory, _ = goldens
    node = _node()
    proc = subprocess.run([node, "--test", str(NODE_TEST)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "ENGINE_GOLDEN": str(directory)}, timeout=600)
    summary = [line for line in proc.stdout.splitlines() if line.startswith("# engine:") or line.startswith("#   case")]
    print("\n".join(summary))
    assert proc.returncode == 0, f"node --test failed:\n{proc.stdout}\n{proc.stderr}"
    assert any("largest kept-score difference" in line for line in summary), proc.stdout


def _engine_facts(table_json: str) -> dict:
    script = (
        f"import {{ENGINE_FIELDS, ENGINE_OFF, knobRows}} from {json.dumps(ENGINE.as_uri())};"
        "let t = ''; process.stdin.on('data', d => t += d); process.stdin.on('end', () => {"
        "const table = JSON.parse(t);"
        "console.log(JSON.stringify({fields: ENGINE_FIELDS, off: ENGINE_OFF, rows: knobRows(table).map(r => r.field)}));});"
    )
    proc = subprocess.run([_node(), "--input-type=module", "-e", script], input=table_json, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_engine_runs_every_knob_row_of_the_table():
    """The fields the engine implements are the table's knob rows that a browser can run: adding a
    processor row without engine support fails here."""
    facts = _engine_facts(dl.processors.table_json())
    browser_knobs = [row.field for row in KNOBS if row.browser]
    samplers = [row.field for row in dl.processors.LIBRARY_ROWS if row.kind == "params" and row.browser]
    assert sorted(facts["fields"]) == sorted(browser_knobs + samplers)
    assert sorted(facts["rows"]) == sorted(browser_knobs)  # the engine reads the same rows from the JSON
    for row in KNOBS:
        assert facts["off"][row.field] == row.off, row.field
        # the engine's rule "active: set and not the off value" is the table's own active()
        # (None only where it is a resolved value: a field whose default is unset)
        for v in (row.off, row.default, row.low, 0, 0.5, 1, 2, 1e-3) + ((None,) if row.default is None else ()):
            if v is None or v == row.off:
                stored = v
            else:
                try:
                    stored = row.check(v)
                except ValueError:
                    continue
            assert row.active(stored) == (stored is not None and stored != row.off), (row.field, v)


HARNESS = """<!doctype html>
<meta charset="utf-8">
<title>engine check</title>
<script type="module">
import * as engine from "../javascripts/engine.mjs";
import { checkCases, summary } from "./check.mjs";
const doc = await (await fetch("golden/cases.json")).json();
const cache = new Map();
const bin = async (path) => (await fetch(path)).arrayBuffer();
const io = {
  logits: async (name) => {
    if (!cache.has(name)) cache.set(name, new Float32Array(await bin(`golden/logits/${name}.bin`)));
    return cache.get(name);
  },
  expected: async (id) => {
    const ab = await bin(`golden/cases/${id}.bin`);
    const n = new Int32Array(ab, 0, 1)[0];
    return { ids: new Int32Array(ab, 4, n), scores: new Float32Array(ab, 4 + 4 * n, n) };
  },
};
try {
  const r = await checkCases(engine, doc, io);
  window.__result = { ...r, summary: summary(r, engine.NEAR) };
} catch (e) {
  window.__result = { error: String(e && e.stack || e) };
}
</script>
"""


def test_engine_matches_transformers_in_chromium(goldens, browser, tmp_path):
    """The same check in Chromium, the engine served as the site serves it (javascripts/engine.mjs,
    a module script fetched over HTTP)."""
    from conftest import start_server

    directory, doc = goldens
    (tmp_path / "javascripts").mkdir()
    shutil.copy(ENGINE, tmp_path / "javascripts" / "engine.mjs")
    page_dir = tmp_path / "engine-check"
    page_dir.mkdir()
    shutil.copy(ROOT / "tests" / "engine" / "check.mjs", page_dir / "check.mjs")
    (page_dir / "golden").symlink_to(directory, target_is_directory=True)
    (page_dir / "index.html").write_text(HARNESS)
    server, url = start_server(tmp_path)
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(url + "engine-check/")
        page.wait_for_function("window.__result !== undefined", timeout=300_000)
        result = page.evaluate("window.__result")
    finally:
        page.close()
        server.shutdown()
        server.server_close()
    assert errors == [] and "error" not in result, (errors, result.get("error"))
    print("\n".join("chromium " + line for line in result["summary"]))
    assert result["cases"] == len(doc["cases"])
    assert result["failures"] == []
    assert result["validation"] == []
    assert result["maxDiff"] <= 1e-6
    assert result["nearAll"] <= len(doc["cases"]) / 10
