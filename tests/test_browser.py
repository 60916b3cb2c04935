"""The site as a reader meets it: served on 127.0.0.1 and opened in Debian's Chromium.

Each lesson page is held to what its source says it contains (:func:`expected_page`, read from
``docs/lessons/NN_x.py`` and the built page, never from what the browser happens to show): as many
charts as its code cells show, each drawn (an SVG with as many traces as the figure has); every
formula of its Markdown cells typeset; every slider of its charts with at least two steps, and the
chart changing when it moves. There is no console error or page error, no request leaves
127.0.0.1 (each one is blocked and recorded), and every visible text on the page, chart text
included, keeps its contrast in the light and the dark palette. Instant navigation from lesson to
lesson still draws every chart and typesets every formula. A screenshot of each lesson goes to
``test-artifacts/``.

A small site of our own (math, a slider, two pages) checks the same machinery independently of
what the lessons happen to contain.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import jupytext
import pytest

from conftest import ROOT, build_and_serve, lesson_stems, new_project, notebook, plotly_charts

LESSONS = lesson_stems()
NAV_TIMEOUT_MS = 60_000
RENDER_TIMEOUT_MS = 60_000


# ------------------------------------------------------------------------------------------------
# A browser that records every request leaving the site
# ------------------------------------------------------------------------------------------------


class Reader:
    """One browser context (one cache: plotly.js is fetched once) with its problems recorded."""

    def __init__(self, browser, base_url: str):
        self.base_url = base_url
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
        self.context.set_default_timeout(RENDER_TIMEOUT_MS)
        self.context.set_default_navigation_timeout(NAV_TIMEOUT_MS)
        self.external: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("requestfailed", self._failed)

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.base_url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.external.append(url)
            route.abort("blockedbyclient")

    def _failed(self, request):
        if request.url.startswith(self.base_url):
            self.errors.append(f"request failed: {request.url} ({request.failure})")

    def take_problems(self) -> tuple[list[str], list[str]]:
        problems = (list(self.errors), list(self.external))
        self.errors.clear()
        self.external.clear()
        return problems

    def close(self):
        self.context.close()


# ------------------------------------------------------------------------------------------------
# What a page must show, from its source
# ------------------------------------------------------------------------------------------------

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE_MATH = re.compile(r"\$(?=\S)([^$]+?)(?<=\S)\$")


def count_formulas(markdown: str) -> int:
    """The ``$$…$$`` and ``$…$`` formulas of a Markdown cell, as MathJax finds them (``\\$`` is a
    dollar sign; code spans and fenced code are not math)."""
    text = _CODE_SPAN.sub("", _FENCE.sub("", markdown)).replace("\\$", "")
    display = len(_DISPLAY_MATH.findall(text))
    return display + len(_INLINE_MATH.findall(_DISPLAY_MATH.sub("", text)))


def _is_show(node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "show" and not node.args


def count_shows(code: str) -> tuple[int, float]:
    """How many charts a code cell shows: ``(at least, at most)``. A ``fig.show()`` statement of its
    own shows one; one under an ``if`` or ``try`` may not run; one in a loop or a function may run
    any number of times."""
    low, high = 0, 0.0
    for statement in ast.parse(code).body:
        shows = sum(_is_show(node) for node in ast.walk(statement))
        if isinstance(statement, ast.Expr) and _is_show(statement.value):
            low, high = low + 1, high + 1
        elif shows:
            repeats = any(isinstance(n, (ast.For, ast.AsyncFor, ast.While, ast.comprehension, ast.FunctionDef, ast.Lambda)) for n in ast.walk(statement))
            high = float("inf") if repeats else high + shows
    return low, high


@dataclass(frozen=True)
class Expected:
    """What a lesson page must contain, read from its source and its built HTML."""

    formulas: int  # in its Markdown cells: each one is typeset in the page's Markdown cells
    charts: tuple[int, float]  # the charts its code cells show: (at least, at most)
    mentions_slider: bool  # its prose tells the reader to move a slider: at least one slider chart
    sliders: int  # the sliders of its charts' figures, as the build wrote them: each one must move


def expected_page(source: str, html: str) -> Expected:
    cells = jupytext.reads(source, fmt="py:percent").cells
    markdown = [c.source for c in cells if c.cell_type == "markdown"]
    shows = [count_shows(c.source) for c in cells if c.cell_type == "code"]
    return Expected(
        formulas=sum(count_formulas(m) for m in markdown),
        charts=(sum(low for low, _ in shows), sum(high for _, high in shows)),
        mentions_slider=any(re.search(r"\bslider", m, re.I) for m in markdown),
        sliders=sum(len(layout.get("sliders") or []) for _, _, layout in plotly_charts(html)),
    )


def lesson_source(stem: str) -> str:
    return (ROOT / "docs" / "lessons" / f"{stem}.py").read_text()


def test_formulas_and_shows_are_counted_as_the_reader_sees_them():
    assert count_formulas("Logits $z_i$ and $$p_i = \\frac{e^{z_i}}{Z}$$, with `$x$` in code and a price \\$5.") == 2
    assert count_formulas("```\n$a$\n```\nThen $T\n> 0$ over two lines.") == 1
    assert count_formulas("No math: 5 $ and 6 $.") == 0
    assert count_shows("fig.show()\nif x:\n    fig.show()") == (1, 2)
    assert count_shows("for f in figs:\n    f.show()") == (0, float("inf"))
    assert count_shows("dl.token_chart(step).show()\nprint(1)") == (1, 1)


# ------------------------------------------------------------------------------------------------
# What a page shows
# ------------------------------------------------------------------------------------------------

# The drawn traces of a Plotly graph div: one group per trace, whatever its type.
COUNT_TRACES = """
gd => {
  const groups = gd.querySelectorAll(
    '.cartesianlayer g.trace, .cartesianlayer g.hm, .polarlayer g.trace, .ternarylayer g.trace, .pielayer g.trace,' +
    '.funnelarealayer g.trace, .treemaplayer g.trace, .sunburstlayer g.trace, .iciclelayer g.trace, .indicatorlayer g.trace,' +
    '.sankey, .table');
  return {
    svgs: gd.querySelectorAll('svg.main-svg').length,
    traces: groups.length,
    data: (gd.data || []).length,
    visible: (gd._fullData || []).filter(t => t.visible === true).length,
  };
}
"""

CHARTS_DRAWN = """
expected => {
  const divs = [...document.querySelectorAll('.plotly-graph-div')];
  return divs.length === expected && divs.every(d => d.classList.contains('js-plotly-plot') && d._fullLayout && d.querySelector('svg.main-svg'));
}
"""


def expected_traces(traces: list) -> int:
    return sum(1 for t in traces if t.get("visible", True) is True)


def check_charts_drawn(page, html: str, where: str) -> list:
    charts = plotly_charts(html)
    page.wait_for_function(CHARTS_DRAWN, arg=len(charts))
    for div_id, traces, _layout in charts:
        counts = page.locator(f"#{div_id}").evaluate(COUNT_TRACES)
        assert counts["svgs"] >= 1, (where, div_id, counts)
        assert counts["data"] == len(traces), (where, div_id, counts)
        assert counts["traces"] == expected_traces(traces), f"{where}: chart {div_id} drew {counts['traces']} traces, the figure has {expected_traces(traces)}"
    return charts


def chart_state(page, div_id: str) -> str:
    """What the chart shows: its plot area's SVG and its title and annotations."""
    return page.locator(f"#{div_id}").evaluate(
        "gd => [...gd.querySelectorAll('.cartesianlayer, .infolayer .annotation, .gtitle, .pielayer')].map(e => e.outerHTML).join('')"
    )


def check_sliders_move(page, charts: list, where: str) -> int:
    """Drag each slider chart's slider to another step and see the chart change. A slider with
    fewer than two steps is a broken chart (nothing to move to), not one to skip."""
    moved = 0
    for div_id, _traces, layout in charts:
        for index, slider in enumerate(layout.get("sliders") or []):
            steps = slider.get("steps") or []
            assert len(steps) >= 2, f"{where}: chart {div_id}'s slider {index} has {len(steps)} step(s)"
            chart = page.locator(f"#{div_id}")
            assert chart.locator("g.slider-container").count() == len(layout["sliders"]), (where, div_id, "sliders not drawn")
            chart.scroll_into_view_if_needed()
            active = chart.evaluate(f"gd => gd._fullLayout.sliders[{index}].active")
            before = chart_state(page, div_id)
            rail = chart.locator("g.slider-container").nth(index).locator("rect.slider-rail-touch-rect")
            box = rail.bounding_box()
            assert box, (where, div_id, "no slider rail")
            target = 0.97 if active < len(steps) / 2 else 0.03
            rail.click(position={"x": box["width"] * target, "y": box["height"] / 2}, force=True)
            page.wait_for_function(
                f"([id, a]) => document.getElementById(id)._fullLayout.sliders[{index}].active !== a", arg=[div_id, active]
            )
            page.wait_for_timeout(150)  # the update's redraw
            after = chart_state(page, div_id)
            assert after != before, f"{where}: chart {div_id} did not change when its slider moved"
            moved += 1
    return moved


MATH_SOURCES = ".jp-RenderedMarkdown, .jp-MarkdownOutput, .arithmatex"


def check_math(page, where: str, formulas: int | None = None) -> int:
    """Wait for MathJax: where the page has math every formula typeset, none failed, no display
    delimiters left as text. ``formulas``: how many its Markdown cells hold (from the source):
    exactly that many are typeset there, and a page with math that says "none" fails (its math
    detection broke). Returns the number of formulas typeset on the page."""
    article = "document.querySelector('article.md-content__inner')"
    # the state is read in the same evaluation that waits for it, and only on an article that is not
    # the previous page's (instant navigation swaps the article after the URL has changed)
    state = page.wait_for_function(
        f"""() => {{ const a = {article};
                    const s = a && !a.dataset.dlLeft && a.getAttribute('data-dl-math');
                    return ['typeset', 'none', 'failed'].includes(s) ? s : null; }}"""
    ).json_value()
    if formulas:
        assert state != "none", f"{where}: the source has {formulas} formula(s), and the page found no math"
    if state == "none":
        # independently of site.js: no Markdown on the page holds a math delimiter
        delimited = page.evaluate(
            "sel => [...document.querySelectorAll(sel)].filter(e => /\\$|\\\\\\(|\\\\\\[|\\\\begin\\{/.test(e.textContent)).length", MATH_SOURCES
        )
        assert delimited == 0, f"{where}: {delimited} Markdown block(s) hold math delimiters, and the page found no math"
        return 0
    assert state == "typeset", f"{where}: MathJax failed"
    result = page.evaluate(
        """sel => ({
          in_cells: document.querySelectorAll('article .jp-MarkdownCell mjx-container').length,
          rendered: document.querySelectorAll('mjx-container svg').length,
          errors: document.querySelectorAll('mjx-container [data-mml-node="merror"], mjx-merror').length,
          raw: [...document.querySelectorAll(sel)].filter(e => /\\$\\$|\\\\\\(|\\\\\\[/.test(
                 [...e.querySelectorAll('*')].concat([e]).flatMap(n => [...n.childNodes]).filter(n => n.nodeType === 3
                   && !n.parentElement.closest('code, pre, mjx-container')).map(n => n.textContent).join(''))).length,
        })""",
        MATH_SOURCES,
    )
    assert result["rendered"] > 0, (where, result)
    assert result["errors"] == 0, f"{where}: MathJax could not typeset {result['errors']} formula(s)"
    assert result["raw"] == 0, f"{where}: {result['raw']} Markdown cell(s) still show $$, \\( or \\[ as text"
    if formulas is not None:
        assert result["in_cells"] == formulas, f"{where}: {result['in_cells']} formula(s) typeset in the Markdown cells, the source has {formulas}"
    return result["rendered"]


def leave(page) -> None:
    """Mark the page's article as left before following a link, so that checks after an instant
    navigation wait for the next page's article instead of reading the old one."""
    page.evaluate("document.querySelector('article.md-content__inner').dataset.dlLeft = '1'")


PARSE_COLOR = """
(() => {
  const canvas = document.createElement('canvas').getContext('2d');
  window.__dlRGB = c => { canvas.fillStyle = '#000'; canvas.fillStyle = c; const v = canvas.fillStyle;
    if (v.startsWith('#')) return [1,3,5].map(i => parseInt(v.slice(i, i + 2), 16)).concat([1]);
    const m = v.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
})()
"""

# Every visible text of the page, chart text included, against what lies behind it: the first
# opaque background up its ancestors (semi-transparent ones composited over it), the colour (SVG
# text: its fill) composited with its alpha and its ancestors' opacity. The contrast ratio is WCAG's;
# the bar is 4.5 (AA), or 3 for large text (24 px, or 18.66 px bold) outside charts. Computed in the
# page (1,000-2,500 text nodes a lesson), returning the counts and the failures only.
#
# Two known exceptions, both mkdocs-jupyter's notebook styles rather than ours (measured on lessons
# 01-15): the syntax colours of code cells fall below 4.5 (operators #AA22FF: 4.4 on the light code
# background, 3.36 on the dark one; numbers #008800: 4.26; comments #408080: 4.17 / 3.54), so code
# tokens are held to 3 (AA's bar for large text); the "In [n]:" prompts (#B0B0B0, 2.17) are not held
# to any. Everything else, prose, navigation, tables, outputs and charts, is held to 4.5.
CODE_TOKENS = ".highlight-ipynb"
CODE_MIN = 3.0
NOT_CHECKED = ".jp-InputPrompt, .jp-OutputPrompt"
CONTRAST = """
([chartText, chartMin, codeTokens, codeMin, notChecked]) => {
  const rgb = window.__dlRGB;
  const channel = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const lum = c => 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2]);
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const over = (top, alpha, bottom) => [0, 1, 2].map(i => top[i] * alpha + bottom[i] * (1 - alpha));
  const canvas = (() => { const c = rgb(getComputedStyle(document.documentElement).backgroundColor);
                          return c[3] > 0 ? over(c, c[3], [255, 255, 255]) : [255, 255, 255]; })();
  const behind = new Map(), opacity = new Map();
  const background = el => {
    if (!el || el === document.documentElement) return canvas;
    if (behind.has(el)) return behind.get(el);
    const c = rgb(getComputedStyle(el).backgroundColor);
    const below = c[3] >= 1 ? null : background(el.parentElement);
    const result = c[3] >= 1 ? c.slice(0, 3) : c[3] > 0 ? over(c, c[3], below) : below;
    behind.set(el, result);
    return result;
  };
  const alphaOf = el => {
    if (!el || el === document.documentElement) return 1;
    if (opacity.has(el)) return opacity.get(el);
    const result = Number(getComputedStyle(el).opacity) * alphaOf(el.parentElement);
    opacity.set(el, result);
    return result;
  };
  const visible = el => el.checkVisibility({opacityProperty: true, visibilityProperty: true}) && el.getClientRects().length > 0;
  const failures = [];
  let pageTexts = 0, chartTexts = 0, codeTexts = 0;
  const judge = (el, text, color, alpha, min, what) => {
    const bg = background(el instanceof SVGElement ? el.closest('.plotly-graph-div') : el);
    const fg = over(color, color[3] * alpha, bg);
    const r = ratio(fg, bg);
    if (r < min) failures.push({what, text: text.trim().slice(0, 40), ratio: Math.round(r * 100) / 100, fg: fg.map(Math.round), bg: bg.map(Math.round),
                                where: el.closest('[id]') ? el.closest('[id]').id : el.tagName});
  };
  // the page's text (charts and typeset math are drawn in SVG: charts below, math in currentColor)
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    if (!el || el.closest('script, style, noscript, template, svg, mjx-container, .plotly-graph-div') || el.closest(notChecked) || !visible(el)) continue;
    range.selectNodeContents(node);
    if (![...range.getClientRects()].some(r => r.width > 0 && r.height > 0)) continue;
    const style = getComputedStyle(el);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const code = el.closest(codeTokens) !== null;
    if (code) codeTexts++; else pageTexts++;
    judge(el, node.textContent, rgb(style.color), alphaOf(el), code ? codeMin : size >= 24 || (bold && size >= 18.66) ? 3 : 4.5, code ? 'code' : 'text');
  }
  for (const el of document.querySelectorAll(chartText)) {
    if (!el.textContent.trim() || !el.closest('.plotly-graph-div') || !visible(el)) continue;
    const style = getComputedStyle(el);
    chartTexts++;
    judge(el, el.textContent, rgb(style.fill), Number(style.fillOpacity) * alphaOf(el), chartMin, 'chart text');
  }
  return {pageTexts, chartTexts, codeTexts, failures: failures.slice(0, 25), failed: failures.length};
}
"""
CHART_TEXT = ".xtick text, .ytick text, .g-xtitle text, .g-ytitle text, .gtitle, .legendtext, .slider-label, .annotation-text"


def check_legible(page, where: str, scheme: str, charts: int) -> dict:
    """Every visible text on the page, and every text of its ``charts`` charts, readable against
    what lies behind it. Returns the counts checked."""
    page.evaluate(PARSE_COLOR)
    result = page.evaluate(CONTRAST, [CHART_TEXT, 4.5, CODE_TOKENS, CODE_MIN, NOT_CHECKED])
    assert result["pageTexts"] > 0, (where, scheme, result)
    assert charts == 0 or result["chartTexts"] >= charts, f"{where} ({scheme}): {result['chartTexts']} chart texts for {charts} charts"
    assert not result["failed"], f"{where} ({scheme}): {result['failed']} text(s) below the contrast bar: {result['failures']}"
    return result


def set_scheme(page, scheme: str) -> None:
    """Click Material's palette toggle until the page shows ``scheme`` (default or slate)."""
    for _ in range(3):
        if page.evaluate("document.body.getAttribute('data-md-color-scheme')") == scheme:
            return
        page.locator("form[data-md-component=palette] label.md-header__button:visible").first.click()
        page.wait_for_timeout(100)
    assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == scheme


TABLES_OVERFLOWING = """() => {
  const content = document.querySelector('.md-content__inner').getBoundingClientRect();
  return [...document.querySelectorAll('.md-content table')]
    .filter(t => t.getBoundingClientRect().right > content.right + 1)
    .map(t => `${Math.round(t.getBoundingClientRect().width)} px wide in ${Math.round(content.width)} px: ` +
              t.innerText.split('\\n')[0].slice(0, 80));
}"""


def check_tables_fit(page, where: str) -> None:
    """A table wider than the text column hides its last columns behind a scroll bar (at 1280 px)."""
    overflowing = page.evaluate(TABLES_OVERFLOWING)
    assert not overflowing, f"{where}: tables wider than the page: {overflowing}"


CHART_WIDTHS = """() => {
  const content = document.querySelector('.md-content__inner').getBoundingClientRect().width;
  return {content, charts: [...document.querySelectorAll('.js-plotly-plot')].map(e => e.getBoundingClientRect().width)};
}"""
CHART_MARGIN_PX = 40  # what a chart may leave of the text column's width (the notebook's own 32 px)


CHARTS_FIT = f"""() => {{
  const content = document.querySelector('.md-content__inner').getBoundingClientRect().width;
  return [...document.querySelectorAll('.js-plotly-plot')].every(e => e.getBoundingClientRect().width >= content - {CHART_MARGIN_PX});
}}"""


def check_chart_widths(page, where: str) -> None:
    """The charts take the text column's width: no prompt gutter, no right-hand contents column
    (measured before: 552 of 736 px at 1280, 222 of 358 at 390; now 906 of 938 and 326 of 358).
    After a resize, Plotly redraws each responsive chart on its own schedule: wait for them (up to
    the render timeout) before measuring."""
    try:
        page.wait_for_function(CHARTS_FIT, timeout=RENDER_TIMEOUT_MS)
    except Exception:  # measured and reported below
        pass
    widths = page.evaluate(CHART_WIDTHS)
    narrow = [round(w) for w in widths["charts"] if w < widths["content"] - CHART_MARGIN_PX]
    assert not narrow, f"{where}: charts {narrow} px wide in a {round(widths['content'])} px text column"


def lesson_url(base_url: str, stem: str) -> str:
    return f"{base_url}lessons/{stem}/"


# ------------------------------------------------------------------------------------------------
# The lessons
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reader(browser, site_url):
    reader = Reader(browser, site_url)
    yield reader
    reader.close()


@pytest.fixture(scope="module")
def expectations(built_site) -> dict:
    """``{stem: Expected}`` for every lesson the site under test has."""
    return {stem: expected_page(lesson_source(stem), (built_site / "lessons" / stem / "index.html").read_text()) for stem in LESSONS}


def test_the_site_has_lessons_and_its_lessons_have_sliders_and_math(expectations):
    """What the browser tests below must meet, from the sources and the built pages (so it does
    not depend on which tests ran, or in what order)."""
    assert len(LESSONS) >= 2, "the site has fewer than two lessons"
    assert all(e.charts[0] >= 1 for e in expectations.values()), {s: e.charts for s, e in expectations.items()}
    assert sum(e.sliders for e in expectations.values()) > 0, "no lesson has a slider chart"
    assert sum(e.formulas for e in expectations.values()) > 0, "no lesson has math"


@pytest.mark.parametrize("stem", LESSONS)
def test_lesson_page_in_the_browser(stem, reader, built_site, artifacts, expectations):
    expected = expectations[stem]
    page = reader.page
    html = (built_site / "lessons" / stem / "index.html").read_text()
    page.goto(lesson_url(reader.base_url, stem), wait_until="load")
    set_scheme(page, "default")

    charts = check_charts_drawn(page, html, stem)
    low, high = expected.charts
    assert low <= len(charts) <= high, f"{stem}: {len(charts)} charts on the page, its code cells show {low} to {high}"
    check_tables_fit(page, stem)
    check_chart_widths(page, f"{stem} at 1280 px")
    check_math(page, stem, expected.formulas)
    check_legible(page, stem, "light", len(charts))
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / f"{stem}.png"), full_page=True)

    assert not expected.mentions_slider or expected.sliders >= 1, f"{stem}: the text speaks of a slider, and no chart has one"
    assert check_sliders_move(page, charts, stem) == expected.sliders

    set_scheme(page, "slate")
    check_legible(page, stem, "dark", len(charts))
    page.locator(f"#{charts[0][0]}").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"{stem}-dark.png"))
    set_scheme(page, "default")

    # last, as on a phone (a resize sets Material's navigation and search fading: nothing that
    # measures contrast may run after it on this page)
    page.set_viewport_size({"width": 390, "height": 844})
    check_chart_widths(page, f"{stem} at 390 px")
    page.set_viewport_size({"width": 1280, "height": 900})

    errors, external = reader.take_problems()
    assert not external, f"{stem}: requests to other hosts were tried: {external}"
    assert not errors, f"{stem}: {errors}"


def test_instant_navigation_between_lessons_draws_every_chart(reader, built_site, expectations):
    page = reader.page
    page.goto(reader.base_url, wait_until="networkidle")  # Material reads sitemap.xml to know its pages
    page.evaluate("window.__dlNoReload = true")
    # "next" from the home page to the first lesson, then through all lessons
    for stem in LESSONS:
        leave(page)
        page.locator("a.md-footer__link--next").click()
        page.wait_for_url(re.compile(rf"lessons/{re.escape(stem)}/(#[^/]*)?$"))  # navigation.tracking may add an anchor
        html = (built_site / "lessons" / stem / "index.html").read_text()
        page.wait_for_function(f"() => document.querySelector('.md-content h1') && document.title.length && location.pathname.endsWith('/{stem}/')")
        check_charts_drawn(page, html, f"{stem} (instant navigation)")
        check_math(page, f"{stem} (instant navigation)", expectations[stem].formulas)
        assert page.evaluate("window.__dlNoReload === true"), f"{stem}: the page was reloaded, not navigated instantly"
    errors, external = reader.take_problems()
    assert not external, external
    assert not errors, errors


# ------------------------------------------------------------------------------------------------
# The machinery, on a small site of our own
# ------------------------------------------------------------------------------------------------

MATH = notebook(
    [
        "md:# Math\n\nThe softmax turns logits $z_i$ into probabilities\n\n"
        "$$p_i = \\frac{e^{z_i / T}}{\\sum_j e^{z_j / T}}$$\n\nwith a temperature $T > 0$.",
        "from IPython.display import Markdown, display\ndisplay(Markdown('Computed: $e^{0} = 1$.'))",
        "import plotly.graph_objects as go\nimport decoding_lessons as dl\ndl.use_site_renderer()\n"
        "go.Figure(go.Bar(x=['a', 'b'], y=[1, 2]), layout=dict(title='$x$ stays text in charts')).show()",
    ]
)
SLIDER = notebook(
    [
        "md:# A slider\n\nMove it.",
        "import plotly.graph_objects as go\nimport decoding_lessons as dl\ndl.use_site_renderer()\n"
        "values = [0.5, 1.0, 2.0]\n"
        "fig = go.Figure([go.Bar(x=['a', 'b', 'c'], y=[1, 2, 3], name='p'), go.Scatter(x=['a', 'b', 'c'], y=[3, 2, 1], name='q')])\n"
        "steps = [dict(method='update', label=str(v), args=[{'y': [[v, 2 * v, 3 * v], [3, 2, v]]}, {'title.text': f'T = {v}'}]) for v in values]\n"
        "fig.update_layout(title='T = 0.5', sliders=[dict(active=0, steps=steps)])\n"
        "dl.plotting.theme.style(fig, title='T = 0.5')\nfig.show()",
    ]
)

LONG_TITLE = notebook(
    [
        "md:# A long title\n\nWider than a phone.",
        "import plotly.graph_objects as go\nimport decoding_lessons as dl\ndl.use_site_renderer()\n"
        "def title(v):\n"
        "    return (f'Tokens kept after “Once upon a time, there was a little”, temperature first, T = {v}'\n"
        "            f'<br><sup>a subtitle that is longer than a phone is wide, at T = {v}</sup>')\n"
        "steps = [dict(method='relayout', label=str(v), args=[{'title.text': title(v)}]) for v in [0.5, 2.0]]\n"
        "fig = go.Figure(go.Bar(x=['a', 'b'], y=[1, 2]))\n"
        "dl.plotting.theme.style(fig, title=title(0.5))\n"
        "fig.update_layout(sliders=[dict(active=0, steps=steps)])\nfig.show()",
    ]
)


LONG_LEGEND = notebook(
    [
        "md:# A long legend\n\nIts entries wrap into rows on a phone.",
        "import plotly.graph_objects as go\nimport decoding_lessons as dl\ndl.use_site_renderer()\n"
        "fig = go.Figure([go.Bar(x=['a', 'b'], y=[1, 2 + i], name=f'a long legend entry {i}') for i in range(6)])\n"
        "dl.plotting.theme.style(fig, title='Six traces and one legend<br><sup>above the plot, under the title</sup>')\nfig.show()",
    ]
)


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    base = tmp_path_factory.mktemp("machinery")
    project = new_project(base, {"01_math": MATH, "02_slider": SLIDER, "03_long_title": LONG_TITLE, "04_long_legend": LONG_LEGEND})
    server, url, result = build_and_serve(base / "site", project)
    assert result.returncode == 0, result.stderr[-3000:]
    yield base / "site", url
    server.shutdown()


@pytest.fixture(scope="module")
def mini_site(mini) -> Path:
    return mini[0]


@pytest.fixture(scope="module")
def mini_reader(browser, mini):
    reader = Reader(browser, mini[1])
    yield reader
    reader.close()


def test_math_is_typeset_offline(mini_reader, mini_site, artifacts):
    page = mini_reader.page
    page.goto(lesson_url(mini_reader.base_url, "01_math"), wait_until="load")
    assert check_math(page, "01_math", formulas=3) >= 4  # inline, display, inline, and in a computed Markdown output
    html = (mini_site / "lessons/01_math/index.html").read_text()
    (div_id, _, _), = check_charts_drawn(page, html, "01_math")
    # chart text is not handed to MathJax: the title keeps its dollar signs
    assert "$x$ stays text" in page.locator(f"#{div_id} .gtitle").first.text_content()
    page.screenshot(path=str(artifacts / "machinery-math.png"), full_page=True)
    errors, external = mini_reader.take_problems()
    assert not external and not errors, (external, errors)


def test_a_slider_moves_the_chart_and_dark_mode_keeps_it_legible(mini_reader, mini_site):
    page = mini_reader.page
    page.goto(lesson_url(mini_reader.base_url, "02_slider"), wait_until="load")
    html = (mini_site / "lessons/02_slider/index.html").read_text()
    charts = check_charts_drawn(page, html, "02_slider")
    assert check_sliders_move(page, charts, "02_slider") == 1
    assert "T = 2.0" in page.locator(".gtitle").first.text_content()
    check_legible(page, "02_slider", "light", len(charts))
    set_scheme(page, "slate")
    check_legible(page, "02_slider", "dark", len(charts))
    set_scheme(page, "default")
    errors, external = mini_reader.take_problems()
    assert not external and not errors, (external, errors)


TITLE_FIT = """id => {
  const gd = document.getElementById(id), svg = gd.querySelector('.main-svg').getBoundingClientRect();
  const title = gd.querySelector('.gtitle'), t = title.getBoundingClientRect();
  const plot = gd.querySelector('.cartesianlayer .bg, .nsewdrag').getBoundingClientRect();
  return {overflow: Math.round(t.right - svg.right), lines: title.querySelectorAll('tspan.line').length || 1,
          gap: Math.round(plot.top - t.bottom), box: Math.round(gd.parentElement.getBoundingClientRect().height - svg.height),
          width: Math.round(svg.width), height: Math.round(svg.height), text: title.textContent};
}"""


def wait_for_title_lines(page, div_id: str, test: str) -> dict:
    page.wait_for_function(
        f"id => (document.getElementById(id).querySelectorAll('.gtitle tspan.line').length || 1) {test}", arg=div_id, timeout=RENDER_TIMEOUT_MS
    )
    page.wait_for_timeout(150)  # the relayout's redraw
    return page.evaluate(TITLE_FIT, div_id)


def test_a_title_wider_than_its_chart_wraps_on_a_phone_and_comes_back_when_wide(mini_reader, mini_site):
    """A Plotly title is one SVG line per <br>: site.js breaks a title wider than its chart (measured
    before: 394 to 668 px titles cut at a 326 px chart's edge on a 390 px phone) and grows the chart
    by the lines it adds; on a wide screen the title's own lines come back."""
    page = mini_reader.page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(lesson_url(mini_reader.base_url, "03_long_title"), wait_until="load")
    charts = check_charts_drawn(page, (mini_site / "lessons/03_long_title/index.html").read_text(), "03_long_title")
    (div_id, _, _), = charts
    wide = page.evaluate(TITLE_FIT, div_id)
    assert wide["overflow"] <= 0 and wide["lines"] == 2 and wide["gap"] >= 0, wide  # fits: left as written

    page.set_viewport_size({"width": 390, "height": 844})
    narrow = wait_for_title_lines(page, div_id, "> 2")
    assert narrow["overflow"] <= 0, f"the title runs {narrow['overflow']} px past its chart at 390 px: {narrow}"
    assert narrow["gap"] >= 0, f"the wrapped title runs into the plot: {narrow}"
    assert narrow["box"] == 0 and narrow["height"] > wide["height"], narrow  # the chart and its box grew with it
    assert "T = 0.5" in narrow["text"] and "temperature first" in narrow["text"]

    # a slider step that sets a new title gets it wrapped too
    assert check_sliders_move(page, charts, "03_long_title at 390 px") == 1
    page.wait_for_function(f"id => document.getElementById(id).querySelector('.gtitle').textContent.includes('T = 2.0')", arg=div_id)
    stepped = wait_for_title_lines(page, div_id, "> 2")
    assert stepped["overflow"] <= 0 and stepped["gap"] >= 0, stepped

    page.set_viewport_size({"width": 1280, "height": 900})
    back = wait_for_title_lines(page, div_id, "== 2")
    assert (back["width"], back["height"], back["box"]) == (wide["width"], wide["height"], 0), (back, wide)
    errors, external = mini_reader.take_problems()
    assert not external and not errors, (external, errors)


LEGEND_FIT = """id => {
  const gd = document.getElementById(id), svg = gd.querySelector('.main-svg').getBoundingClientRect();
  const t = gd.querySelector('.gtitle').getBoundingClientRect(), l = gd.querySelector('.legend').getBoundingClientRect();
  const plot = gd.querySelector('.cartesianlayer .bg, .nsewdrag').getBoundingClientRect();
  const sideways = l.left < t.right && l.right > t.left;
  return {overlap: sideways ? Math.round(t.bottom - l.top) : -1, legend_gap: Math.round(plot.top - l.bottom),
          legend_height: Math.round(l.height), height: Math.round(svg.height), box: Math.round(gd.parentElement.getBoundingClientRect().height - svg.height)};
}"""


def test_a_legend_that_wraps_on_a_phone_stays_out_of_the_title(mini_reader, mini_site):
    """The theme puts a horizontal legend above the plot; on a 390 px phone its entries wrap into
    rows that grew up into the title. site.js moves the plot (and the legend) down by the overlap,
    and a wide screen gets the chart's own height back."""
    page = mini_reader.page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(lesson_url(mini_reader.base_url, "04_long_legend"), wait_until="load")
    charts = check_charts_drawn(page, (mini_site / "lessons/04_long_legend/index.html").read_text(), "04_long_legend")
    (div_id, _, _), = charts
    page.wait_for_timeout(500)
    wide = page.evaluate(LEGEND_FIT, div_id)
    assert wide["overlap"] < 0 and wide["legend_gap"] >= 0 and wide["box"] == 0, wide

    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function(f"id => document.getElementById(id).querySelector('.main-svg').getBoundingClientRect().height > {wide['height']}",
                           arg=div_id, timeout=RENDER_TIMEOUT_MS)
    page.wait_for_timeout(500)  # the relayouts settle
    narrow = page.evaluate(LEGEND_FIT, div_id)
    assert narrow["legend_height"] > wide["legend_height"], narrow  # the legend did wrap into more rows
    assert narrow["overlap"] < 0, f"the legend runs {narrow['overlap']} px into the title at 390 px: {narrow}"
    assert narrow["legend_gap"] >= 0 and narrow["box"] == 0, narrow

    page.set_viewport_size({"width": 1280, "height": 900})
    page.wait_for_function(f"id => document.getElementById(id).querySelector('.main-svg').getBoundingClientRect().height === {wide['height']}",
                           arg=div_id, timeout=RENDER_TIMEOUT_MS)
    back = page.evaluate(LEGEND_FIT, div_id)
    assert back["overlap"] < 0 and back["box"] == 0, back
    errors, external = mini_reader.take_problems()
    assert not external and not errors, (external, errors)


def test_instant_navigation_runs_charts_and_math(mini_reader, mini_site):
    page = mini_reader.page
    page.goto(mini_reader.base_url, wait_until="networkidle")  # Material reads sitemap.xml to know its pages
    page.evaluate("window.__dlNoReload = true")
    leave(page)
    page.locator("a.md-footer__link--next").click()
    page.wait_for_url(re.compile(r"01_math/(#[^/]*)?$"))
    assert check_math(page, "01_math (instant)", formulas=3) >= 4
    leave(page)
    page.locator("a.md-footer__link--next").click()
    page.wait_for_url(re.compile(r"02_slider/(#[^/]*)?$"))
    check_charts_drawn(page, (mini_site / "lessons/02_slider/index.html").read_text(), "02_slider (instant)")
    leave(page)
    page.locator("a.md-footer__link--prev").click()
    page.wait_for_url(re.compile(r"01_math/(#[^/]*)?$"))
    check_charts_drawn(page, (mini_site / "lessons/01_math/index.html").read_text(), "01_math (instant)")
    assert check_math(page, "01_math (instant)", formulas=3) >= 4
    assert page.evaluate("window.__dlNoReload === true")
    errors, external = mini_reader.take_problems()
    assert not external and not errors, (external, errors)
