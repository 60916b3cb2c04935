"""The playground in headless Chromium (``make bench``): the redraw time of one knob change on the
embedded model's vocabulary and on a 151,936-token one (Qwen's: synthetic logits served in place of
the site's contexts), and the first visit's weight."""

from __future__ import annotations

import json
import re
import statistics
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CONFIGS = [
    "top_k=50", "temperature=0.7&top_p=0.9", "temperature=1.5&top_k=0&min_p=0.1",
    "repetition_penalty=1.3&no_repeat_ngram_size=2&top_k=0&typical_p=0.9",
    "top_k=0&epsilon_cutoff=0.0003&eta_cutoff=0.001", "top_k=0&top_h=0.4",
    "temperature=0.8&top_k=40&top_p=0.95&min_p=0.05&order=llama_cpp",
    "repetition_penalty=1.2&temperature=0.9&top_k=0&top_p=0.9&min_p=0.02&typical_p=0.95&epsilon_cutoff=0.0001&eta_cutoff=0.0005",
]
# one knob change: the temperature's number box set, the whole chain recomputed and the page
# redrawn (the engine, the stage inspector, the bars), then a forced layout
KNOB_CHANGE = """(value) => {
  const box = document.getElementById('dl-pg-temperature-value');
  const t0 = performance.now();
  box.value = String(value); box.dispatchEvent(new Event('input'));
  document.getElementById('dl-playground').offsetHeight;
  return performance.now() - t0;
}"""
QWEN_VOCAB = 151_936
LOCAL_ONLY = re.compile(r"^(?!http://127\.0\.0\.1).*")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _synthetic_context(vocab: int, seed: int = 0) -> tuple[bytes, str]:
    import numpy as np

    logits = (np.random.default_rng(seed).standard_normal(vocab) * 2.5).astype("<f4")
    ids = [int(i) for i in np.random.default_rng(seed + 1).integers(0, vocab, 40)]
    meta = {"key": "synthetic", "ids": ids, "prompt_length": 40, "prompt_text": "(synthetic logits)", "generated_text": "",
            "context_labels": [f"#{i}" for i in ids], "labels": {}}
    return logits.tobytes(), json.dumps(meta)


def _redraws(page, context_key: str, repeats: int) -> list[float]:
    times = []
    for cfg in CONFIGS:
        frag = f"ctx={context_key}&{cfg}"
        page.evaluate("(f) => { location.hash = f; }", frag)
        page.wait_for_timeout(150)  # the hashchange's redraw
        page.wait_for_selector("#dl-playground[data-state=ready]")
        page.eval_on_selector("#dl-pg-temperature-on", "e => { if (!e.checked) e.click(); }")
        for r in range(repeats):
            times.append(page.evaluate(KNOB_CHANGE, round(0.6 + 0.1 * r, 2)))
    return times


def playground_measurements(site: Path, chromium: str = "/usr/bin/chromium", repeats: int = 5) -> dict:
    if not Path(chromium).exists():
        return {"skipped": f"{chromium} not found"}
    if not (site / "playground" / "index.html").exists():
        return {"skipped": "the site has no playground page"}
    from playwright.sync_api import sync_playwright

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    index = json.loads((site / "assets" / "playground" / "index.json").read_text())
    out = {
        "contexts": len(index["contexts"]), "vocab": index["vocab_size"],
        "bytes_per_context": round(statistics.mean(c["logits_bytes"] + c["meta_bytes"] for c in index["contexts"])),
        "engine_bytes": (site / "javascripts" / "engine.mjs").stat().st_size,
        "playground_js_bytes": (site / "javascripts" / "playground.mjs").stat().st_size,
    }
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            # the first visit: every byte the page loads, with an empty cache
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route(LOCAL_ONLY, lambda route: route.abort())
            sizes: dict[str, int] = {}
            page = context.new_page()
            page.on("response", lambda r: sizes.__setitem__(r.url, len(r.body())) if r.ok else None)
            page.goto(f"{base}/playground/", wait_until="load")
            page.wait_for_selector("#dl-playground[data-state=ready]")
            page.wait_for_load_state("networkidle")
            out["first_visit_kb"] = round(sum(sizes.values()) / 1024, 1)
            out["first_visit_requests"] = len(sizes)
            out["first_visit_largest"] = sorted(((round(v / 1024, 1), k.replace(base, "")) for k, v in sizes.items()), reverse=True)[:4]
            context.close()

            for label, vocab in (("embedded", None), ("qwen_151936", QWEN_VOCAB)):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.route(LOCAL_ONLY, lambda route: route.abort())
                key = "name"
                if vocab:
                    raw, meta = _synthetic_context(vocab)
                    key = "synthetic"
                    synthetic = {**index, "vocab_size": vocab, "contexts": [
                        {"key": key, "kind": "synthetic", "label": "synthetic", "text": "", "tokens": 40, "logits_bytes": len(raw), "meta_bytes": len(meta)}]}
                    context.route("**/assets/playground/index.json", lambda route: route.fulfill(body=json.dumps(synthetic), content_type="application/json"))
                    context.route("**/assets/playground/synthetic.f32", lambda route: route.fulfill(body=raw, content_type="application/octet-stream"))
                    context.route("**/assets/playground/synthetic.json", lambda route: route.fulfill(body=meta, content_type="application/json"))
                page = context.new_page()
                page.goto(f"{base}/playground/#ctx={key}", wait_until="load")
                page.wait_for_selector("#dl-playground[data-state=ready]")
                times = _redraws(page, key, repeats)
                out[label] = {"vocab": vocab or index["vocab_size"], "redraws": len(times),
                              "median_ms": round(statistics.median(times), 1), "worst_ms": round(max(times), 1)}
                context.close()
            browser.close()
    finally:
        server.shutdown()
    return out


if __name__ == "__main__":
    import sys

    print(json.dumps(playground_measurements(Path(sys.argv[1])), indent=1))
