"""Notebook pages after mkdocs-jupyter rendered them: the failing cell named, the header cut off,
links between lessons, stable cell ids, the table of contents; and the API reference's roles.

* **A failing cell** fails the build with the notebook and the cell named (``allow_errors: false``
  makes nbclient raise; we add the page's source path and the cell's number and first line).
* **Light pages.** mkdocs-jupyter inlines ~575 KB of notebook CSS, a clipboard script, a MathJax
  stub pointing nowhere and a mermaid loader from a CDN into *every* notebook page. We cut that
  header out of each page (``build_assets`` serves the CSS and the clipboard script once); a
  notebook with a mermaid diagram fails the build (mermaid would come from a CDN).
* **Links in notebooks.** MkDocs rewrites links between Markdown pages but not links inside
  notebooks. We rewrite a notebook link to another documentation file (``02_sampling.py``,
  ``../index.md#anchor``) into that page's URL, and warn about one whose target does not exist.
* **Cell ids** are numbered, and the **TOC** is rebuilt from the headings as rendered.
* **API reference.** mkdocstrings renders Sphinx-style roles (``:class:`LogitCapture```) as text
  with a code span; we turn them into links to the object's entry on the page.
"""

from __future__ import annotations

import html as html_lib
import itertools
import logging
import posixpath
import re
from pathlib import Path
from urllib.parse import urlsplit

from mkdocs.exceptions import PluginError

from build_mkdocs_jupyter import HEADER_END, MERMAID_MARKER, is_known_header_script

log = logging.getLogger("mkdocs.hooks.build")


def name_failing_cell(page) -> None:
    """Wrap mkdocs-jupyter's render of ``page`` so a failing cell names the notebook and the cell."""
    render = page.render

    def render_naming_the_cell(config, files):
        try:
            render(config, files)
        except Exception as error:  # nbclient's CellExecutionError, a timeout, a dead kernel
            raise PluginError(describe_failure(page.file.src_uri, page.file.abs_src_path, error)) from error

    page.render = render_naming_the_cell


ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")


def describe_failure(src_uri: str, abs_src_path: str, error: Exception) -> str:
    """``notebook docs/lessons/x.py failed at cell 3 of 4 (line 19: `value = y / 0`): ZeroDivisionError: ...``
    followed by nbclient's report (the cell's source and the traceback), without colour codes."""
    message = ANSI_RE.sub("", str(error)).strip()
    # nbclient's CellExecutionError quotes the failing cell's source between dashed lines, and its
    # traceback names the line inside the cell ("Cell In[2], line 2"); a timeout names neither.
    quoted = re.search(r"-{5,}\n(.*?)\n-{5,}", message, re.S)
    in_cell = re.search(r"In\s*\[\d*\],\s*line (\d+)", message)
    where = _locate_cell(abs_src_path, quoted.group(1) if quoted else None, int(in_cell.group(1)) if in_cell else None)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    summary = next((line for line in lines if "timed out" in line), None) or (lines[-1] if lines else type(error).__name__)
    return f"notebook docs/{src_uri} failed{where}: {summary}\n{message}"


def _locate_cell(abs_src_path: str, source: str | None, line_in_cell: int | None) -> str:
    """`` at cell N of M (line L: `code`)``: the cell whose source is ``source``, and the failing line
    in the ``.py`` file (the cell's first line if the traceback did not say)."""
    if not source:
        return ""
    try:
        import jupytext

        cells = jupytext.read(abs_src_path).cells
        text = Path(abs_src_path).read_text(encoding="utf-8")
    except Exception:  # pragma: no cover - the plugin read the notebook a moment ago
        return ""
    wanted = source.strip()
    if wanted.startswith("[") and wanted.endswith("]"):  # a timeout previews the cell as a list of lines
        try:
            import ast

            wanted = "\n".join(ast.literal_eval(wanted)).strip()
        except (ValueError, SyntaxError):
            pass
    for number, cell in enumerate(cells, start=1):
        body = cell.source.strip()
        if cell.cell_type != "code" or not body or (body != wanted and wanted not in body):
            continue
        cell_lines = body.splitlines()
        index = min(max((line_in_cell or 1) - 1, 0), len(cell_lines) - 1)
        position = text.find(body)
        line = f"line {text.count(chr(10), 0, position) + 1 + index}: " if position >= 0 else ""
        return f" at cell {number} of {len(cells)} ({line}`{cell_lines[index].strip()}`)"
    return ""


STYLE_RE = re.compile(r"<style[^>]*>(.*?)</style>", re.S)
SCRIPT_RE = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)
COMMENT_RE = re.compile(r"<!--.*?-->", re.S)


def split_notebook_header(html: str, where: str) -> tuple[list[str], str]:
    """Cut mkdocs-jupyter's per-page header (everything before the notebook's wrapper div) off
    ``html``: return the CSS blocks it inlined and the rest of the page.

    The header holds, in mkdocs-jupyter 0.26 (``build_mkdocs_jupyter`` knows it): the clipboard-copy element and its listener (served
    once as ``notebook.js``), the Pygments and JupyterLab CSS (served once as ``notebook.css``), an
    empty MathJax ``<script src="">`` with its v2 config (we load MathJax ourselves), and a module
    script importing mermaid from a CDN (dropped). Anything else is kept in place and reported."""
    start = html.find(HEADER_END)
    if start < 0:
        return [], html
    header, body = html[:start], html[start:]
    css = [m.group(1).strip() for m in STYLE_RE.finditer(header)]
    leftover = STYLE_RE.sub("", header)
    kept = []
    for match in SCRIPT_RE.finditer(leftover):
        attrs, text = match.group(1), match.group(2)
        if not is_known_header_script(attrs, text):
            kept.append(match.group(0))
            log.warning("%s: unexpected script in mkdocs-jupyter's page header, left in place: %.80s", where, match.group(0))
    rest = COMMENT_RE.sub("", SCRIPT_RE.sub("", leftover)).strip()
    if rest:
        kept.append(rest)
    return css, "\n".join(kept) + body


HREF_RE = re.compile(r'(<a\b[^>]*?\shref=")([^"]*)(")')
DOC_SUFFIXES = (".md", ".py", ".ipynb")


def rewrite_notebook_links(html: str, page, files) -> str:
    """Point links written against source files (``02_x.py``, ``../index.md#a``) at the built pages."""

    def fix(match):
        href = html_lib.unescape(match.group(2))
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or href.startswith(("#", "/", "mailto:")) or not parts.path:
            return match.group(0)
        target = posixpath.normpath(posixpath.join(posixpath.dirname(page.file.src_uri), parts.path))
        file = files.get_file_from_path(target)
        if file is None:
            if parts.path.endswith(DOC_SUFFIXES):
                log.warning("%s: a notebook link points to '%s', which is not a documentation file", page.file.src_uri, href)
            return match.group(0)
        if not file.is_documentation_page():
            return match.group(0)
        url = file.url_relative_to(page.file) + (f"#{parts.fragment}" if parts.fragment else "")
        return match.group(1) + html_lib.escape(url) + match.group(3)

    return HREF_RE.sub(fix, html)


def refuse_mermaid(html: str, where: str) -> None:
    """A mermaid diagram fails the build: it needs mermaid.js from a CDN."""
    if MERMAID_MARKER in html:
        raise PluginError(f"{where}: a mermaid diagram needs mermaid.js from a CDN; the site works offline, so draw it with Plotly instead")


CELL_ID_RE = re.compile(r'id="cell-id=[^"]*"')


def number_cells(html: str) -> str:
    """jupytext gives a ``.py`` notebook's cells random ids, which mkdocs-jupyter writes into the
    page (``id="cell-id=8bd9e9f9"``): every build would change every page (and every ``mike``
    deployment every file). Number them instead: ``id="nb-cell-1"``, ``id="nb-cell-2"``, ...
    (``cell-N`` is taken: mkdocs-jupyter's copy buttons find their text by those ids)."""
    counter = itertools.count(1)
    return CELL_ID_RE.sub(lambda _: f'id="nb-cell-{next(counter)}"', html)


HEADING_RE = re.compile(r'<h([1-6])\b[^>]*\sid="([^"]+)"[^>]*>(.*?)</h\1>', re.S)


def toc_from_headings(html: str, fallback):
    """The table of contents from the headings as rendered, with their real ids.

    mkdocs-jupyter builds the TOC from a Markdown export that drops inline code, so a heading like
    "The hidden `top_k=50` again" gets the anchor ``#the-hidden-again`` in the TOC while the page
    has ``id="the-hidden-top_k50-again"``: a dead link. Rebuilding it from the page fixes that."""
    from mkdocs.structure.toc import get_toc

    root: list[dict] = []
    stack: list[dict] = []
    for level, anchor, inner in HEADING_RE.findall(html):
        inner = re.sub(r'<a class="anchor-link".*?</a>', "", inner, flags=re.S)
        name = html_lib.escape(html_lib.unescape(re.sub(r"<[^>]+>", "", inner)).strip())
        token = {"level": int(level), "id": anchor, "name": name, "children": []}
        while stack and stack[-1]["level"] >= token["level"]:
            stack.pop()
        (stack[-1]["children"] if stack else root).append(token)
        stack.append(token)
    return get_toc(root) if root else fallback


ROLE_RE = re.compile(r":(?:py:)?(class|func|meth|mod|data|attr|obj|exc|const):<code>~?\.?([\w.]+)(\(\))?</code>")


def link_sphinx_roles(html: str) -> str:
    """``:class:<code>X</code>`` (a Sphinx role, as Markdown renders it) -> a link to X's entry."""
    ids = set(re.findall(r'\sid="([\w.]+)"', html))

    def fix(match):
        name = match.group(2)
        label = name + (match.group(3) or "")
        candidates = [name, f"decoding_lessons.{name}"]
        candidates += sorted(i for i in ids if i.endswith(f".{name}"))
        target = next((c for c in candidates if c in ids), None)
        code = f"<code>{label}</code>"
        return f'<a class="autorefs autorefs-internal" href="#{target}">{code}</a>' if target else code

    return ROLE_RE.sub(fix, html)

