"""The playground's live model in headless Chromium (``make bench``): its bytes, the load from the
site and from the browser's cache, the forward time of a 30-token prompt, the renderer's memory,
and the largest logit difference against PyTorch on the check prompts."""

from __future__ import annotations

import json
import statistics
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PROMPT_30 = ("The history of the printing press begins in the fifteenth century, when Johannes Gutenberg, "
             "a goldsmith from Mainz, built a machine that could set movable")

LOAD = """async () => {
  const m = await import(new URL("../javascripts/live.mjs", location.href).href);
  const lm = await m.LiveModel.load(new URL("../assets/live/", location.href));
  window.__live = lm;
  return { load_s: lm.loadSeconds, fetch_s: lm.fetchSeconds, from_cache: lm.fromCache, threads: lm.threads };
}"""
FORWARD = """async ([prompt, repeats]) => {
  const lm = window.__live, ids = lm.encode(prompt), times = [];
  for (let r = 0; r < repeats; r++) { await lm.logits(ids); times.push(lm.lastMs); }
  return { tokens: ids.length, times };
}"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _renderer_rss_mb(browser_pid_hint: str = "chromium") -> float | None:
    """The largest resident set of a Chromium renderer process (where the page's WebAssembly lives)."""
    best = None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().decode(errors="replace")
            if browser_pid_hint not in cmd or "--type=renderer" not in cmd:
                continue
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    mb = int(line.split()[1]) / 1024
                    best = mb if best is None else max(best, mb)
        except OSError:
            continue
    return None if best is None else round(best, 1)


def live_measurements(site: Path, chromium: str = "/usr/bin/chromium", repeats: int = 5) -> dict:
    if not Path(chromium).exists():
        return {"skipped": f"{chromium} not found"}
    manifest_path = site / "assets" / "live" / "manifest.json"
    if not manifest_path.exists():
        return {"skipped": "the site has no live model"}
    from playwright.sync_api import sync_playwright

    manifest = json.loads(manifest_path.read_text())
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    runtime = sum((site / "assets" / "live" / name).stat().st_size for name in ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm", "tokenizers.min.mjs"))
    out = {"model_bytes": manifest["bytes"], "parts": len(manifest["parts"]), "runtime_bytes": runtime,
           "tokenizer_and_labels_bytes": sum((site / "assets" / "live" / n).stat().st_size for n in ("tokenizer.json", "tokenizer_config.json", "labels.json")),
           "build_check": manifest.get("check")}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(f"{base}/playground/", wait_until="load")
            out["rss_before_mb"] = _renderer_rss_mb()
            out["from_site"] = page.evaluate(LOAD)
            out["rss_loaded_mb"] = _renderer_rss_mb()
            f = page.evaluate(FORWARD, [PROMPT_30, repeats])
            out["forward_30"] = {"tokens": f["tokens"], "median_ms": round(statistics.median(f["times"]), 1), "all_ms": [round(t, 1) for t in f["times"]]}
            f1 = page.evaluate(FORWARD, ["Hello", repeats])
            out["forward_1_median_ms"] = round(statistics.median(f1["times"]), 1)
            out["rss_after_forward_mb"] = _renderer_rss_mb()
            page.reload(wait_until="load")
            out["from_cache"] = page.evaluate(LOAD)
            context.close()
            browser.close()
    finally:
        server.shutdown()
    return out


if __name__ == "__main__":
    import sys

    print(json.dumps(live_measurements(Path(sys.argv[1])), indent=1))
