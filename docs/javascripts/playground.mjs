// The playground (docs/playground.md): every knob of the processor table on a real model's
// full-vocabulary logits, in any order, computed by the engine (engine.mjs) exactly as
// transformers' processors compute them. No framework, no dependency, no network beyond the site.
//
// The data: assets/processors.json (the processor table) and assets/playground/ (written by
// `python -m decoding_lessons.playground` at build time): index.json, and per context its float32
// logits (<key>.f32, fetched when the context is chosen) and <key>.json (token ids, labels).
//
// The state lives in the URL fragment: #ctx=name&temperature=0.7&min_p=0.1&order=llama_cpp.
// It is read as decoding_lessons.playground.parse_fragment reads it (a test checks both agree): a
// bad value is dropped with a visible note that gives Python's message.
//
// Every label goes into the page as text (textContent), never as HTML: a token "<b>" shows as <b>.
//
// "Your prompt" (ctx=live) is a context like the others, computed in the page: the embedded model
// runs live (live.mjs, assets/live/), fetched only when the reader asks for it.

import * as engine from "./engine.mjs";
import * as live from "./live.mjs";

const LIVE = "live"; // the context of the reader's own prompt
const TOP = 20; // bars in the final distribution
const HIST = 12; // tokens in the draws' histogram

// The sliders' ranges: what a reader explores (the number box takes any value the table allows).
const SLIDER = {
  repetition_penalty: [0.5, 3, 0.01],
  no_repeat_ngram_size: [1, 6, 1],
  temperature: [0.05, 3, 0.01],
  top_h: [0, 1, 0.01],
  top_k: [1, 200, 1],
  top_p: [0, 1, 0.001],
  min_p: [0, 1, 0.001],
  typical_p: [0, 1, 0.001],
  epsilon_cutoff: [0, 0.01, 0.0001],
  eta_cutoff: [0, 0.01, 0.0001],
  top_n_sigma: [0, 5, 0.01],
};
// The value a knob takes when a reader switches it on (its off value is no place to start).
const START = {
  repetition_penalty: 1.3, no_repeat_ngram_size: 2, temperature: 0.7, top_h: 0.4, top_k: 50, top_p: 0.9,
  min_p: 0.1, typical_p: 0.9, epsilon_cutoff: 0.0003, eta_cutoff: 0.001, top_n_sigma: 1.0,
  // the samplers with several settings: the ones that differ from the row's defaults (which are
  // llama.cpp's, and switch most of them off)
  penalties: { penalty_repeat: 1.1 }, dry: { dry_multiplier: 0.8 }, xtc: { xtc_probability: 0.5 },
  temp_ext: { dynatemp_range: 0.5 }, mirostat: { mirostat: 2 }, openai_penalties: { frequency_penalty: 0.5, presence_penalty: 0.5 },
};

/** A value as the stage table writes it: `0.7`, or a sampler's settings `(xtc_probability=0.5, …)`. */
function valueText(v) {
  if (v !== null && typeof v === "object") return "(" + Object.entries(v).map(([k, x]) => `${k}=${engine.pyRepr(x)}`).join(", ") + ")";
  return engine.pyRepr(v);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };

/** A probability as a percentage: 12.3%, 0.57%, 0.0057%, then 5.7×10⁻⁷% (never "5.7e-2%"). */
export function pct(p) {
  if (p === 0) return "0%";
  if (p >= 0.001) return (100 * p).toFixed(p >= 0.1 ? 1 : 2) + "%";
  const x = 100 * p;
  if (x >= 1e-4) return x.toPrecision(2) + "%";
  const [mant, exp] = x.toExponential(1).split("e");
  return `${mant}×10${String(Number(exp)).replace(/./g, (c) => SUPERSCRIPT[c])}%`;
}

function fmt(x, digits = 3) {
  return Number.isFinite(x) ? x.toFixed(digits) : x > 0 ? "inf" : "-inf";
}

/** A seeded generator of uniform numbers in [0, 1): mulberry32. */
export function uniforms(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ------------------------------------------------------------------------------------------------
// The URL fragment (decoding_lessons.playground.parse_fragment)

function fragmentNumber(text) {
  const low = text.trim().toLowerCase();
  if (["inf", "+inf", "infinity"].includes(low)) return Infinity;
  if (["-inf", "-infinity"].includes(low)) return -Infinity;
  if (low === "" || !/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(low) && !["nan", "+nan", "-nan"].includes(low)) return null;
  return Number(low.replace(/^([+-]?)nan$/, "NaN"));
}

/** {context, settings, order, notes} from a fragment; never throws. */
export function parseFragment(fragment, table, contextKeys) {
  const rows = engine.knobRows(table), samplers = engine.samplerRows(table);
  const knobs = [...rows, ...samplers].map((r) => r.field);
  const state = { context: "name", settings: {}, order: "hf", notes: [] };
  const frag = fragment.startsWith("#") ? fragment.slice(1) : fragment;
  for (const part of frag.split("&").filter(Boolean)) {
    const at = part.indexOf("=");
    let name = at < 0 ? part : part.slice(0, at), raw = at < 0 ? "" : part.slice(at + 1);
    try { name = decodeURIComponent(name); raw = decodeURIComponent(raw); } catch { /* as written */ }
    if (name === "ctx") {
      if (contextKeys.includes(raw)) state.context = raw;
      else state.notes.push(`\`ctx\` has to be one of ${contextKeys.join(", ")}, but is ${engine.pyRepr(raw)}: dropped`);
    } else if (name === "order") {
      const fields = raw.split(",").filter(Boolean);
      if (raw === "hf" || raw === "llama_cpp") state.order = raw;
      else if (fields.length && fields.every((f) => knobs.includes(f)) && new Set(fields).size === fields.length) state.order = fields;
      else state.notes.push(`\`order\` has to be hf, llama_cpp or fields of the table once each, but is ${engine.pyRepr(raw)}: dropped`);
    } else if (samplers.some((r) => r.field === name)) {
      const row = samplers.find((r) => r.field === name);
      const value = {};
      let err = null;
      for (const item of raw.split(",").filter(Boolean)) {
        const colon = item.indexOf(":");
        const number = colon < 0 ? null : fragmentNumber(item.slice(colon + 1));
        if (number === null) { err = `\`${name}\`'s setting ${engine.pyRepr(item)} has to be name:number`; break; }
        value[item.slice(0, colon)] = number;
      }
      err = err ?? engine.checkParams(row, value);
      if (err) state.notes.push(`${err}: dropped`);
      else state.settings[name] = value;
    } else if (knobs.includes(name)) {
      const value = fragmentNumber(raw);
      const row = rows.find((r) => r.field === name);
      const err = value === null ? `\`${name}\` has to be a number, but is ${engine.pyRepr(raw)}` : engine.checkValue(row, value);
      if (err) state.notes.push(`${err}: dropped`);
      else state.settings[name] = value;
    } else {
      state.notes.push(`\`${name}\` is not a knob the playground has: dropped`);
    }
  }
  return state;
}

/** The fragment for a state (decoding_lessons.playground.playground_fragment writes the same). */
export function writeFragment(state, table) {
  const parts = [`ctx=${state.context}`];
  const fields = new Set([...engine.knobRows(table), ...engine.samplerRows(table)].map((r) => r.field));
  for (const row of table.processors.filter((r) => fields.has(r.field))) { // the table's order
    const v = state.settings[row.field];
    if (v === undefined || v === null) continue;
    if (row.kind === "params") parts.push(`${row.field}=` + row.params.filter((q) => v[q.name] !== undefined).map((q) => `${q.name}:${v[q.name]}`).join(","));
    else parts.push(`${row.field}=${v}`);
  }
  if (state.order !== "hf") parts.push("order=" + (typeof state.order === "string" ? state.order : state.order.join(",")));
  return parts.join("&");
}

// ------------------------------------------------------------------------------------------------
// What the page computes

/** Everything the page shows for one setting: the chain's stages and the final distribution. */
export function compute(logits, ids, settings, orderFields, table, { promptLength = null, dryBreakers = null } = {}) {
  const V = logits.length;
  const resolved = engine.resolve(settings, table, { doSample: true });
  const P0 = engine.softmax(logits);
  let prevScores = Float32Array.from(logits);
  let prevP = P0, prevH = entropy(P0), prevTop = max(P0);
  const inspect = [];
  const { scores, stages } = engine.apply(logits, ids, resolved, orderFields, {
    promptLength, dryBreakers,
    onStage(field, s) {
      const P = engine.softmax(s);
      let removed = 0, removedMass = 0;
      const top = [];
      for (let i = 0; i < V; i++) {
        if (prevScores[i] !== -Infinity && s[i] === -Infinity) {
          removed++;
          removedMass += prevP[i];
          if (top.length < 3 || prevP[i] > top[top.length - 1][1]) {
            top.push([i, prevP[i]]);
            top.sort((a, b) => b[1] - a[1]);
            if (top.length > 3) top.pop();
          }
        }
      }
      const h = entropy(P), pTop = max(P);
      inspect.push({ field, removed, removedMass, topRemoved: top, entropyBefore: prevH, entropyAfter: h, pTopBefore: prevTop, pTopAfter: pTop });
      prevScores.set(s);
      prevP = P; prevH = h; prevTop = pTop;
    },
  });
  const P = stages.length ? prevP : P0; // the last stage's softmax is the final distribution's
  let kept = 0, keptMass = 0;
  for (let i = 0; i < V; i++) if (scores[i] !== -Infinity) { kept++; keptMass += P0[i]; }
  const order = topIndices(P, Math.min(TOP, kept));
  stages.forEach((st, j) => Object.assign(inspect[j], st));
  return { resolved, scores, P, P0, kept, keptMass, entropy: prevH, top: order, stages: inspect };
}

function entropy(P) {
  let h = 0;
  for (let i = 0; i < P.length; i++) if (P[i] > 0) h -= P[i] * Math.log(P[i]);
  return h;
}

function max(P) {
  let m = 0;
  for (let i = 0; i < P.length; i++) if (P[i] > m) m = P[i];
  return m;
}

function topIndices(P, k) {
  const idx = [];
  for (let i = 0; i < P.length; i++) {
    if (P[i] <= 0) continue;
    if (idx.length < k) { idx.push(i); if (idx.length === k) idx.sort((a, b) => P[b] - P[a] || a - b); }
    else if (P[i] > P[idx[k - 1]]) {
      let j = k - 1;
      while (j > 0 && P[idx[j - 1]] < P[i]) { idx[j] = idx[j - 1]; j--; }
      idx[j] = i;
    }
  }
  if (idx.length < k) idx.sort((a, b) => P[b] - P[a] || a - b);
  return idx;
}

/** n draws from P (inverse CDF over the kept tokens, by probability), seeded. */
export function drawSamples(P, n, seed) {
  const ids = [], cum = [];
  let acc = 0;
  for (let i = 0; i < P.length; i++) if (P[i] > 0) { acc += P[i]; ids.push(i); cum.push(acc); }
  const u = uniforms(seed);
  const counts = new Map();
  for (let d = 0; d < n; d++) {
    const x = u() * acc;
    let lo = 0, hi = cum.length - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cum[mid] > x) hi = mid; else lo = mid + 1; }
    counts.set(ids[lo], (counts.get(ids[lo]) || 0) + 1);
  }
  return counts;
}

// ------------------------------------------------------------------------------------------------
// The page

function bars(rows, { max: m }) {
  // rows: {label, value, text, cls, title}
  const list = el("div", { class: "dl-pg-bars", role: "list" });
  for (const r of rows) {
    const bar = el("span", { class: "dl-pg-bar " + (r.cls || "") });
    bar.style.width = `${Math.max(0, Math.min(100, (100 * r.value) / (m || 1)))}%`;
    const extra = r.second === undefined ? null : el("span", { class: "dl-pg-bar dl-pg-bar--expected" });
    if (extra) extra.style.width = `${Math.max(0, Math.min(100, (100 * r.second) / (m || 1)))}%`;
    list.append(el("div", { class: "dl-pg-row", role: "listitem", title: r.title },
      el("code", { class: "dl-pg-label", text: r.label }),
      el("span", { class: "dl-pg-track" }, bar, extra),
      el("span", { class: "dl-pg-value", text: r.text })));
  }
  return list;
}

/** A fragment that holds playground state (not a heading's anchor). */
function isState(fragment) {
  return fragment.replace(/^#/, "").includes("=");
}

/** Mount the playground into `root` (data-assets: the site's assets/ URL), on the state in
 * `fragment` (the page's URL fragment when the page loaded), or the URL's. */
export async function mount(root, fragment = location.hash) {
  if (root.dataset.mounted) return;
  root.dataset.mounted = "1";
  const assets = new URL(root.dataset.assets || "../assets/", document.baseURI);
  const status = el("p", { class: "dl-pg-loading", text: "Loading the processor table and the contexts…" });
  root.replaceChildren(status);
  let table, index;
  try {
    [table, index] = await Promise.all([
      fetch(new URL("processors.json", assets)).then((r) => { if (!r.ok) throw new Error(`processors.json: HTTP ${r.status}`); return r.json(); }),
      fetch(new URL("playground/index.json", assets)).then((r) => { if (!r.ok) throw new Error(`playground/index.json: HTTP ${r.status}`); return r.json(); }),
    ]);
  } catch (error) {
    status.textContent = `The playground's data could not be loaded (${error.message}).`;
    root.dataset.state = "failed";
    return;
  }
  const knobs = engine.knobRows(table), samplers = engine.samplerRows(table);
  const rows = [...knobs, ...samplers];
  const byField = Object.fromEntries(rows.map((r) => [r.field, r]));
  // a sampler's settings: its row's defaults (llama.cpp's), then `over`
  const samplerValue = (row, over = {}) => ({ ...Object.fromEntries(row.params.map((q) => [q.name, q.default === "inf" ? Infinity : q.default === "-inf" ? -Infinity : q.default])), ...over });
  const startValue = (r) => (r.kind === "params" ? samplerValue(r, START[r.field]) : START[r.field] ?? 1);
  // the orders over the rows this page has controls for
  const hfOrder = table.hf_order.filter((f) => f in byField), cppOrder = table.llama_cpp_order.filter((f) => f in byField);
  const keys = [...index.contexts.map((c) => c.key), LIVE];
  const liveBase = new URL("live/", assets);
  const contexts = new Map(); // key -> {logits, meta}
  const S = { context: "name", on: {}, value: {}, order: "hf", custom: [...hfOrder], draws: null };
  for (const r of rows) { S.on[r.field] = false; S.value[r.field] = startValue(r); }

  // ---- the skeleton
  const ctxSelect = el("select", { id: "dl-pg-context", "aria-label": "Context" });
  const kinds = [...new Set(index.contexts.map((c) => c.kind))];
  for (const kind of kinds) {
    const group = el("optgroup", { label: kind });
    for (const c of index.contexts.filter((x) => x.kind === kind)) group.append(el("option", { value: c.key, text: c.label }));
    ctxSelect.append(group);
  }
  ctxSelect.append(el("optgroup", { label: "your own" }, el("option", { value: LIVE, text: "Your prompt (the live model)" })));
  const ctxText = el("div", { class: "dl-pg-context", "aria-label": "The context's text" });
  const notes = el("div", { class: "dl-pg-notes", role: "status", "aria-live": "polite" });
  // ---- your prompt: the live model
  const liveIntro = el("p", { class: "dl-pg-live-intro" });
  const liveLoad = el("button", { type: "button", class: "md-button md-button--primary", id: "dl-pg-live-load", text: "Load the model" });
  const liveProgress = el("progress", { id: "dl-pg-live-progress", max: 1, value: 0, hidden: true, "aria-label": "Loading the model" });
  const liveStatus = el("span", { class: "dl-pg-live-status", role: "status", "aria-live": "polite" });
  const livePrompt = el("textarea", { id: "dl-pg-prompt", rows: 3, disabled: true, "aria-label": "Your prompt", placeholder: "Type a prompt, then Run" });
  livePrompt.value = "The best way to learn a language is";
  const liveRun = el("button", { type: "button", class: "md-button md-button--primary", id: "dl-pg-run", text: "Run", disabled: true });
  const liveStep = el("button", { type: "button", class: "md-button", id: "dl-pg-step", text: "Generate one token", disabled: true });
  const liveSteps = el("button", { type: "button", class: "md-button", id: "dl-pg-steps", text: "Generate ten tokens", disabled: true });
  const liveNote = el("p", { class: "dl-pg-note dl-pg-live-note", role: "status", "aria-live": "polite" });
  const livePanel = el("div", { class: "dl-pg-live", id: "dl-pg-live", hidden: true },
    liveIntro,
    el("p", { class: "dl-pg-live-bar" }, liveLoad, " ", liveProgress, " ", liveStatus),
    livePrompt,
    el("p", { class: "dl-pg-live-bar" }, liveRun, " ", liveStep, " ", liveSteps),
    liveNote);
  const orderSelect = el("select", { id: "dl-pg-order", "aria-label": "Order" },
    el("option", { value: "hf", text: "transformers (generate())" }),
    el("option", { value: "llama_cpp", text: "llama.cpp's default chain" }),
    el("option", { value: "custom", text: "my own (drag the rows)" }));
  const resetButton = el("button", { type: "button", class: "md-button", id: "dl-pg-reset", text: "Reset to generate()'s defaults" });
  const knobList = el("ol", { class: "dl-pg-knobs", "aria-label": "The processors, in the order they run" });
  const hiddenTopK = el("p", { class: "dl-pg-note dl-pg-topk", hidden: true });
  const summary = el("p", { class: "dl-pg-summary", "aria-live": "polite" });
  const finalBox = el("div", { class: "dl-pg-final" });
  const stagesBox = el("div", { class: "dl-pg-stages" });
  const drawN = el("input", { type: "number", id: "dl-pg-n", min: 1, max: 100000, step: 1, value: 1000, "aria-label": "Number of draws" });
  const drawSeed = el("input", { type: "number", id: "dl-pg-seed", min: 0, max: 4294967295, step: 1, value: 0, "aria-label": "Seed" });
  const drawButton = el("button", { type: "button", class: "md-button md-button--primary", id: "dl-pg-draw", text: "Draw" });
  const drawBox = el("div", { class: "dl-pg-draws" });

  root.replaceChildren(
    el("div", { class: "dl-pg-top" },
      el("label", { for: "dl-pg-context", text: "Context " }), ctxSelect,
      el("label", { for: "dl-pg-order", text: " Order " }), orderSelect, resetButton),
    ctxText, livePanel, notes,
    el("div", { class: "dl-pg-grid" },
      el("div", { class: "dl-pg-controls" }, el("h2", { text: "The chain" }), hiddenTopK, knobList),
      el("div", { class: "dl-pg-out" }, el("h2", { text: "The next-token distribution" }), summary, finalBox)),
    el("h2", { text: "Stage by stage" }), stagesBox,
    el("h2", { text: "Draw samples" }),
    el("p", { class: "dl-pg-drawbar" }, el("label", { for: "dl-pg-n", text: "Draws " }), drawN,
      el("label", { for: "dl-pg-seed", text: " seed " }), drawSeed, " ", drawButton),
    drawBox,
  );

  // ---- the state
  function orderFields() {
    if (S.order === "hf") return [...hfOrder];
    if (S.order === "llama_cpp") return [...cppOrder];
    return [...S.custom];
  }
  function settings() {
    const out = {};
    for (const r of rows) {
      if (S.on[r.field]) out[r.field] = S.value[r.field];
      else if (r.field === "top_k") out.top_k = 0; // generate()'s hidden top_k=50 switched off
    }
    return out;
  }
  function fragmentState() {
    const s = settings();
    if (s.top_k === 50) delete s.top_k; // generate()'s default when sampling
    for (const r of samplers) { // a sampler's link lists the settings that differ from its defaults
      if (!s[r.field]) continue;
      const defaults = samplerValue(r);
      s[r.field] = Object.fromEntries(r.params.filter((q) => s[r.field][q.name] !== defaults[q.name]).map((q) => [q.name, s[r.field][q.name]]));
    }
    return { context: S.context, settings: s, order: S.order === "custom" ? S.custom : S.order };
  }
  function applyFragment(frag) {
    const st = parseFragment(frag, table, keys);
    S.context = st.context;
    for (const r of rows) { S.on[r.field] = false; }
    S.on.top_k = true; S.value.top_k = 50; // generate()'s hidden default
    for (const [k, v] of Object.entries(st.settings)) {
      if (byField[k].kind === "params") { S.on[k] = true; S.value[k] = samplerValue(byField[k], v); continue; }
      if (v === engine.ENGINE_OFF[k]) { S.on[k] = false; continue; }
      S.on[k] = true; S.value[k] = v;
    }
    if (typeof st.order === "string") S.order = st.order;
    else {
      S.order = "custom";
      S.custom = [...st.order, ...hfOrder.filter((f) => !st.order.includes(f))];
    }
    if (S.order === "llama_cpp") {
      for (const f of hfOrder) if (!cppOrder.includes(f) && S.on[f]) {
        st.notes.push(`\`${f}\` is not in llama.cpp's default chain: switched off`);
        S.on[f] = false;
      }
    }
    notes.replaceChildren(...st.notes.map((n) => el("p", { class: "dl-pg-note dl-pg-dropped", text: n })));
  }
  function writeUrl() {
    const frag = writeFragment(fragmentState(), table);
    if (location.hash.slice(1) !== frag) history.replaceState(history.state, "", "#" + frag);
  }

  // ---- the knobs
  // a sampler with several settings: a number box per setting, checked by the table's row
  function samplerControls(row, li, err) {
    const field = row.field;
    return el("span", { class: "dl-pg-params" }, ...row.params.map((q) => {
      const id = `dl-pg-${field}-${q.name}`;
      const input = el("input", { type: "number", id, step: "any", "data-param": q.name, "aria-label": `${field} ${q.name}`, disabled: !S.on[field] || null });
      input.value = String(S.value[field][q.name]);
      input.addEventListener("input", () => {
        const v = fragmentNumber(input.value);
        const e = v === null ? `\`${q.name}\` has to be a number, but is ${engine.pyRepr(input.value)}` : engine.checkParams(row, { [q.name]: v });
        if (e) { err.textContent = e; li.classList.add("has-error"); return; }
        err.textContent = ""; li.classList.remove("has-error");
        S.value[field] = { ...S.value[field], [q.name]: v }; update();
      });
      return el("label", { class: "dl-pg-param", for: id }, el("span", { text: q.name }), input);
    }));
  }
  function knobItem(field, inChain) {
    const row = byField[field];
    if (row.kind === "params") return sampler(field, inChain);
    const bound = (x) => (x === "inf" ? Infinity : x);
    const [lo, hi, step] = SLIDER[field] ?? [bound(row.interval.low), Math.min(bound(row.interval.high), 10), 0.01];
    const id = `dl-pg-${field}`;
    const box = el("input", { type: "checkbox", id: `${id}-on`, "data-field": field, class: "dl-pg-on", disabled: !inChain || null });
    box.checked = S.on[field];
    const slider = el("input", { type: "range", id: `${id}-range`, min: lo, max: hi, step, "aria-label": `${field} slider`, disabled: !S.on[field] || null });
    slider.value = String(Math.min(hi, Math.max(lo, S.value[field])));
    const number = el("input", { type: "number", id: `${id}-value`, step: "any", "aria-label": `${field} value`, disabled: !S.on[field] || null });
    number.value = String(S.value[field]);
    const err = el("span", { class: "dl-pg-error", role: "alert" });
    const li = el("li", { class: "dl-pg-knob" + (S.on[field] ? " is-on" : "") + (inChain ? "" : " is-outside"), "data-field": field, draggable: S.order === "custom" ? "true" : null },
      el("span", { class: "dl-pg-handle", "aria-hidden": "true", text: S.order === "custom" ? "⠿" : "" }),
      el("label", { for: `${id}-on`, class: "dl-pg-name" }, box, " ", el("code", { text: field })),
      slider, number,
      S.order === "custom" ? el("span", { class: "dl-pg-move" },
        el("button", { type: "button", class: "dl-pg-up", "aria-label": `Move ${field} up`, text: "↑" }),
        el("button", { type: "button", class: "dl-pg-down", "aria-label": `Move ${field} down`, text: "↓" })) : null,
      el("span", { class: "dl-pg-help", text: (row.library && row.library !== "transformers" ? `${row.library}'s, not generate()'s own: ` : "") + (row.summary || "") }), err);
    box.addEventListener("change", () => { S.on[field] = box.checked; renderKnobs(); update(); });
    slider.addEventListener("input", () => {
      const v = row.kind === "int" ? Math.round(Number(slider.value)) : Number(slider.value);
      const e = engine.checkValue(row, v);
      if (e) { err.textContent = e; return; }
      err.textContent = ""; S.value[field] = v; number.value = String(v); update();
    });
    number.addEventListener("input", () => {
      const v = fragmentNumber(number.value);
      const e = v === null ? `\`${field}\` has to be a number, but is ${engine.pyRepr(number.value)}` : engine.checkValue(row, v);
      if (e) { err.textContent = e; li.classList.add("has-error"); return; }
      err.textContent = ""; li.classList.remove("has-error");
      S.value[field] = v; slider.value = String(Math.min(hi, Math.max(lo, v))); update();
    });
    return ordered(li, field);
  }
  function sampler(field, inChain) {
    const row = byField[field];
    const id = `dl-pg-${field}`;
    const box = el("input", { type: "checkbox", id: `${id}-on`, "data-field": field, class: "dl-pg-on", disabled: !inChain || null });
    box.checked = S.on[field];
    const err = el("span", { class: "dl-pg-error", role: "alert" });
    const li = el("li", { class: "dl-pg-knob dl-pg-sampler" + (S.on[field] ? " is-on" : "") + (inChain ? "" : " is-outside"), "data-field": field, draggable: S.order === "custom" ? "true" : null });
    const parts = [
      el("span", { class: "dl-pg-handle", "aria-hidden": "true", text: S.order === "custom" ? "⠿" : "" }),
      el("label", { for: `${id}-on`, class: "dl-pg-name" }, box, " ", el("code", { text: field })),
      samplerControls(row, li, err),
      S.order === "custom" ? el("span", { class: "dl-pg-move" },
        el("button", { type: "button", class: "dl-pg-up", "aria-label": `Move ${field} up`, text: "↑" }),
        el("button", { type: "button", class: "dl-pg-down", "aria-label": `Move ${field} down`, text: "↓" })) : null,
      el("span", { class: "dl-pg-help", text: `${row.library}'s, not generate()'s own: ${row.summary}` }), err];
    li.append(...parts.filter((c) => c !== null));
    box.addEventListener("change", () => { S.on[field] = box.checked; renderKnobs(); update(); });
    return ordered(li, field);
  }
  // the reordering (custom order): ↑ ↓ buttons and drag and drop
  function ordered(li, field) {
    li.querySelector(".dl-pg-up")?.addEventListener("click", () => move(field, -1));
    li.querySelector(".dl-pg-down")?.addEventListener("click", () => move(field, +1));
    li.addEventListener("dragstart", (e) => { e.dataTransfer.setData("text/plain", field); li.classList.add("is-dragged"); });
    li.addEventListener("dragend", () => li.classList.remove("is-dragged"));
    li.addEventListener("dragover", (e) => { if (S.order === "custom") e.preventDefault(); });
    li.addEventListener("drop", (e) => {
      e.preventDefault();
      const from = e.dataTransfer.getData("text/plain");
      if (!from || from === field) return;
      const list = S.custom.filter((f) => f !== from);
      list.splice(list.indexOf(field) + (S.custom.indexOf(from) < S.custom.indexOf(field) ? 1 : 0), 0, from);
      S.custom = list; renderKnobs(); update();
    });
    return li;
  }
  function move(field, delta) {
    const i = S.custom.indexOf(field), j = i + delta;
    if (j < 0 || j >= S.custom.length) return;
    [S.custom[i], S.custom[j]] = [S.custom[j], S.custom[i]];
    renderKnobs(); update();
    knobList.querySelector(`li[data-field="${field}"] .${delta < 0 ? "dl-pg-up" : "dl-pg-down"}`)?.focus();
  }
  function renderKnobs() {
    const fields = orderFields();
    const items = fields.map((f) => knobItem(f, true));
    const outside = hfOrder.filter((f) => !fields.includes(f));
    if (outside.length) {
      items.push(el("li", { class: "dl-pg-divider", text: "Not in llama.cpp's default chain:" }));
      for (const f of outside) items.push(knobItem(f, false));
    }
    knobList.replaceChildren(...items);
    orderSelect.value = S.order;
  }

  // ---- the output
  let current = null;
  function label(meta, id) {
    const l = meta.labels[String(id)];
    return l === undefined ? `#${id}` : l;
  }
  function renderContext(entry, meta, model = index.model) {
    const parts = [el("span", { class: "dl-pg-prompt", text: meta.prompt_text })];
    if (meta.generated_text) parts.push(el("span", { class: "dl-pg-generated", title: "generated greedily by the model", text: meta.generated_text }));
    parts.push(el("span", { class: "dl-pg-cursor", "aria-hidden": "true", text: "▌" }),
      el("span", { class: "dl-pg-meta", text: ` ${entry.tokens} tokens${meta.generated_text ? ` (${entry.tokens - meta.prompt_length} generated, highlighted)` : ""} · ${model}` }));
    ctxText.replaceChildren(...parts);
  }
  function update() {
    const ctx = contexts.get(S.context);
    if (!ctx && S.context !== LIVE) return;
    if (!ctx) {
      current = null;
      summary.textContent = S.context === LIVE ? "Load the model, type a prompt and Run: its next-token distribution shows here." : "";
      finalBox.replaceChildren(); stagesBox.replaceChildren(); drawBox.replaceChildren();
      writeUrl();
      root.dataset.state = "ready";
      return;
    }
    const t0 = performance.now();
    const s = settings();
    let out;
    try {
      out = compute(ctx.logits, ctx.meta.ids, s, orderFields(), table, { promptLength: ctx.meta.prompt_length, dryBreakers: ctx.dryBreakers ?? index.dry_breakers ?? null });
    } catch (error) {
      summary.textContent = String(error.message || error);
      return;
    }
    current = { out, ctx };
    const meta = ctx.meta;
    // generate()'s hidden default: not a thing in llama.cpp's chain (whose own default is top_k = 40)
    hiddenTopK.hidden = !(S.order !== "llama_cpp" && S.on.top_k && S.value.top_k === 50 && orderFields().includes("top_k"));
    hiddenTopK.textContent = "top_k = 50 is on because generate() adds it whenever it samples and top_k is not set " +
      "(transformers' default); switch top_k off to sample from the whole vocabulary (top_k=0).";
    summary.replaceChildren(
      el("span", { class: "dl-pg-stat", "data-stat": "kept", text: `kept ${out.kept.toLocaleString("en")} of ${out.P.length.toLocaleString("en")} tokens` }), " · ",
      el("span", { class: "dl-pg-stat", "data-stat": "mass", text: `their mass under the model ${pct(out.keptMass)}` }), " · ",
      el("span", { class: "dl-pg-stat", "data-stat": "entropy", text: `entropy ${fmt(out.entropy)} nats` }));
    let shown = 0;
    const rowsOut = out.top.map((i) => {
      shown += out.P[i];
      return { label: label(meta, i), value: out.P[i], text: pct(out.P[i]), title: `id ${i} · logit ${fmt(ctx.logits[i])} · score ${fmt(out.scores[i])} · model's p ${pct(out.P0[i])}` };
    });
    const rest = Math.max(0, 1 - shown);
    const others = out.kept - out.top.length;
    rowsOut.push({ label: `${others.toLocaleString("en")} more`, value: rest, text: pct(rest), cls: "dl-pg-bar--rest",
      title: `the other ${others.toLocaleString("en")} kept tokens together` });
    finalBox.replaceChildren(bars(rowsOut, { max: Math.max(...rowsOut.map((r) => r.value)) }));
    // the stages
    const head = el("tr", {}, ...["stage", "kept", "removed", "mass removed", "top token", "entropy (nats)", "most likely removed"].map((h) => el("th", { text: h })));
    const body = out.stages.map((st) => el("tr", { "data-stage": st.field },
      el("td", {}, el("code", { text: `${st.field}=${valueText(st.value)}` })),
      el("td", { text: `${st.keptBefore.toLocaleString("en")} → ${st.keptAfter.toLocaleString("en")}` }),
      el("td", { text: st.removed.toLocaleString("en") }),
      el("td", { text: pct(st.removedMass) }),
      el("td", { text: `${pct(st.pTopBefore)} → ${pct(st.pTopAfter)}` }),
      el("td", { text: `${fmt(st.entropyBefore)} → ${fmt(st.entropyAfter)}` }),
      el("td", {}, ...st.topRemoved.flatMap(([i, p], j) => [j ? ", " : "", el("code", { text: label(meta, i) }), ` ${pct(p)}`]))));
    const decided = out.stages.filter((st) => st.info).map((st) => el("p", { class: "dl-pg-note", "data-decision": st.field, text:
      `${st.field} ${st.value.mirostat}: from μ = 2τ = ${fmt(st.info.mu)} bits (a generation's first step) it kept ` +
      `${st.info.kept.toLocaleString("en")} token${st.info.kept === 1 ? "" : "s"} and drew “${label(meta, st.info.token)}” (seed ` +
      `${st.value.seed}), whose surprise is ${fmt(st.info.surprise)} bits; the next step would start from μ = ${fmt(st.info.muNext)} bits.` }));
    stagesBox.replaceChildren(...(out.stages.length
      ? [el("div", { class: "dl-pg-scroll" }, el("table", { class: "dl-pg-table" }, el("thead", {}, head), el("tbody", {}, ...body))), ...decided]
      : [el("p", { text: "No processor is on: the distribution is the model's softmax of the raw logits." })]));
    drawBox.replaceChildren();
    writeUrl();
    const ms = performance.now() - t0;
    root.dataset.redrawMs = ms.toFixed(2);
    (window.__dlPlaygroundTimes ||= []).push(ms);
    root.dataset.state = "ready";
  }
  function draw() {
    if (!current) return;
    const n = Math.round(Number(drawN.value)), seed = Math.round(Number(drawSeed.value));
    if (!(n >= 1 && n <= 100000)) { drawBox.textContent = `The number of draws has to be an integer in [1, 100000], but is ${drawN.value}`; return; }
    if (!(seed >= 0 && seed <= 4294967295)) { drawBox.textContent = `The seed has to be an integer in [0, 4294967295], but is ${drawSeed.value}`; return; }
    const { out, ctx } = current;
    const counts = drawSamples(out.P, n, seed);
    const ids = out.top.slice(0, HIST);
    let tv = 0;
    for (let i = 0; i < out.P.length; i++) if (out.P[i] > 0 || counts.has(i)) tv += Math.abs((counts.get(i) || 0) / n - out.P[i]);
    let shownP = 0, shownF = 0;
    const rowsOut = ids.map((i) => {
      const freq = (counts.get(i) || 0) / n;
      shownP += out.P[i]; shownF += freq;
      return { label: label(ctx.meta, i), value: freq, second: out.P[i], text: `${counts.get(i) || 0} (${pct(freq)} vs ${pct(out.P[i])})` };
    });
    rowsOut.push({ label: "every other token", value: Math.max(0, 1 - shownF), second: Math.max(0, 1 - shownP), text: `${n - Math.round(shownF * n)} (${pct(Math.max(0, 1 - shownF))} vs ${pct(Math.max(0, 1 - shownP))})`, cls: "dl-pg-bar--rest" });
    drawBox.replaceChildren(
      el("p", { class: "dl-pg-legend" }, el("span", { class: "dl-pg-swatch" }), " drawn ", el("span", { class: "dl-pg-swatch dl-pg-swatch--expected" }), " the distribution's probability · ",
        el("span", { "data-stat": "tv", text: `total variation distance ${fmt(tv / 2, 4)} over ${n.toLocaleString("en")} draws (seed ${seed})` })),
      bars(rowsOut, { max: Math.max(...rowsOut.map((r) => Math.max(r.value, r.second))) }));
  }
  async function load(key) {
    livePanel.hidden = key !== LIVE;
    if (key === LIVE) {
      ctxSelect.value = key;
      await showLive();
      return;
    }
    if (!contexts.has(key)) {
      const entry = index.contexts.find((c) => c.key === key);
      status.textContent = `Loading ${entry.label}…`;
      const [buf, meta] = await Promise.all([
        fetch(new URL(`playground/${key}.f32`, assets)).then((r) => { if (!r.ok) throw new Error(`${key}.f32: HTTP ${r.status}`); return r.arrayBuffer(); }),
        fetch(new URL(`playground/${key}.json`, assets)).then((r) => { if (!r.ok) throw new Error(`${key}.json: HTTP ${r.status}`); return r.json(); }),
      ]);
      const logits = new Float32Array(buf);
      if (logits.length !== index.vocab_size) throw new Error(`${key}.f32 holds ${logits.length} logits, not ${index.vocab_size}`);
      contexts.set(key, { logits, meta: { ...meta, ids: Int32Array.from(meta.ids) } });
    }
    const entry = index.contexts.find((c) => c.key === key);
    renderContext(entry, contexts.get(key).meta);
    ctxSelect.value = key;
  }
  // ---- your prompt
  const L = { model: null, manifest: null, loading: false, ids: null, promptLength: 0, steps: 0 };
  async function showLive() {
    const ctx = contexts.get(LIVE);
    if (ctx) renderContext({ tokens: ctx.meta.ids.length }, ctx.meta, L.manifest.label ?? L.manifest.model);
    else ctxText.replaceChildren(el("span", { class: "dl-pg-meta", text: "Your own prompt, run by the live model in this page." }));
    if (L.manifest || L.loading) return;
    try {
      const { manifest, cached } = await live.probe(liveBase);
      L.manifest = manifest;
      const mb = `${(manifest.bytes / 1e6).toFixed(0)} MB`;
      liveIntro.textContent = `The embedded model, live in this page: SmolLM2-135M-Instruct, on the same 4-bit weights as the ` +
        `lessons, run by onnxruntime's WebAssembly build. Its logits are within 1e-4 of PyTorch's ` +
        `(the build measured ${manifest.check ? manifest.check.max_abs_diff.toExponential(1) : "—"} on ${manifest.check ? manifest.check.prompts : "—"} prompts), ` +
        `and every processor of the chain applies to them. The model is ${mb}, fetched only when you ask and kept in this browser's cache.` +
        (index.model !== manifest.model ? ` This site's lessons and other contexts come from ${index.model}; the live model is the embedded one.` : "");
      liveLoad.textContent = cached ? `Load the model (${mb}, from this browser's cache)` : `Load the model (${mb})`;
    } catch (error) {
      liveIntro.textContent = `The live model is not available on this site (${error.message}).`;
      liveLoad.disabled = true;
    }
  }
  async function loadLive() {
    if (L.loading || L.model) return;
    L.loading = true;
    liveLoad.disabled = true;
    liveProgress.hidden = false; liveProgress.removeAttribute("value");
    liveNote.textContent = "";
    liveStatus.textContent = "Loading…";
    try {
      L.model = await live.LiveModel.load(liveBase, { onProgress(p) {
        if (p.stage === "starting") { liveProgress.removeAttribute("value"); liveStatus.textContent = "Preparing the model (dequantizing its weights once)…"; return; }
        liveProgress.value = p.loaded / p.total;
        liveStatus.textContent = `${(p.loaded / 1e6).toFixed(1)} of ${(p.total / 1e6).toFixed(1)} MB${p.source === "cache" ? " from this browser's cache" : ""}`;
      } });
      liveProgress.hidden = true;
      const m = L.model;
      liveStatus.textContent = `Ready: ${m.fromCache ? "read from this browser's cache" : "downloaded"} in ${m.fetchSeconds.toFixed(1)} s, ` +
        `started in ${(m.loadSeconds - m.fetchSeconds).toFixed(1)} s · ${m.threads} thread${m.threads === 1 ? "" : "s"}`;
      liveLoad.hidden = true;
      for (const b of [livePrompt, liveRun, liveStep, liveSteps]) b.disabled = false;
    } catch (error) {
      liveProgress.hidden = true;
      liveStatus.textContent = "";
      liveNote.textContent = `The model could not be loaded: ${error.message}. Nothing was kept in the cache; try again.`;
      liveLoad.textContent = "Try again";
      liveLoad.disabled = false;
      root.dataset.live = "failed";
    } finally {
      L.loading = false;
    }
    if (L.model) {
      await busy(runPrompt)();
      root.dataset.live = "ready";
    }
  }
  async function runIds(ids) {
    const logits = await L.model.logits(ids);
    const meta = {
      ids: Int32Array.from(ids), prompt_length: L.promptLength,
      prompt_text: L.model.decode(ids.slice(0, L.promptLength)), generated_text: L.model.decode(ids.slice(L.promptLength)),
      labels: L.model.labels,
    };
    contexts.set(LIVE, { logits, meta, dryBreakers: L.manifest.dry_breakers });
    renderContext({ tokens: ids.length }, meta, L.manifest.label ?? L.manifest.model);
    if (S.context === LIVE) update();
    liveNote.textContent = `${ids.length} token${ids.length === 1 ? "" : "s"} through the model in ${L.model.lastMs.toFixed(0)} ms.`;
  }
  async function runPrompt() {
    if (!L.model) return;
    const ids = L.model.encode(livePrompt.value);
    const why = L.model.refusal(ids);
    if (why) { liveNote.textContent = why; return; }
    L.ids = ids; L.promptLength = ids.length; L.steps = 0;
    await runIds(ids);
  }
  async function step(count) {
    if (!L.model) return;
    if (!current || S.context !== LIVE || !L.ids) await runPrompt();
    for (let k = 0; k < count && current; k++) {
      const seed = (Math.round(Number(drawSeed.value)) || 0) + L.steps;
      const [token] = drawSamples(current.out.P, 1, seed).keys();
      if (L.manifest.eos_token_ids.includes(token)) {
        liveNote.textContent = `The model drew “${L.model.labels[token]}”, its end of text: generation stops here.`;
        return;
      }
      if (L.ids.length + 1 > L.model.maxTokens) { liveNote.textContent = L.model.refusal([...L.ids, token]); return; }
      L.ids = [...L.ids, token]; L.steps += 1;
      await runIds(L.ids);
    }
  }
  const busy = (fn) => async () => {
    for (const b of [liveRun, liveStep, liveSteps]) b.disabled = true;
    try { await fn(); } catch (error) { liveNote.textContent = String(error.message || error); }
    finally { for (const b of [liveRun, liveStep, liveSteps]) b.disabled = !L.model; }
  };
  liveLoad.addEventListener("click", loadLive);
  livePrompt.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); liveRun.click(); } });
  liveRun.addEventListener("click", busy(runPrompt));
  liveStep.addEventListener("click", busy(() => step(1)));
  liveSteps.addEventListener("click", busy(() => step(10)));

  async function fromUrl(frag = location.hash) {
    applyFragment(frag);
    renderKnobs();
    try {
      await load(S.context);
    } catch (error) {
      notes.append(el("p", { class: "dl-pg-note dl-pg-dropped", text: `The context could not be loaded (${error.message}).` }));
      root.dataset.state = "failed";
      return;
    }
    update();
  }

  ctxSelect.addEventListener("change", async () => { S.context = ctxSelect.value; await load(S.context); update(); });
  orderSelect.addEventListener("change", () => {
    S.order = orderSelect.value;
    if (S.order === "llama_cpp") for (const f of hfOrder) if (!cppOrder.includes(f)) S.on[f] = false;
    renderKnobs(); update();
  });
  resetButton.addEventListener("click", () => {
    for (const r of rows) { S.on[r.field] = false; S.value[r.field] = startValue(r); }
    S.on.top_k = true; S.value.top_k = 50; S.order = "hf"; S.custom = [...hfOrder];
    notes.replaceChildren(); renderKnobs(); update();
  });
  drawButton.addEventListener("click", draw);
  // a reader who edits the fragment by hand; a heading's anchor (navigation.tracking) is not state
  window.addEventListener("hashchange", () => { if (document.body.contains(root) && isState(location.hash)) fromUrl(); });
  await fromUrl(isState(location.hash) || !isState(fragment) ? location.hash : fragment);
}
