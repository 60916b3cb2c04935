"""Everything the hooks know about mkdocs-jupyter's insides, for the one version they were written for.

The hooks lean on parts of mkdocs-jupyter that are not its public API: the functions that name a
notebook's cache entry (``_compute_cache_key``, ``_get_cache_path``) and compute its table of
contents (``_get_nb_toc_tokens``), the format of a cache entry (what the parallel executor writes
for the plugin's render to find), the config keys its render passes to ``convert.nb2html``, the
header its template puts before every notebook page (cut off by ``build_pages``), the attribute
that marks a notebook page and where its clipboard script lies. A new release may change any of
them without notice, so importing this module checks the installed version and fails the build
with one message on any other. No other hook module imports ``mkdocs_jupyter``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
from pathlib import Path

from mkdocs.exceptions import PluginError

WRITTEN_FOR = ("0.26.3",)  # the pin in constraints.txt and pyproject.toml


def installed_version() -> str | None:
    """The installed mkdocs-jupyter's version (``None`` when it is not installed)."""
    try:
        return importlib.metadata.version("mkdocs-jupyter")
    except importlib.metadata.PackageNotFoundError:
        return None


def check_version() -> None:
    """Fail, with one message, unless the installed mkdocs-jupyter is one this module was written for."""
    installed = installed_version()
    if installed in WRITTEN_FOR:
        return
    raise PluginError(
        f"mkdocs-jupyter {installed or '(not installed)'} is installed, but hooks/build_mkdocs_jupyter.py was "
        f"written for mkdocs-jupyter {' or '.join(WRITTEN_FOR)}: it uses the plugin's private API "
        "(_compute_cache_key, _get_cache_path, _get_nb_toc_tokens, its cache format and page header). "
        f"Install {WRITTEN_FOR[-1]} (`pip install -c constraints.txt mkdocs-jupyter`), or check that file "
        "against the installed version and add it to WRITTEN_FOR."
    )


check_version()

import mkdocs_jupyter  # noqa: E402  (only once the version is known)
from mkdocs_jupyter import convert  # noqa: E402
from mkdocs_jupyter.plugin import _compute_cache_key, _get_cache_path, _get_nb_toc_tokens  # noqa: E402

# ------------------------------------------------------------------------------------------------
# The cache
# ------------------------------------------------------------------------------------------------

# The plugin's config keys that its render passes to convert.nb2html (and toc_depth, for the TOC):
# the parallel executor renders with the same options, so that its cache entries are the plugin's.
PRE_EXECUTE_OPTIONS = (
    "kernel_name", "theme", "allow_errors", "show_input", "no_input", "no_prompt", "remove_tag_config",
    "highlight_extra_classes", "include_requirejs", "custom_mathjax_url", "toc_depth",
)


def cache_path(plugin_config, path: str) -> Path:
    """Where the plugin's render looks for the cache entry of the executed notebook at ``path``."""
    return _get_cache_path(plugin_config["cache_dir"], _compute_cache_key(path, plugin_config, True))


def render(src: str, options: dict) -> str:
    """The executed notebook's HTML, as the plugin's render makes it (``options``: the
    :data:`PRE_EXECUTE_OPTIONS` but ``toc_depth``)."""
    return convert.nb2html(src, execute=True, **options)


def write_cache_entry(target: Path, src: str, body: str, toc_depth) -> None:
    """A cache entry for the page ``body`` of the notebook ``src``, in the plugin's format, written
    atomically (the plugin's render may read it at any moment)."""
    toc_tokens, title = _get_nb_toc_tokens(src, toc_depth)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"content": body, "toc_tokens": toc_tokens, "title": title}), encoding="utf-8")
    os.replace(tmp, target)


# ------------------------------------------------------------------------------------------------
# The pages
# ------------------------------------------------------------------------------------------------


def is_notebook(page) -> bool:
    """Whether the plugin rendered ``page`` from a notebook (it sets ``nb_url`` on those)."""
    return getattr(page, "nb_url", None) is not None


# The template's header is everything before the notebook's wrapper div.
HEADER_END = '<div class="jupyter-wrapper">'

# A mermaid diagram in a notebook page (it needs the template's mermaid loader, from a CDN).
MERMAID_MARKER = 'class="jp-Mermaid"'


def is_known_header_script(attrs: str, text: str) -> bool:
    """Whether a ``<script{attrs}>{text}</script>`` of the page header is one the template puts
    there: the clipboard-copy element and its listener, the empty MathJax ``<script src="">`` and
    its v2 config, or the module script importing mermaid from a CDN."""
    return bool(
        "ClipboardCopyElement" in text
        or "clipboard-copy" in text
        or re.search(r'src=""', attrs)
        or "text/x-mathjax-config" in attrs
        or ("module" in attrs and "mermaid" in text)
    )


def clipboard_script() -> str:
    """The clipboard-copy element's script that the template inlines into every notebook page."""
    path = Path(mkdocs_jupyter.__file__).parent / "templates" / "mkdocs_html" / "assets" / "clipboard.umd.js"
    return path.read_text(encoding="utf-8")
