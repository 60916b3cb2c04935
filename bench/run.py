"""`make bench`: measure the build, the pages, the model load and the browser — and the naive way,
side by side in the same run, so that ratios survive a noisy machine.

It never fails on a number: the targets are goals to report against. It writes
``bench/results.json`` and prints a Markdown table.

Usage: ``python bench/run.py [--skip-build] [--skip-browser] [--lesson temperature]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
SITE_INPUTS = ("mkdocs.yml", "docs", "hooks", "overrides", "decoding_lessons")

TARGETS = {
    "clean_build_s": ("clean CPU build, whole site", "≤ 90 s", lambda v: v <= 90),
    "warm_rebuild_s": ("warm rebuild", "≤ 5 s", lambda v: v <= 5),
    "forward_passes_per_context": ("forward passes / distinct contexts", "1.0", lambda v: abs(v - 1.0) < 1e-9),
    "median_lesson_page_kb": ("median lesson page", "≤ 300 KB", lambda v: v <= 300),
    "embedded_warm_load_s": ("embedded model warm load", "≤ 2 s", lambda v: v <= 2),
    "max_render_s": ("all charts on a page rendered (slowest page)", "≤ 1.5 s", lambda v: v <= 1.5),
}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def base_env(**extra) -> dict:
    env = dict(os.environ)
    env.setdefault("DECODING_LESSONS_MODEL", "embedded")
    env.setdefault("DECODING_LESSONS_DEVICE", "cpu")
    env["NO_MKDOCS_2_WARNING"] = "1"
    env.update(extra)
    return env


# ------------------------------------------------------------------------------------------------
# 1, 2, 4: clean build, warm rebuild, forward passes
# ------------------------------------------------------------------------------------------------

CONVERTING = re.compile(r"Converting notebook \(execute=True\): (\S+)")
WRITTEN = re.compile(r"Cache miss, writing: (\S+)")
EXECUTED = re.compile(r"executed (\S+\.py) in ([\d.]+) s")  # lessons executed side by side (hooks/build.py)


def timed_build(workdir: Path, site: Path, stats_dir: Path) -> dict:
    """Run mkdocs build in ``workdir``; time the whole build and each lesson from the log."""
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
    # the kernels write their counts at exit: bench/kernel_stats.py, as an IPython start-up file
    startup = workdir / ".ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "bench" / "kernel_stats.py", startup / "00-decoding-lessons-stats.py")
    env = base_env(DECODING_LESSONS_STATS_DIR=str(stats_dir), IPYTHONDIR=str(workdir / ".ipython"))
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lessons: dict[str, float] = {}
    opened: dict[str, float] = {}
    tail: list[str] = []
    for line in proc.stdout:
        now = time.perf_counter()
        tail = (tail + [line])[-40:]
        if m := CONVERTING.search(line):
            opened[Path(m.group(1)).stem] = now
            log(f"  executing {Path(m.group(1)).name}")
        elif m := EXECUTED.search(line):
            lessons[Path(m.group(1)).stem] = float(m.group(2))
            log(f"  executed {m.group(1)} in {m.group(2)} s")
        elif m := WRITTEN.search(line):
            name = Path(m.group(1)).stem
            if name in opened:
                lessons[name] = round(now - opened[name], 2)
    rc = proc.wait()
    total = time.perf_counter() - start
    if rc != 0:
        raise RuntimeError("mkdocs build failed:\n" + "".join(tail))
    return {"seconds": round(total, 2), "lessons": lessons}


def build_measurements(work: Path) -> dict:
    for name in SITE_INPUTS:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / name)
    stats_dir = work / "stats"
    log("clean build (empty notebook cache) ...")
    clean = timed_build(work, work / "site", stats_dir)
    log(f"clean build: {clean['seconds']} s")
    log("warm rebuild (nothing changed) ...")
    warm = timed_build(work, work / "site2", work / "stats-warm")
    log(f"warm rebuild: {warm['seconds']} s")
    kernels = [json.loads(p.read_text()) for p in sorted(stats_dir.glob("kernel-*.json"))]
    passes = sum(k["forward_passes"] for k in kernels)
    contexts = sum(k["distinct_contexts"] for k in kernels)
    charts = sum(k["charts"] for k in kernels)
    return {
        "clean_build": clean,
        "warm_rebuild": warm,
        "forward_passes": {
            "capture_forward_passes": passes,
            "distinct_contexts": contexts,
            "charts": charts,
            "kernels": len(kernels),
            "ratio": round(passes / contexts, 4) if contexts else None,
        },
    }


# ------------------------------------------------------------------------------------------------
# 3: model load, cold and warm
# ------------------------------------------------------------------------------------------------

LOAD_SNIPPET = (
    "import time, json; t = time.perf_counter(); import decoding_lessons as dl; "
    "lm = dl.load_model('embedded', device='cpu'); "
    "print(json.dumps({'load_s': lm.load_seconds, 'process_s': time.perf_counter() - t}))"
)


def load_measurements() -> dict:
    cache = Path(tempfile.mkdtemp(prefix="dl-bench-cache-"))
    try:
        out = {}
        for label in ("cold", "warm"):
            log(f"embedded model, {label} load ...")
            res = subprocess.run(
                [sys.executable, "-c", LOAD_SNIPPET], env=base_env(DECODING_LESSONS_CACHE=str(cache)),
                capture_output=True, text=True, check=True,
            )
            out[label] = json.loads(res.stdout.strip().splitlines()[-1])
            log(f"  {label}: {out[label]['load_s']:.2f} s")
        return out
    finally:
        shutil.rmtree(cache, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# The seed's way vs capture-once, on the temperature slider's grid
# ------------------------------------------------------------------------------------------------

TEMPERATURE_GRID = [0.1, 0.2, 0.3, 0.5, 0.7, 0.85, 1.0, 1.2, 1.5, 2.0, 3.0, 5.0]


def seed_way_measurements(prompt: str = "2 + 2 = ", repeats: int = 3) -> dict:
    import torch

    import decoding_lessons as dl

    lm = dl.load_model("embedded", device="cpu")
    ids = lm.encode(prompt)
    configs = [dl.DecodingConfig(do_sample=True, top_k=0, temperature=t) for t in TEMPERATURE_GRID]

    def seed_way():
        out = []
        for cfg in configs:
            res = dl.reference_generate(lm, ids, cfg, max_new_tokens=1, scores=True)
            out.append(res.scores[0][0])
        return out

    def capture_way():
        cap = dl.LogitCapture(lm)
        step = cap(prompt)
        return [step.scores(cfg) for cfg in configs], cap.forward_passes

    seed_way(), capture_way()  # warm-up
    seed_times, capture_times = [], []
    for _ in range(repeats):
        t = time.perf_counter(); a = seed_way(); seed_times.append(time.perf_counter() - t)
        t = time.perf_counter(); b, passes = capture_way(); capture_times.append(time.perf_counter() - t)
    identical = all(torch.equal(x, y) for x, y in zip(a, b))
    seed_s, capture_s = statistics.median(seed_times), statistics.median(capture_times)
    return {
        "grid": len(configs),
        "seed_way_s": round(seed_s, 4),
        "seed_way_forward_passes": len(configs),
        "capture_s": round(capture_s, 4),
        "capture_forward_passes": passes,
        "speedup": round(seed_s / capture_s, 1),
        "scores_identical": identical,
    }


# ------------------------------------------------------------------------------------------------
# The search strategies on the embedded model, against generate() where it still implements them
# ------------------------------------------------------------------------------------------------

def search_measurements(prompt: str = "The sky is", repeats: int = 3) -> dict:
    """Time per search with the lessons' settings, forward passes against steps x beams, and
    ``generate(num_beams=4)`` timed on the same search (its output compared with ours)."""
    import torch
    from device_check import timed  # bench/ is on sys.path when this script runs

    import decoding_lessons as dl

    lm = dl.load_model("embedded", device="cpu")
    ids = lm.encode(prompt)

    def median_time(fn):
        seconds, out = timed(fn, repeats, sync=lambda: None)
        return round(seconds, 3), out

    runs = {
        "greedy (generate_with_trace), 12 tokens": lambda: dl.generate_with_trace(lm, prompt, dl.DecodingConfig(do_sample=False), max_new_tokens=12),
        "beam search, 4 beams, 12 tokens": lambda: dl.beam_search(lm, prompt, num_beams=4, max_new_tokens=12),
        "diverse beam search, 6 beams in 3 groups, 12 tokens": lambda: dl.diverse_beam_search(
            lm, prompt, num_beams=6, num_beam_groups=3, diversity_penalty=1.0, max_new_tokens=12),
        "contrastive search, alpha 0.6, top_k 4, 32 tokens": lambda: dl.contrastive_search(
            lm, prompt, penalty_alpha=0.6, top_k=4, max_new_tokens=32),
    }
    out: dict = {"prompt": prompt, "repeats": repeats, "searches": {}}
    results = {}
    for name, fn in runs.items():
        log(f"  {name} ...")
        seconds, res = results[name] = median_time(fn)
        entry = {"seconds": seconds}
        if hasattr(res, "forward_passes"):
            settings = getattr(res, "settings", {})
            beams = settings.get("num_beams") or settings.get("top_k") or 1  # rows per forward pass
            steps = res.num_steps if hasattr(res, "num_steps") else len(res.steps)
            entry.update({"forward_passes": res.forward_passes, "steps": steps, "rows_per_pass": beams, "steps_x_rows": steps * beams})
        out["searches"][name] = entry

    def hf_beam():
        return dl.reference_generate(lm, ids, num_beams=4, num_return_sequences=4, max_new_tokens=12, do_sample=False, scores=True)

    log("  generate(num_beams=4), 12 tokens ...")
    seconds, ref = median_time(hf_beam)
    ours_s, ours = results["beam search, 4 beams, 12 tokens"]
    out["generate_beam_4x12"] = {
        "seconds": seconds,
        "sequences_equal": bool(torch.equal(ref.sequences.cpu(), ours.sequences)),
        "max_score_difference": float((ref.sequences_scores.cpu() - ours.sequences_scores).abs().max()),
    }
    out["generate_beam_4x12"]["ours_over_generate"] = round(ours_s / seconds, 2) if seconds else None
    return out


# ------------------------------------------------------------------------------------------------
# 5: page weight; the `notebook` renderer side by side
# ------------------------------------------------------------------------------------------------

def page_measurements(site: Path) -> dict:
    pages = {p.parent.name: p.stat().st_size for p in sorted((site / "lessons").glob("*/index.html"))}
    assets = sum(p.stat().st_size for p in (site / "assets").rglob("*") if p.is_file()) if (site / "assets").is_dir() else 0
    total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    sizes = list(pages.values())
    return {
        "lesson_pages_bytes": pages,
        "median_lesson_page_kb": round(statistics.median(sizes) / 1024, 1) if sizes else None,
        "max_lesson_page_kb": round(max(sizes) / 1024, 1) if sizes else None,
        "shared_assets_kb": round(assets / 1024, 1),
        "site_total_mb": round(total / 1024 / 1024, 2),
    }


RENDERER_SNIPPET = """
import sys, json, os
from mkdocs_jupyter import convert
body = convert.nb2html(sys.argv[1], execute=True, allow_errors=False, custom_mathjax_url="")
print(json.dumps({"bytes": len(body.encode())}))
"""


def renderer_measurements(lesson: Path) -> dict:
    """The same lesson body, executed with our renderer and with mkdocs-jupyter's usual
    ``notebook`` renderer (plotly.js inlined)."""
    out = {"lesson": lesson.name}
    for label, renderer in (("site_renderer", ""), ("notebook_renderer", "notebook")):
        log(f"lesson body with the {label} ...")
        res = subprocess.run(
            [sys.executable, "-c", RENDERER_SNIPPET, str(lesson)], cwd=ROOT,
            env=base_env(DECODING_LESSONS_RENDERER=renderer), capture_output=True, text=True,
        )
        if res.returncode != 0:
            out[label] = {"error": res.stderr[-500:]}
            continue
        out[label] = json.loads(res.stdout.strip().splitlines()[-1])
    a, b = out.get("site_renderer", {}).get("bytes"), out.get("notebook_renderer", {}).get("bytes")
    if a and b:
        out["ratio"] = round(b / a, 1)
    return out


# ------------------------------------------------------------------------------------------------
# 6: render time in headless Chromium
# ------------------------------------------------------------------------------------------------

def render_measurements(site: Path, chromium: str = "/usr/bin/chromium") -> dict:
    if not Path(chromium).exists():
        return {"skipped": f"{chromium} not found"}
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    from functools import partial

    from playwright.sync_api import sync_playwright

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    pages = sorted((site / "lessons").glob("*/index.html"))
    results = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route(re.compile(r"^(?!http://127\.0\.0\.1).*"), lambda route: route.abort())
            page = context.new_page()
            for cold in (True, False):  # first pass: cold browser cache; second: plotly.js cached
                for html in pages:
                    name = html.parent.name
                    expected = html.read_text().count("Plotly.newPlot(")
                    url = f"{base}/lessons/{name}/"
                    t = time.perf_counter()
                    page.goto(url, wait_until="commit")
                    page.wait_for_function(
                        f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {expected}", timeout=60000,
                        polling=10,
                    )
                    elapsed = time.perf_counter() - t
                    results.setdefault(name, {})["cold_s" if cold else "warm_s"] = round(elapsed, 3)
                    results[name]["charts"] = expected
            browser.close()
    finally:
        server.shutdown()
    warm = [r["warm_s"] for r in results.values()]
    return {"pages": results, "median_s": round(statistics.median(warm), 3), "max_s": round(max(warm), 3)}


# ------------------------------------------------------------------------------------------------

def table(results: dict) -> str:
    s = results["summary"]
    rows = ["| figure | measured | target | met |", "|---|---:|---|:---:|"]
    units = {"clean_build_s": " s", "warm_rebuild_s": " s", "median_lesson_page_kb": " KB", "embedded_warm_load_s": " s", "max_render_s": " s", "forward_passes_per_context": ""}
    for key, (label, target, ok) in TARGETS.items():
        value = s.get(key)
        shown = "—" if value is None else f"{value}{units[key]}"
        rows.append(f"| {label} | {shown} | {target} | {'—' if value is None else ('yes' if ok(value) else 'no')} |")
    extra = []
    if "seed_way" in results:
        sw = results["seed_way"]
        extra.append(
            f"| seed's way: {sw['grid']} `generate()` calls for the temperature grid | {sw['seed_way_s']} s, {sw['seed_way_forward_passes']} passes | capture once: {sw['capture_s']} s, {sw['capture_forward_passes']} pass | {sw['speedup']}× faster |"
        )
    if results.get("renderer", {}).get("ratio"):
        r = results["renderer"]
        extra.append(
            f"| `notebook` renderer, {r['lesson']} body | {r['notebook_renderer']['bytes'] / 1024:.0f} KB | ours: {r['site_renderer']['bytes'] / 1024:.0f} KB | {r['ratio']}× lighter |"
        )
    if "search" in results:
        g = results["search"]["generate_beam_4x12"]
        for name, e in results["search"]["searches"].items():
            passes = f", {e['forward_passes']} passes for {e['steps']} steps x {e['rows_per_pass']} rows" if "forward_passes" in e else ""
            extra.append(f"| {name} | {e['seconds']} s{passes} | — | — |")
        extra.append(
            f"| `generate(num_beams=4)`, 12 tokens | {g['seconds']} s | ours / generate: {g['ours_over_generate']}× | "
            f"{'same sequences' if g['sequences_equal'] else 'DIFFERENT sequences'} |"
        )
    if "model_load" in results:
        extra.append(f"| embedded model cold load (dequantize GGUF) | {results['model_load']['cold']['load_s']:.1f} s | — | — |")
    if results.get("playground", {}).get("embedded"):
        pl = results["playground"]
        for key, limit in (("embedded", 50), ("qwen_151936", 100)):
            e = pl[key]
            extra.append(f"| playground knob change, {e['vocab']:,} tokens ({e['redraws']} redraws) | median {e['median_ms']} ms, worst {e['worst_ms']} ms | ≤ {limit} ms | {'yes' if e['worst_ms'] <= limit else 'no'} |")
        extra.append(f"| playground first visit / bytes per context / engine.mjs | {pl['first_visit_kb']} KB / {pl['bytes_per_context'] / 1024:.0f} KB / {pl['engine_bytes'] / 1024:.1f} KB | — | — |")
    if results.get("live", {}).get("forward_30"):
        lv = results["live"]
        extra.append(f"| live model: bytes / load from the site / from the cache | {lv['model_bytes'] / 1e6:.1f} MB / {lv['from_site']['load_s']:.1f} s / {lv['from_cache']['load_s']:.1f} s | — | — |")
        extra.append(f"| live model forward, {lv['forward_30']['tokens']} tokens, {lv['from_site']['threads']} thread(s) / renderer memory | {lv['forward_30']['median_ms']} ms / {lv['rss_after_forward_mb']} MB | ≤ 150 ms | {'yes' if lv['forward_30']['median_ms'] <= 150 else 'no'} |")
    if "pages" in results:
        pg = results["pages"]
        extra.append(f"| largest lesson page / shared assets / whole site | {pg['max_lesson_page_kb']} KB / {pg['shared_assets_kb']} KB / {pg['site_total_mb']} MB | — | — |")
    return "\n".join(rows + extra)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--skip-build", action="store_true", help="measure the existing site/ instead of building")
    ap.add_argument("--skip-browser", action="store_true")
    ap.add_argument("--lesson", default="03_temperature", help="lesson used for the renderer comparison")
    args = ap.parse_args()

    started = time.perf_counter()
    results: dict = {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
        },
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    import torch
    import transformers

    results["machine"].update({"torch": torch.__version__, "transformers": transformers.__version__, "cuda": torch.cuda.is_available()})

    work = Path(tempfile.mkdtemp(prefix="dl-bench-"))
    try:
        if args.skip_build:
            site = ROOT / "site"
        else:
            results.update(build_measurements(work))
            site = work / "site"
        results["model_load"] = load_measurements()
        log("seed's way vs capture once ...")
        results["seed_way"] = seed_way_measurements()
        log("search strategies on the embedded model ...")
        results["search"] = search_measurements()
        results["pages"] = page_measurements(site)
        lesson = ROOT / "docs" / "lessons" / f"{args.lesson}.py"
        if not lesson.exists():
            lesson = sorted((ROOT / "docs" / "lessons").glob("*.py"))[0]
        results["renderer"] = renderer_measurements(lesson)
        if not args.skip_browser:
            log("render time in headless Chromium ...")
            results["render"] = render_measurements(site)
            log("the playground in headless Chromium ...")
            from playground import playground_measurements  # bench/playground.py

            results["playground"] = playground_measurements(site)
            log("the live model in headless Chromium ...")
            from live import live_measurements  # bench/live.py

            results["live"] = live_measurements(site)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    results["summary"] = {
        "clean_build_s": results.get("clean_build", {}).get("seconds"),
        "warm_rebuild_s": results.get("warm_rebuild", {}).get("seconds"),
        "forward_passes_per_context": results.get("forward_passes", {}).get("ratio"),
        "median_lesson_page_kb": results["pages"]["median_lesson_page_kb"],
        "embedded_warm_load_s": round(results["model_load"]["warm"]["load_s"], 2),
        "max_render_s": results.get("render", {}).get("max_s"),
    }
    gpu = ROOT / "bench" / "gpu_results.json"
    if gpu.exists():
        results["gpu"] = json.loads(gpu.read_text())
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"\n(written to {RESULTS.relative_to(ROOT)}; machine: {results['machine']['processor']}, {results['machine']['cpus']} CPUs, torch {results['machine']['torch']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
