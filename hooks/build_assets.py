"""Site-wide assets, served from the site so that it works offline, and the scan that checks it does.

* plotly.js is plotly's official *cartesian* partial bundle (``hooks/vendor/``, 1.5 MB instead of
  the full 4.8 MB: the trace types the lessons draw), checked against the major version of the
  plotly.js the installed plotly package ships; every page's figures are checked to use only its
  trace types. MathJax 3 comes from the ``sphinx-mathjax-offline`` package (the official 3.2.2
  files). Both go into ``assets/javascripts/``; ``docs/javascripts/site.js`` loads MathJax only on
  pages with math.
* The notebook CSS that ``build_pages`` cut out of every notebook page goes once into
  ``assets/stylesheets/notebook.css`` (linked from notebook pages by ``overrides/main.html``), the
  clipboard script into ``assets/javascripts/notebook.js``.
* The processor table (``decoding_lessons.processors.table_json()``) as ``assets/processors.json``.
* For a site with the playground, its live model (``python -m decoding_lessons.live``: the embedded
  GGUF as ONNX, in parts, cached under the model cache by the GGUF's hash) and the runtime that runs
  it in the page (onnxruntime-web's WebAssembly build and tokenizers.js, ``hooks/vendor/``, checked
  against their recorded hashes) in ``assets/live/``.
* **The offline scan.** Every page is scanned after rendering: a script, stylesheet, image or frame
  from another host is a warning, which ``strict: true`` turns into a failed build.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

from mkdocs.exceptions import PluginError

from build_mkdocs_jupyter import clipboard_script

log = logging.getLogger("mkdocs.hooks.build")

ROOT = Path(__file__).resolve().parent.parent

PLOTLY_JS = "assets/javascripts/plotly.min.js"
PLOTLY_BUNDLE = ROOT / "hooks" / "vendor" / "plotly-cartesian.min.js"  # see hooks/vendor/README.md
# the trace types of the cartesian bundle (its package's README)
PLOTLY_TRACES = frozenset({"bar", "box", "contour", "heatmap", "histogram", "histogram2d", "histogram2dcontour",
                           "image", "pie", "scatter", "scatterternary", "violin"})
MATHJAX_DIR = "assets/javascripts/mathjax"
NOTEBOOK_CSS = "assets/stylesheets/notebook.css"
NOTEBOOK_JS = "assets/javascripts/notebook.js"
PROCESSORS_JSON = "assets/processors.json"  # the processor table, for the browser
PLAYGROUND_DIR = "assets/playground"  # the playground's contexts (decoding_lessons.playground)
LIVE_DIR = "assets/live"  # the playground's live model (decoding_lessons.live) and its runtime
LIVE_VENDOR = {  # see hooks/vendor/README.md: file -> sha256
    "onnxruntime-web/ort.wasm.min.mjs": "c21d9c326d453a4a61398270c804d5979e118540597cb0c07f7b3d64e6098234",
    "onnxruntime-web/ort-wasm-simd-threaded.mjs": "30ed0b5cd1182ede931fea448afb567d4dc705ec957af09f108a2be5f770dac3",
    "onnxruntime-web/ort-wasm-simd-threaded.wasm": "4b884c203b0fa48d057be3332c65513ff85aa3c5bddd6946acc0fab7ecda001d",
    "tokenizers/tokenizers.min.mjs": "258e46332101335ce8d95aed7745b19ac3b46d37f3e159a89cf894c2ea9b1d3a",
}

# ------------------------------------------------------------------------------------------------
# MathJax
# ------------------------------------------------------------------------------------------------

MATHJAX_PACKAGE = "sphinx-mathjax-offline"
MATHJAX_ENTRY = "tex-svg-full.js"  # TeX input (every extension built in) and SVG output: no font files


def mathjax_source() -> Path:
    """The MathJax 3 distribution (the official 3.2.2 files) inside the installed
    ``sphinx-mathjax-offline`` wheel, found through its metadata: the Makefile installs it with
    ``--no-deps``, as we need its files, not Sphinx."""
    import importlib.metadata

    try:
        files = importlib.metadata.distribution(MATHJAX_PACKAGE).files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for f in files:
        if f.name == MATHJAX_ENTRY and f.parent.name == "mathjax":
            return Path(f.locate()).parent
    raise PluginError(
        f"MathJax is missing: the site serves it from the package `{MATHJAX_PACKAGE}`. Install it with "
        f"`pip install --no-deps -c constraints.txt {MATHJAX_PACKAGE}` (`make docs` does this)."
    )


def copy_mathjax(target: Path) -> None:
    """The SVG build and what it loads on demand (the menu, accessibility, speech rules); not the
    other combined builds nor the CommonHTML web fonts, which the site never asks for."""
    source = mathjax_source()
    skip = {p.name for p in source.glob("*.js") if p.name not in (MATHJAX_ENTRY, "loader.js", "startup.js", "core.js")}
    skip |= {"chtml", "chtml.js", "node-main.js"}
    shutil.copytree(source, target, dirs_exist_ok=True, ignore=lambda _dir, names: [n for n in names if n in skip])


# ------------------------------------------------------------------------------------------------
# The offline scan
# ------------------------------------------------------------------------------------------------

# Resources a page loads (not links a reader may follow): these must all come from the site.
EXTERNAL_RESOURCE_RES = (
    re.compile(r"<script\b[^>]*\ssrc=[\"']((?:https?:)?//[^\"']+)", re.I),
    re.compile(r"<(?:img|iframe|source|video|audio|embed|track)\b[^>]*\ssrc=[\"']((?:https?:)?//[^\"']+)", re.I),
    re.compile(r"<link\b(?=[^>]*\srel=[\"'][^\"']*(?:stylesheet|icon|preload|prefetch|modulepreload|manifest|preconnect|dns-prefetch))[^>]*\shref=[\"']((?:https?:)?//[^\"']+)", re.I),
    re.compile(r"\bimport\s*\(?\s*[\"']((?:https?:)?//[^\"']+)", re.I),
    re.compile(r"@import\s+(?:url\()?[\"']?((?:https?:)?//[^\"')]+)", re.I),
    re.compile(r"url\(\s*[\"']?((?:https?:)?//[^\"')]+)", re.I),
)


def external_resources(html: str) -> list[str]:
    """URLs of scripts, styles, fonts, images and frames that ``html`` would fetch from another host."""
    found = []
    for pattern in EXTERNAL_RESOURCE_RES:
        found += pattern.findall(html)
    return sorted(set(found))


def warn_external_resources(output: str, where: str) -> None:
    """A warning (an error with ``strict: true``) for each resource the page loads from another host."""
    for url in external_resources(output):
        log.warning("%s: the page loads %s from another host; the site must work offline", where, url)


# ------------------------------------------------------------------------------------------------
# Writing the assets
# ------------------------------------------------------------------------------------------------

CLIPBOARD_LISTENER = """
document.addEventListener("clipboard-copy", function (event) {
  const notice = event.target.querySelector(".notice");
  if (!notice) return;
  notice.hidden = false;
  setTimeout(function () { notice.hidden = true; }, 1000);
});
"""


def processor_table(cache_dir: Path | None) -> str:
    """``decoding_lessons.processors.table_json()``, kept in the notebook cache's fingerprint
    directory (whose key covers the package source), so a rebuild does not import the package."""
    import subprocess
    import sys

    cached = cache_dir / "processors.json" if cache_dir is not None else None
    if cached is not None and cached.is_file():
        return cached.read_text(encoding="utf-8")
    code = "from decoding_lessons.processors import table_json; print(table_json())"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise PluginError(f"the processor table could not be written: {result.stderr.strip()[-2000:]}")
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{cached.name}.{os.getpid()}")
        tmp.write_text(result.stdout, encoding="utf-8")
        os.replace(tmp, cached)
    return result.stdout


def write_processor_table(site: Path, cache_dir: Path | None) -> None:
    (site / PROCESSORS_JSON).parent.mkdir(parents=True, exist_ok=True)
    (site / PROCESSORS_JSON).write_text(processor_table(cache_dir), encoding="utf-8")


def write_playground(site: Path, cache_dir: Path | None) -> None:
    """The playground's contexts (``python -m decoding_lessons.playground``: the build's model, one
    forward pass per context), kept in the notebook cache's fingerprint directory, whose key covers
    the model choice and the package source, so a rebuild copies them instead of loading the model."""
    import subprocess
    import sys
    import tempfile

    target = site / PLAYGROUND_DIR
    cached = cache_dir / "playground" if cache_dir is not None else None
    if cached is None or not (cached / "index.json").is_file():
        out = cached if cached is not None else Path(tempfile.mkdtemp(prefix="dl-playground-")) / "playground"
        cmd = [sys.executable, "-m", "decoding_lessons.playground", str(out)]
        result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            raise PluginError(f"the playground's contexts could not be written: {result.stderr.strip()[-3000:]}")
        log.info("%s", result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "playground written")
        source = out
    else:
        source = cached
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    if cached is None:
        shutil.rmtree(source.parent, ignore_errors=True)


_VERSION = re.compile(r"plotly\.js(?: \([^)]*\))? v(\d+)\.(\d+)\.(\d+)")


def bundle_version(path: Path) -> tuple[int, int, int]:
    """The plotly.js version in a bundle's header comment (``* plotly.js (cartesian - minified) v4.1.1``)."""
    with open(path, encoding="utf-8") as fh:
        match = _VERSION.search(fh.read(600))
    if match is None:
        raise PluginError(f"{path}: no plotly.js version in its header")
    return tuple(int(x) for x in match.groups())


def copy_plotly(site: Path) -> None:
    """Serve the partial bundle as ``assets/javascripts/plotly.min.js``; refuse one whose major
    version is not the one the installed plotly package writes figures for."""
    import plotly

    shipped = bundle_version(Path(plotly.__file__).parent / "package_data" / "plotly.min.js")
    ours = bundle_version(PLOTLY_BUNDLE)
    if ours[0] != shipped[0]:
        raise PluginError(
            f"hooks/vendor/plotly-cartesian.min.js is plotly.js {'.'.join(map(str, ours))}, but the installed plotly "
            f"{plotly.__version__} writes figures for plotly.js {'.'.join(map(str, shipped))}: update the bundle "
            "(hooks/vendor/README.md says how)"
        )
    target = site / PLOTLY_JS
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PLOTLY_BUNDLE, target)


_NEWPLOT = re.compile(r'Plotly\.newPlot\(\s*"[^"]+",\s*')


def check_trace_types(html: str, where: str) -> None:
    """Fail the build when a figure on the page draws a trace type the served bundle lacks."""
    import json

    decoder = json.JSONDecoder()
    missing = set()
    for match in _NEWPLOT.finditer(html):
        try:
            data, _ = decoder.raw_decode(html, match.end())
        except ValueError:
            continue
        missing |= {t.get("type", "scatter") for t in data if isinstance(t, dict)} - PLOTLY_TRACES
    if missing:
        raise PluginError(
            f"{where} draws the plotly trace type(s) {', '.join(sorted(missing))}, which the site's plotly.js bundle "
            f"(hooks/vendor/plotly-cartesian.min.js) lacks; it has {', '.join(sorted(PLOTLY_TRACES))}"
        )


def write_notebook_js(site: Path) -> None:
    (site / NOTEBOOK_JS).write_text(
        "/* mkdocs-jupyter's copy buttons for notebook cells, served once (hooks/build.py) */\n"
        + clipboard_script()
        + CLIPBOARD_LISTENER,
        encoding="utf-8",
    )


def write_notebook_css(site: Path, blocks: list[str], pages: int) -> None:
    """The CSS blocks cut out of ``pages`` notebook pages, once (nothing when there were none)."""
    if blocks:
        css = site / NOTEBOOK_CSS
        css.parent.mkdir(parents=True, exist_ok=True)
        # mkdocs-jupyter scoped .highlight to .highlight-ipynb; the blocks are identical on every page
        css.write_text("/* mkdocs-jupyter's notebook CSS, once for all pages (hooks/build.py) */\n" + "\n".join(blocks) + "\n", encoding="utf-8")
        log.info("notebook CSS: %d KB from %d notebook pages into %s", len("".join(blocks)) // 1024, pages, NOTEBOOK_CSS)


def write_live(site: Path) -> None:
    """The playground's live model and its runtime into ``assets/live/`` (see the module's docstring).
    The model is always the embedded one, whatever model the site is built with."""
    import hashlib
    import subprocess
    import sys

    target = site / LIVE_DIR
    result = subprocess.run([sys.executable, "-m", "decoding_lessons.live", str(target)], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise PluginError(f"the playground's live model could not be written: {result.stderr.strip()[-3000:]}")
    log.info("%s", result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "live model written")
    for name, sha in LIVE_VENDOR.items():
        source = ROOT / "hooks" / "vendor" / name
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        if digest != sha:
            raise PluginError(f"hooks/vendor/{name} has sha256 {digest}, not the recorded {sha} (hooks/vendor/README.md)")
        shutil.copyfile(source, target / source.name)
