/* Math, offline. MathJax 3 is served from the site (assets/javascripts/mathjax/, copied by
   hooks/build.py from the PyPI package sphinx-mathjax-offline, the official 3.2.2 files) and loaded
   only on pages that have math. It renders TeX as SVG: no web font is fetched.
   Material's instant navigation swaps pages without a reload and emits on `document$`; every new
   page is typeset there. Lessons write $...$ and $$...$$ in Markdown cells; Markdown pages get
   \(...\) and \[...\] from pymdownx.arithmatex. Charts never go through MathJax (see extrahead). */
(function () {
  "use strict";

  var MATH_SOURCES = ".jp-RenderedMarkdown, .jp-MarkdownOutput, .arithmatex";
  var MATH_DELIMITER = /\$|\\\(|\\\[|\\begin\{/;
  var state = "idle"; // idle -> loading -> ready

  function siteRoot() {
    // Material's inline head script defines __md_scope, the site's root URL
    return typeof __md_scope !== "undefined" ? __md_scope : new URL(".", document.baseURI);
  }

  // The state goes on the page's <article>, which instant navigation replaces with the page, so a
  // test (or a reader's script) never sees the previous page's state: none | pending | typeset | failed.
  function article() {
    return document.querySelector("article.md-content__inner") || document.body;
  }

  function hasMath(root) {
    var nodes = root.querySelectorAll(MATH_SOURCES);
    for (var i = 0; i < nodes.length; i++) {
      if (MATH_DELIMITER.test(nodes[i].textContent)) return true;
    }
    return false;
  }

  function typesetInto(target) {
    // the page, and its table of contents (headings with math)
    var elements = [target].concat(Array.prototype.slice.call(document.querySelectorAll(".md-sidebar--secondary .md-nav")));
    MathJax.typesetClear();
    MathJax.texReset();
    MathJax.typesetPromise(elements).then(
      function () { target.setAttribute("data-dl-math", "typeset"); },
      function (error) { target.setAttribute("data-dl-math", "failed"); console.error("MathJax:", error); }
    );
  }

  function loadMathJax() {
    state = "loading";
    window.MathJax = {
      tex: {
        inlineMath: [["$", "$"], ["\\(", "\\)"]],
        displayMath: [["$$", "$$"], ["\\[", "\\]"]],
        processEscapes: true,
        processEnvironments: true,
      },
      options: {
        // never inside charts or code (Markdown cells are inside .jp-InputArea too, so not that)
        ignoreHtmlClass: "tex2jax_ignore|js-plotly-plot|plotly-graph-div|highlight-ipynb",
      },
      svg: { fontCache: "local" }, // each formula self-contained: instant navigation replaces the page
      startup: {
        typeset: false,
        ready: function () {
          MathJax.startup.defaultReady();
          MathJax.startup.promise.then(function () {
            state = "ready";
            var target = article();
            if (target.getAttribute("data-dl-math") === "pending") typesetInto(target);
          });
        },
      },
    };
    var script = document.createElement("script");
    script.src = new URL("assets/javascripts/mathjax/tex-svg-full.js", siteRoot()).href;
    script.async = true;
    document.head.appendChild(script);
  }

  function typeset() {
    var target = article();
    if (!hasMath(target)) {
      target.setAttribute("data-dl-math", "none");
      return;
    }
    target.setAttribute("data-dl-math", "pending");
    if (state === "ready") typesetInto(target);
    else if (state === "idle") loadMathJax(); // typesets the page's article once ready
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(typeset); // the first page, and every page instant navigation brings
  } else {
    document.addEventListener("DOMContentLoaded", typeset);
  }
})();

/* Chart titles that fit. A Plotly title is one SVG text, a line per <br>: on a phone a title wider
   than its chart is cut at the chart's edge. When a chart's title is wider than the chart, this
   breaks its lines at spaces and grows the top margin, the height and the chart's box by the added
   lines (the plot area keeps its size, the first line its place); on a wider chart the original
   title comes back. It runs after every redraw (a resize, or a slider step that sets the title). */
(function () {
  "use strict";

  var LINE_SPACING = 1.3; // Plotly's line height, in em of the title's font
  var SUP_SCALE = 0.7; // Plotly's <sup> and <sub> size
  var canvas = document.createElement("canvas");

  function textWidth(text, px, family, bold) {
    var ctx = canvas.getContext("2d");
    ctx.font = (bold ? "bold " : "") + px + "px " + family;
    return ctx.measureText(text.replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">")).width;
  }

  // The title's lines, each broken at spaces to fit `width` pixels; tags stay where they were.
  function wrapTitle(text, width, px, family) {
    var out = [];
    var small = 0, bold = 0;
    text.split(/<br\s*\/?>/i).forEach(function (line) {
      var current = "", used = 0, space = false;
      line.split(/(<[^>]+>|\s+)/).forEach(function (piece) {
        if (!piece) return;
        if (piece.charAt(0) === "<") {
          if (/^<(sup|sub)\b/i.test(piece)) small++;
          else if (/^<\/(sup|sub)\b/i.test(piece)) small = Math.max(0, small - 1);
          else if (/^<b\b/i.test(piece)) bold++;
          else if (/^<\/b\b/i.test(piece)) bold = Math.max(0, bold - 1);
          current += (space && used > 0 ? " " : "") + piece;
          space = false;
          return;
        }
        if (/^\s+$/.test(piece)) { space = true; return; }
        var size = small ? px * SUP_SCALE : px;
        var w = textWidth(piece, size, family, bold), gap = space && used > 0 ? textWidth(" ", size, family, bold) : 0;
        if (used > 0 && used + gap + w > width) {
          out.push(current);
          current = piece;
          used = w;
        } else {
          current += (gap ? " " : "") + piece;
          used += gap + w;
        }
        space = false;
      });
      out.push(current);
    });
    return out;
  }

  // A chart may say how it reads on a phone: layout.meta.narrow = {width, traces: {index: {attr:
  // value}}, layout: {attr: value}} applies below `width` px, and the chart's own values come back
  // above it (the package's beam trees keep only the returned paths' labels there).
  function narrow(gd) {
    var full = gd._fullLayout, meta = gd.layout && gd.layout.meta && gd.layout.meta.narrow;
    if (!full || !meta || !meta.width) return false;
    var on = full.width < meta.width;
    if (on === !!gd.__dlNarrow) return false;
    if (!gd.__dlWide) { // the chart's own values, read once
      gd.__dlWide = {traces: {}, layout: {}};
      Object.keys(meta.traces || {}).forEach(function (i) {
        gd.__dlWide.traces[i] = {};
        Object.keys(meta.traces[i]).forEach(function (attr) { gd.__dlWide.traces[i][attr] = gd.data[+i][attr]; });
      });
      Object.keys(meta.layout || {}).forEach(function (path) {
        var v = gd.layout;
        path.split(".").forEach(function (k) { v = v === undefined ? undefined : v[k]; });
        gd.__dlWide.layout[path] = v === undefined ? null : JSON.parse(JSON.stringify(v));
      });
    }
    gd.__dlNarrow = on;
    var values = on ? meta : gd.__dlWide;
    Object.keys(values.traces || {}).forEach(function (i) { window.Plotly.restyle(gd, values.traces[i], [+i]); });
    if (Object.keys(values.layout || {}).length) window.Plotly.relayout(gd, values.layout);
    return true;
  }

  function fit(gd) {
    var full = gd._fullLayout, layout = gd.layout;
    if (!full || !layout || gd.__dlFitting) return;
    if (narrow(gd)) return; // its redraw comes back here
    if (!layout.title) return;
    var text = typeof layout.title === "string" ? layout.title : layout.title.text;
    if (!text) return;
    if (gd.__dlTop === undefined) {
      var title = gd.querySelector(".gtitle"), svg = gd.querySelector(".main-svg");
      if (!title || !svg) return;
      gd.__dlTop = full.margin.t;
      gd.__dlHeight = layout.height || full.height;
      gd.__dlTitleTop = titleTop(gd);
      gd.__dlTitleY = [layout.title.y, layout.title.yanchor, layout.title.yref].map(function (v) {
        return v === undefined ? null : v; // null: Plotly's default
      });
    }
    if (text !== gd.__dlShown) gd.__dlTitle = text; // a new title (a slider step), not our wrapping
    var font = full.title.font, original = gd.__dlTitle;
    var lines = wrapTitle(original, full.width * 0.98 - 12, font.size, font.family);
    var added = lines.length - original.split(/<br\s*\/?>/i).length;
    var wanted = added > 0 ? lines.join("<br>") : original;
    var extra = Math.max(0, added) * LINE_SPACING * font.size;
    // a legend above the plot that wraps into rows on a narrow chart grows up into the title: the
    // plot (and the legend with it) moves down by the overlap; measured again at a new width
    if (gd.__dlLegendWidth !== full.width) { gd.__dlLegendWidth = full.width; gd.__dlLegend = 0; gd.__dlRounds = 0; }
    var legend = 0, shift = gd.__dlShift || 0;
    if (wanted === text && extra === (gd.__dlExtra || 0)) {
      legend = gd.__dlLegend + legendOverlap(gd);
      // a pinned title whose first line drew above or below where it was is moved back
      if (gd.__dlPinned) shift += Math.round(gd.__dlTitleTop - titleTop(gd));
      if (legend === (gd.__dlApplied || 0) && Math.abs(shift - (gd.__dlShift || 0)) <= 1) return; // done
    } else legend = gd.__dlLegend;
    gd.__dlExtra = extra;
    gd.__dlLegend = legend;
    gd.__dlApplied = legend;
    var grow = extra + legend;
    gd.__dlPinned = grow > 0;
    gd.__dlShift = grow > 0 ? shift : 0;
    var update = {"title.text": wanted, "margin.t": gd.__dlTop + grow, height: gd.__dlHeight + grow};
    if (layout.autosize !== false) update.autosize = true; // a new height alone would fix the width
    if (grow > 0) { // the first line stays where it was; the added ones (and the legend) go below it
      update["title.yref"] = "container";
      update["title.yanchor"] = "top";
      update["title.y"] = Math.min(1, 1 - Math.max(0, gd.__dlTitleTop + gd.__dlShift) / (gd.__dlHeight + grow));
    } else { // the chart's own placement
      update["title.y"] = gd.__dlTitleY[0];
      update["title.yanchor"] = gd.__dlTitleY[1];
      update["title.yref"] = gd.__dlTitleY[2];
    }
    // Plotly's HTML puts the chart in a box of the layout's height: it grows with the chart
    var box = gd.parentElement;
    if (box && /px$/.test(box.style.height)) box.style.height = gd.__dlHeight + grow + "px";
    gd.__dlShown = wanted;
    gd.__dlFitting = true;
    // measured again once this relayout has drawn (its own afterplot comes while we are fitting):
    // a legend that still overlaps moves further, a few rounds at most per width
    var again = function () {
      gd.__dlFitting = false;
      if ((gd.__dlRounds = (gd.__dlRounds || 0) + 1) <= 4) window.requestAnimationFrame(function () { fit(gd); });
    };
    window.Plotly.relayout(gd, update).then(again, again);
  }

  function titleTop(gd) {
    var title = gd.querySelector(".gtitle"), svg = gd.querySelector(".main-svg");
    return title && svg ? title.getBoundingClientRect().top - svg.getBoundingClientRect().top : gd.__dlTitleTop;
  }

  // How far (px) the legend's box reaches up into the title's, where the two overlap sideways.
  function legendOverlap(gd) {
    var legend = gd.querySelector(".legend"), title = gd.querySelector(".gtitle");
    if (!legend || !title) return 0;
    var l = legend.getBoundingClientRect(), t = title.getBoundingClientRect();
    if (!l.height || !t.height || l.left >= t.right || l.right <= t.left || l.bottom <= t.top) return 0;
    var overlap = t.bottom + 4 - l.top;
    return overlap > 1 ? Math.ceil(overlap) : 0;
  }

  function hook() {
    var charts = document.querySelectorAll(".js-plotly-plot");
    for (var i = 0; i < charts.length; i++) {
      var gd = charts[i];
      if (gd.__dlHooked || typeof gd.on !== "function" || !window.Plotly) continue;
      gd.__dlHooked = true;
      gd.on("plotly_afterplot", fit.bind(null, gd));
      fit(gd);
    }
  }

  function hookSoon() {
    [0, 300, 1000, 3000, 8000].forEach(function (ms) { setTimeout(hook, ms); });
  }

  if (typeof document$ !== "undefined") document$.subscribe(hookSoon);
  else document.addEventListener("DOMContentLoaded", hookSoon);
})();
