// The decoding engine for the browser: transformers' logits processors (the knobs of the processor
// table), in float32 as torch computes them on the CPU. No framework, no dependency, no network:
// an ES module for Node 20 (`node --test tests/engine/engine.test.mjs`) and for
// `<script type="module">` on the site, which serves the table as assets/processors.json.
//
// const table = await (await fetch("../assets/processors.json")).json();
// const s = resolve({top_p: 0.9, temperature: 0.7}, table, {doSample: true});   // top_k=50 appears
// const {scores, stages} = apply(logits, contextIds, s, chain("hf", table));
//
// Where JavaScript and torch are kept in step
// -------------------------------------------
// Every processor is transformers 5's `__call__` (generation/logits_process.py), operation by
// operation, on torch's CPU kernels (torch 2.13):
//
// * float32 arithmetic. A float32 tensor with a Python float (`scores / T`, `score * penalty`,
//   `min_p * p_max`, `probs < epsilon`, `cum <= 1 - top_p`) is computed in float32 with the
//   scalar rounded to float32 first (measured: `scores / T` is a true division, not `* (1/T)`;
//   the comparison `float32(0.7) < 0.7` is False in torch). Here: `fround(a / fround(T))`: a
//   double + - * / of two float32 values, rounded once, is the correctly rounded float32 result.
// * Sorting. `torch.sort` on the CPU is libstdc++'s `std::sort` (introsort, not stable: measured,
//   ties of more than 16 elements come out in no index order), and `torch.topk` is
//   `std::partial_sort` when k * 64 <= n, else `std::nth_element` + `std::sort`. Which of two tied
//   tokens top-p cuts at its boundary, which tied token min-p's min_tokens_to_keep keeps and which
//   tokens top-H's 100 candidates are, depend on those algorithms' exact sequence of swaps, so
//   this file carries a line-by-line copy of them (`stdSort`, `partialSort`, `nthElement`; a
//   descending sort is an ascending sort of the negated keys, the same comparisons), checked
//   permutation for permutation against torch on tied arrays. For speed, top-p and typical sort
//   only the keys that can matter (finite scores; finite shifted scores) when no tie among them
//   can change the outcome, and fall back to torch's whole sort when one can (`sortRelevant`).
// * Top-k keeps every token tied with the k-th (`scores < kth` removes): only the k-th value
//   counts, any selection gives it.
// * cumsum on the CPU accumulates float32 in double (at::acc_type) and rounds each prefix to
//   float32 (measured, bit for bit): done so here.
// * softmax, log_softmax, logsumexp and the float32 sums of entropy use Sleef's vectorised exp and
//   lane-wise float sums in torch; they cannot be copied bit for bit. Here exp is the double
//   Math.exp rounded to float32 and the sums are double sums rounded once, so a probability
//   differs from torch's by about 3e-7 of itself (2-5 float32 ulps), an entropy by ~1e-7.
//   Consequence: a decision "p < threshold" (min-p, ε, η), "cum <= 1 - top_p" (top-p),
//   "cum < mass" / "shifted > shifted[last]" (typical) or "cumulative entropy <= τ" (top-H) whose
//   two sides lie within a few 1e-6 of each other in torch's own float32 values may come out the other
//   way here. The golden vectors record, for every case, torch's margin of its closest such
//   decision; the test demands token-for-token equality of every case whose margin is above
//   NEAR = 4e-6 (relative to the threshold; absolute for cumulative probabilities) and counts and
//   reports the others (2 of 18 such cases differ in the goldens, both typical_p = 0.999, whose
//   cut falls in a tail of tokens 1 float32 ulp of cumulative probability apart; on the
//   playground's contexts a typical_p = 0.945 cut 1.19e-6 from torch's threshold, 3,454 tokens
//   into the sum, flipped: so NEAR is 4e-6, not 1e-6). The cases built on
//   purpose at a boundary (label "boundary:") are decided by the rule, not by the 8th significant
//   digit: probabilities that are exact dyadic numbers in both (1/4096, 1/2048), so that top-p's
//   `<=`, typical's `<`, min-p's and ε's `<` meet equality and top-p cuts inside a tie of 4094
//   tokens, top-H's 100 candidates at vocab = 64 * 100 (partial_sort vs nth_element),
//   min_tokens_to_keep; they must match exactly whatever the margin. A decision both sides of which are the same float32 number (min_p = 1 against
//   the top token itself, tied logits) is the same here, because tied logits give tied
//   probabilities in both.
// * Kept scores are not touched by a softmax (the processors only divide by T, apply the penalty
//   and write -inf), so they are bit-identical to torch's whenever the kept sets agree.
// * The filter value is -Infinity; repetition penalty and no-repeat-n-gram ignore context ids
//   >= the vocabulary (transformers clamps them into a padded column it drops).
// * Top-H: torch.distributions.Categorical(logits=top100): logits - logsumexp, clamped at
//   float32's min for the entropy, probs = softmax, log(probs); a -inf candidate gives
//   -0 * -inf = NaN in the cumulative entropy, which never passes `<= tau`, as in torch.
// * Error messages are Python's (checks.py, Processor.check), with Python's repr of the value; a
//   JS number that is an integer below 1e16 reads as a Python int (JS has no 2 vs 2.0, so top_k = 2.0,
//   which Python refuses as a float, is accepted here as 2).
// * The model's own generation_config (a model may ship top_p or temperature) is not known in the
//   browser: `resolve` fills unset fields with transformers' global defaults (the table's).

const f = Math.fround;
const FLOAT32_MIN = -3.4028234663852886e38; // torch.finfo(torch.float32).min
export const NEAR = 4e-6;

// ------------------------------------------------------------------------------------------------
// The table (assets/processors.json, decoding_lessons.processors.table_json())

/** The knob rows the engine runs: a number each, nothing else needed, runnable in a browser. */
export function knobRows(table) {
  return table.processors.filter((r) => (r.kind === "float" || r.kind === "int") && r.needs.length === 0 && r.browser);
}

/** The samplers with several settings the engine runs (llama.cpp's penalties, XTC, its temperature,
 * the OpenAI penalties): a value is an object of their parameters, the unset ones at their default. */
export function samplerRows(table) {
  return table.processors.filter((r) => r.kind === "params" && r.browser);
}

function num(x) {
  return x === "inf" ? Infinity : x === "-inf" ? -Infinity : x;
}

/** Python's repr() of a value, as the error messages print it. A JS number that is an integer
 * reads as a Python int (JS has no 2 vs 2.0). */
export function pyRepr(v) {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "string") return "'" + v.replace(/\\/g, "\\\\").replace(/'/g, "\\'") + "'";
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (typeof v !== "number") return String(v);
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return String(v); // a Python int (from 1e16 on, a float)
  const [mant, e] = v.toExponential().split("e"); // shortest round-trip digits, as Python's repr
  const exp = Number(e);
  if (exp < -4 || exp >= 16) {
    const m = mant.includes(".") ? mant : mant;
    return `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  const s = String(v); // JS writes fixed notation for 1e-7 < |v| < 1e21
  return s.includes(".") || s.includes("e") ? s : s + ".0";
}

function gText(x) {
  return Number.isFinite(x) ? pyRepr(x).replace(/\.0$/, "") : x > 0 ? "inf" : "-inf";
}

/** The error text Python's Processor.check gives for `value`, or null when the value is good. */
export function checkValue(row, value) {
  const lo = num(row.interval.low), hi = num(row.interval.high);
  const isNum = typeof value === "number";
  if (row.kind === "int") {
    const ok = isNum && Number.isInteger(value) && value >= lo && (!Number.isFinite(hi) || value <= hi);
    const allowed = Number.isFinite(hi) ? `in [${gText(lo)}, ${gText(hi)}]` : `>= ${gText(lo)}`;
    return ok ? null : `\`${row.field}\` has to be an integer ${allowed}, but is ${pyRepr(value)}`;
  }
  if (row.field === "temperature" && isNum && value === 0) {
    return "`temperature` has to be a float in the (0, inf) interval, but is 0: " +
      "T = 0 would divide by zero; for greedy decoding use do_sample=False";
  }
  const { low_open: lowOpen, high_open: highOpen } = row.interval;
  let ok = isNum && Number.isFinite(value);
  if (ok) ok = (lowOpen ? value > lo : value >= lo) && (highOpen ? value < hi : value <= hi);
  if (ok) return null;
  let allowed;
  if (!Number.isFinite(lo) && !Number.isFinite(hi)) allowed = "a finite float";
  else if (!Number.isFinite(hi) && !lowOpen) allowed = `a float >= ${gText(lo)}`;
  else allowed = `a float in the ${row.interval.text} interval`;
  return `\`${row.field}\` has to be ${allowed}, but is ${pyRepr(value)}`;
}

/** The first error DecodingConfig(**settings) would raise (the table's order), or null.
 * Fields that are not knobs of the engine are refused by name. */
export function validate(settings, table) {
  const rows = knobRows(table), samplers = samplerRows(table);
  const known = new Set([...rows, ...samplers].map((r) => r.field));
  if (settings.do_sample !== undefined && settings.do_sample !== null && typeof settings.do_sample !== "boolean") {
    return `\`do_sample\` has to be True or False, but is ${pyRepr(settings.do_sample)}`;
  }
  const unknown = Object.keys(settings).filter((k) => k !== "do_sample" && !known.has(k));
  if (unknown.length) return `\`settings\` has to hold only the fields ${[...known].join(", ")}, but holds ${unknown.join(", ")}`;
  for (const row of table.processors) {
    if (!known.has(row.field)) continue;
    const v = settings[row.field];
    if (v === undefined || v === null) continue;
    const err = row.kind === "params" ? checkParams(row, v) : checkValue(row, v);
    if (err) return err;
  }
  return null;
}

/** Python's message for a sampler's settings object (Param.check, in the row's order), or null. */
export function checkParams(row, value) {
  const names = row.params.map((q) => q.name);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return `\`${row.field}\` has to be a dict of its parameters (${names.join(", ")}), but is ${pyRepr(value)}`;
  }
  const unknown = Object.keys(value).filter((k) => !names.includes(k)).sort();
  if (unknown.length) return `\`${row.field}\` takes only the parameters ${names.join(", ")}, but was given [${unknown.map(pyRepr).join(", ")}]`;
  for (const q of row.params) {
    if (value[q.name] === undefined) continue;
    const err = checkValue({ field: q.name, kind: q.kind, interval: q.interval }, value[q.name]);
    if (err) return err;
  }
  return null;
}

/** generate()'s effective values: unset fields take transformers' defaults (top_k = 50!), and the
 * sampling warpers are inactive unless doSample. Throws the validation message. */
export function resolve(settings, table, { doSample } = {}) {
  const err = validate(settings, table);
  if (err) throw new RangeError(err);
  const out = { do_sample: doSample ?? settings.do_sample ?? false };
  for (const row of knobRows(table)) {
    const v = settings[row.field];
    out[row.field] = v === undefined || v === null ? num(row.default) : v;
  }
  for (const row of samplerRows(table)) { // unset: off; set: every parameter, the unset ones at their default
    const v = settings[row.field];
    if (v !== undefined && v !== null) out[row.field] = Object.fromEntries(row.params.map((q) => [q.name, v[q.name] ?? num(q.default)]));
  }
  return out;
}

/** Whether a resolved value switches its processor on: set, and not the table's off value (a
 * sampler with several settings: as its row decides). */
export function isActive(row, value) {
  if (row.kind === "params") return isOn(row.field, value);
  return value !== null && value !== undefined && value !== num(row.off);
}

/** An order: "hf" (generate()'s), "llama_cpp" (llama.cpp's default chain) or a list of fields,
 * checked as decoding_lessons.apply_in_order checks it. */
export function chain(order, table) {
  const known = table.hf_order;
  if (order === "hf") return [...table.hf_order];
  if (order === "llama_cpp") return [...table.llama_cpp_order];
  if (typeof order === "string") {
    throw new RangeError(`\`order\` has to be a sequence of field names (${known.join(", ")}), but is the string ${pyRepr(order)}`);
  }
  const list = [...order];
  const unknown = list.filter((n) => !known.includes(n));
  if (unknown.length) throw new RangeError(`\`order\` has to hold only the fields ${known.join(", ")}, but holds [${unknown.map(pyRepr).join(", ")}]`);
  const dupes = [...new Set(list.filter((n, i) => list.indexOf(n) !== i))].sort();
  if (dupes.length) throw new RangeError(`\`order\` has to name each field at most once, but repeats [${dupes.map(pyRepr).join(", ")}]`);
  return list;
}

// ------------------------------------------------------------------------------------------------
// libstdc++'s std::sort, std::partial_sort and std::nth_element, on parallel arrays (K keys, I
// indices), with the comparator K[a] < K[b]: the same comparisons and swaps as in torch.

function swap(K, I, a, b) {
  const k = K[a]; K[a] = K[b]; K[b] = k;
  const i = I[a]; I[a] = I[b]; I[b] = i;
}

function moveMedianToFirst(K, I, r, a, b, c) {
  if (K[a] < K[b]) {
    if (K[b] < K[c]) swap(K, I, r, b);
    else if (K[a] < K[c]) swap(K, I, r, c);
    else swap(K, I, r, a);
  } else if (K[a] < K[c]) swap(K, I, r, a);
  else if (K[b] < K[c]) swap(K, I, r, c);
  else swap(K, I, r, b);
}

function unguardedPartition(K, I, first, last, pivot) {
  const pk = K[pivot];
  for (;;) {
    while (K[first] < pk) ++first;
    --last;
    while (pk < K[last]) --last;
    if (!(first < last)) return first;
    swap(K, I, first, last);
    ++first;
  }
}

function partitionPivot(K, I, first, last) {
  const mid = first + Math.floor((last - first) / 2);
  moveMedianToFirst(K, I, first, first + 1, mid, last - 1);
  return unguardedPartition(K, I, first + 1, last, first);
}

function adjustHeap(K, I, f, hole, len, vk, vi) {
  const top = hole;
  let second = hole;
  while (second < Math.floor((len - 1) / 2)) {
    second = 2 * (second + 1);
    if (K[f + second] < K[f + second - 1]) second--;
    K[f + hole] = K[f + second]; I[f + hole] = I[f + second];
    hole = second;
  }
  if ((len & 1) === 0 && second === Math.floor((len - 2) / 2)) {
    second = 2 * (second + 1);
    K[f + hole] = K[f + second - 1]; I[f + hole] = I[f + second - 1];
    hole = second - 1;
  }
  let parent = Math.trunc((hole - 1) / 2);
  while (hole > top && K[f + parent] < vk) {
    K[f + hole] = K[f + parent]; I[f + hole] = I[f + parent];
    hole = parent;
    parent = Math.trunc((hole - 1) / 2);
  }
  K[f + hole] = vk; I[f + hole] = vi;
}

function makeHeap(K, I, f, len) {
  if (len < 2) return;
  let parent = Math.floor((len - 2) / 2);
  for (;;) {
    adjustHeap(K, I, f, parent, len, K[f + parent], I[f + parent]);
    if (parent === 0) return;
    parent--;
  }
}

function popHeap(K, I, f, len, result) {
  const vk = K[result], vi = I[result];
  K[result] = K[f]; I[result] = I[f];
  adjustHeap(K, I, f, 0, len, vk, vi);
}

function heapSelect(K, I, first, middle, last) {
  makeHeap(K, I, first, middle - first);
  for (let i = middle; i < last; i++) if (K[i] < K[first]) popHeap(K, I, first, middle - first, i);
}

function sortHeap(K, I, first, last) {
  while (last - first > 1) {
    --last;
    popHeap(K, I, first, last - first, last);
  }
}

/** std::partial_sort(first, middle, last). */
export function partialSort(K, I, first, middle, last) {
  heapSelect(K, I, first, middle, last);
  sortHeap(K, I, first, middle);
}

function unguardedLinearInsert(K, I, last) {
  const vk = K[last], vi = I[last];
  let next = last - 1;
  while (vk < K[next]) {
    K[last] = K[next]; I[last] = I[next];
    last = next;
    next--;
  }
  K[last] = vk; I[last] = vi;
}

function insertionSort(K, I, first, last) {
  if (first === last) return;
  for (let i = first + 1; i < last; i++) {
    if (K[i] < K[first]) {
      const vk = K[i], vi = I[i];
      K.copyWithin(first + 1, first, i); I.copyWithin(first + 1, first, i);
      K[first] = vk; I[first] = vi;
    } else unguardedLinearInsert(K, I, i);
  }
}

const lg = (n) => 31 - Math.clz32(n);

function introsortLoop(K, I, first, last, depth) {
  while (last - first > 16) {
    if (depth === 0) {
      partialSort(K, I, first, last, last);
      return;
    }
    depth--;
    const cut = partitionPivot(K, I, first, last);
    introsortLoop(K, I, cut, last, depth);
    last = cut;
  }
}

/** std::sort(first, last): introsort, then the final insertion sort (threshold 16). */
export function stdSort(K, I, first, last) {
  if (first === last) return;
  introsortLoop(K, I, first, last, 2 * lg(last - first));
  if (last - first > 16) {
    insertionSort(K, I, first, first + 16);
    for (let i = first + 16; i < last; i++) unguardedLinearInsert(K, I, i);
  } else insertionSort(K, I, first, last);
}

/** std::nth_element(first, nth, last): introselect. */
export function nthElement(K, I, first, nth, last) {
  if (first === last || nth === last) return;
  let depth = 2 * lg(last - first);
  while (last - first > 3) {
    if (depth === 0) {
      heapSelect(K, I, first, nth + 1, last);
      swap(K, I, first, nth);
      return;
    }
    depth--;
    const cut = partitionPivot(K, I, first, last);
    if (cut <= nth) first = cut;
    else last = cut;
  }
  insertionSort(K, I, first, last);
}

// ------------------------------------------------------------------------------------------------
// Work buffers, reused across calls (one set per vocabulary size).

let buf = null;
function buffers(V) {
  if (!buf || buf.V !== V) {
    buf = { V, K: new Float32Array(V), I: new Int32Array(V), P: new Float32Array(V), Q: new Float32Array(V), C: new Float32Array(V), M: new Uint8Array(V) };
  }
  return buf;
}

function iota(I, n) {
  for (let i = 0; i < n; i++) I[i] = i;
}

/** torch.sort(x) ascending (descending: negate): values in K, indices in I. */
function torchSort(x, n, K, I, descending = false) {
  if (descending) for (let i = 0; i < n; i++) K[i] = -x[i];
  else K.set(x.subarray(0, n));
  iota(I, n);
  stdSort(K, I, 0, n);
  if (descending) for (let i = 0; i < n; i++) K[i] = -K[i];
}

/** torch.topk(x, k) (largest, sorted): the first k of K (values) and I (indices). */
function torchTopk(x, n, k, K, I) {
  for (let i = 0; i < n; i++) K[i] = -x[i];
  iota(I, n);
  if (k * 64 <= n) partialSort(K, I, 0, k, n);
  else {
    nthElement(K, I, 0, k - 1, n);
    stdSort(K, I, 0, k - 1);
  }
  for (let i = 0; i < k; i++) K[i] = -K[i];
}

/** The k-th largest value of x (k <= n): what `torch.topk(x, k)[0][..., -1]` gives. Only the value
 * counts (top-k, ε's and η's min_tokens_to_keep remove by `scores < kth`), so any selection does. */
function kthLargest(x, n, k, K, I) {
  if (k === 1) {
    let m = -Infinity;
    for (let i = 0; i < n; i++) if (x[i] > m) m = x[i];
    return m;
  }
  if (k <= 1024) { // a min-heap of the k largest so far
    const H = K;
    for (let i = 0; i < k; i++) H[i] = x[i];
    for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(H, i, k);
    for (let i = k; i < n; i++) if (x[i] > H[0]) { H[0] = x[i]; siftDown(H, 0, k); }
    return H[0];
  }
  for (let i = 0; i < n; i++) K[i] = -x[i];
  nthElement(K, I, 0, k - 1, n);
  return -K[k - 1];
}

function siftDown(H, i, k) {
  const v = H[i];
  for (;;) {
    let c = 2 * i + 1;
    if (c >= k) break;
    if (c + 1 < k && H[c + 1] < H[c]) c++;
    if (!(H[c] < v)) break;
    H[i] = H[c];
    i = c;
  }
  H[i] = v;
}

/** torch.sort(keys) ascending, for a processor whose outcome depends on the order of the keys that
 * pass `use` only, when they are not tied (`tied(j)` says whether a tie between sorted positions
 * j and j + 1 matters). Those keys are sorted alone (in their original order: with every key
 * passing, that is torch's whole sort); if a tie that matters shows up, the whole array is sorted
 * as torch sorts it, every key included, and `m` = n. Returns m: K[0..m) are the sorted keys that
 * pass `use`, I their indices. */
function sortRelevant(x, n, K, I, use, tied) {
  let m = 0;
  for (let i = 0; i < n; i++) if (use(x[i])) { K[m] = x[i]; I[m] = i; m++; }
  if (m === n) {
    stdSort(K, I, 0, n);
    return n;
  }
  stdSort(K, I, 0, m);
  for (let j = 0; j + 1 < m; j++) {
    if (K[j] === K[j + 1] && tied(j)) {
      torchSort(x, n, K, I);
      return n;
    }
  }
  return m;
}

/** softmax in float32 (see the note above): out[i] = fround(fround(exp(x[i] - max)) * fround(1 / sum)). */
export function softmax(x, out = new Float32Array(x.length), n = x.length) {
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (x[i] > m) m = x[i];
  let s = 0;
  for (let i = 0; i < n; i++) {
    const e = f(Math.exp(f(x[i] - m)));
    out[i] = e;
    s += e;
  }
  const inv = f(1 / f(s));
  for (let i = 0; i < n; i++) out[i] = f(out[i] * inv);
  return out;
}

/** log_softmax in float32: fround(fround(x - max) - fround(log(sum exp))). */
function logSoftmax(x, out, n) {
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (x[i] > m) m = x[i];
  let s = 0;
  for (let i = 0; i < n; i++) s += f(Math.exp(f(x[i] - m)));
  const ls = f(Math.log(f(s)));
  for (let i = 0; i < n; i++) out[i] = f(f(x[i] - m) - ls);
  return out;
}

/** torch.logsumexp in float32. */
function logsumexp(x, n) {
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (x[i] > m) m = x[i];
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (let i = 0; i < n; i++) s += f(Math.exp(f(x[i] - m)));
  return f(f(Math.log(f(s))) + m);
}

/** Categorical(logits=x).entropy() in float32; leaves the normalised logits in N and probs in P. */
function categoricalEntropy(x, n, N, P) {
  const lse = logsumexp(x, n);
  for (let i = 0; i < n; i++) N[i] = f(x[i] - lse);
  softmax(N, P, n);
  let h = 0;
  for (let i = 0; i < n; i++) {
    const l = N[i] < FLOAT32_MIN ? FLOAT32_MIN : N[i];
    h += f(l * P[i]);
  }
  return f(-f(h));
}

// ------------------------------------------------------------------------------------------------
// The processors. Each changes `s` (Float32Array scores) in place.

const NEG = -Infinity;

function repetitionPenalty(s, V, ids, penalty) {
  const p = f(penalty);
  const M = buffers(V).M;
  M.fill(0);
  for (let j = 0; j < ids.length; j++) {
    const t = ids[j];
    if (t < 0 || t >= V || M[t]) continue;
    M[t] = 1;
    const x = s[t];
    s[t] = x < 0 ? f(x * p) : f(x / p);
  }
}

function noRepeatNgram(s, V, ids, n) {
  const L = ids.length;
  if (L < n) return;
  const start = L + 1 - n; // the prefix ids[start:]
  for (let w = 0; w + n <= L; w++) {
    let match = true;
    for (let j = 0; j < n - 1; j++) if (ids[w + j] !== ids[start + j]) { match = false; break; }
    if (match) {
      const t = ids[w + n - 1];
      if (t >= 0 && t < V) s[t] = NEG;
    }
  }
}

function temperature(s, V, T) {
  const t = f(T);
  for (let i = 0; i < V; i++) s[i] = f(s[i] / t);
}

function topK(s, V, k, mtk) {
  const kk = Math.min(Math.max(k, mtk), V);
  const { K, I } = buffers(V);
  const kth = kthLargest(s, V, kk, K, I);
  for (let i = 0; i < V; i++) if (s[i] < kth) s[i] = NEG;
}

function topP(s, V, topP_, mtk) {
  const { K, I, P } = buffers(V);
  // -inf scores sort first with probability 0 (cum 0 <= 1 - top_p: removed, whatever their order);
  // the finite ones decide, and their order is torch's unless two of them are tied
  const m = sortRelevant(s, V, K, I, (v) => v !== NEG, () => true);
  softmax(K, P, m);
  const thr = f(1 - topP_);
  let acc = 0;
  const off = V - m; // the -inf ones before them
  const end = V - mtk;
  for (let j = 0; j < m; j++) {
    acc += P[j];
    if (off + j < end && f(acc) <= thr) s[I[j]] = NEG;
  }
}

function minP(s, V, minP_, mtk) {
  const { K, I, P, M } = buffers(V);
  softmax(s, P, V);
  let top = 0;
  for (let i = 0; i < V; i++) if (P[i] > top) top = P[i];
  const scaled = f(f(minP_) * top);
  M.fill(0);
  let kept = 0;
  for (let i = 0; i < V; i++) if (!(P[i] < scaled)) { M[i] = 1; kept++; }
  const k = Math.min(mtk, V);
  if (kept < V && k > 0) { // the k most probable are kept whatever their p (torch.topk's k, ties included as it picks them)
    if (k === 1) {
      // torch.topk(probs, 1): the first maximum (partial_sort with k=1 keeps the first of tied maxima)
      let b = 0;
      for (let i = 1; i < V; i++) if (P[i] > P[b]) b = i;
      M[b] = 1;
    } else {
      torchTopk(P, V, k, K, I);
      for (let j = 0; j < k; j++) M[I[j]] = 1;
    }
  }
  for (let i = 0; i < V; i++) if (!M[i]) s[i] = NEG;
}

function typical(s, V, mass, mtk) {
  const { K, I, P, Q, C } = buffers(V);
  logSoftmax(s, Q, V); // normalized
  let h = 0;
  for (let i = 0; i < V; i++) {
    const t = f(Q[i] * f(Math.exp(Q[i])));
    if (!Number.isNaN(t)) h += t; // nansum
  }
  const ent = f(-f(h));
  for (let i = 0; i < V; i++) C[i] = f(Math.abs(f(-Q[i] - ent)));
  // -inf scores shift to +inf and sort last with probability 0; the order of tied finite shifted
  // scores matters when their probabilities differ (two surprisals either side of the entropy) or
  // when the tie straddles the min_tokens_to_keep protected positions
  const m = sortRelevant(C, V, K, I, (v) => v !== Infinity, (j) => j === mtk - 1 || s[I[j]] !== s[I[j + 1]]);
  for (let j = 0; j < m; j++) C[j] = s[I[j]]; // sorted_logits
  softmax(C, P, m);
  const ms = f(mass);
  let acc = 0, last = 0;
  for (let j = 0; j < m; j++) {
    acc += P[j];
    if (f(acc) < ms) last++;
  }
  if (last === m && m < V) last = V - 1; // the +inf ones repeat the last cumulative value
  if (last > V - 1) last = V - 1;
  const thr = last < m ? K[last] : Infinity;
  for (let j = mtk; j < m; j++) if (K[j] > thr) s[I[j]] = NEG;
}

function epsilon(s, V, eps, mtk) {
  const { K, I, P } = buffers(V);
  softmax(s, P, V);
  const e = f(eps);
  const kth = kthLargest(s, V, Math.min(mtk, V), K, I);
  for (let i = 0; i < V; i++) if (P[i] < e && s[i] < kth) s[i] = NEG;
}

function eta(s, V, eps, mtk) {
  const { K, I, P, Q, C } = buffers(V);
  softmax(s, P, V);
  const ent = categoricalEntropy(s, V, Q, C);
  const e = f(eps);
  const alt = f(f(Math.sqrt(e)) * f(Math.exp(-ent)));
  const cut = Math.min(e, alt);
  const kth = kthLargest(s, V, Math.min(mtk, V), K, I);
  for (let i = 0; i < V; i++) if (P[i] < cut && s[i] < kth) s[i] = NEG;
}

const TOP_H_CANDIDATES = 100;

function topH(s, V, topH_) {
  const { K, I, P, Q, M } = buffers(V);
  const n = Math.min(TOP_H_CANDIDATES, V);
  torchTopk(s, V, n, K, I);
  const logits = K.slice(0, n), idx = I.slice(0, n); // 100 values: no per-token allocation
  const N = new Float32Array(n), probs = new Float32Array(n);
  const tau = f(categoricalEntropy(logits, n, N, probs) * f(topH_));
  M.fill(0);
  let acc = 0;
  for (let j = 0; j < n; j++) {
    const lp = f(Math.log(probs[j]));
    acc += f(-probs[j] * lp);
    if (j === 0 || f(acc) <= tau) M[idx[j]] = 1;
  }
  for (let i = 0; i < V; i++) if (!M[i]) s[i] = NEG;
}

// ------------------------------------------------------------------------------------------------
// llama.cpp's samplers (decoding_lessons.llama_cpp, ported from llama.cpp's src/llama-sampling.cpp):
// they work on llama.cpp's candidate array, `A = {ids, sorted}` here (the logits are s[id]; a token
// left out of the array is -inf in `s`). Samplers that run one after another hand the array on,
// as decoding_lessons.apply_in_order links them: its order (a sort by logit, ties by id) and its
// size (XTC shrinks it) decide float32 running sums, the entropy's maximum log(size) and which
// token comes first. A stage between them that changes the scores starts a fresh array, in
// token-id order.

function freshArray(V) {
  const ids = new Int32Array(V);
  iota(ids, V);
  return { ids, sorted: false };
}

/** llama.cpp's sort of the whole array (llama_token_data_array_partial_sort_inplace(cur_p, size)),
 * descending by logit with its own order between exact ties (decoding_lessons.llama_cpp._Cands.sort):
 * up to 128 entries std::partial_sort; more, 128 buckets over [-10, 10] filled in array order, each
 * std::sort-ed, the lowest one std::partial_sort-ed; the comparator a.logit > b.logit, which is
 * -a.logit < -b.logit for the ports above. */
function sortArray(s, A) {
  const ids = A.ids, n = ids.length;
  if (n <= 128) {
    const K = new Float32Array(n), I = Int32Array.from(ids);
    for (let i = 0; i < n; i++) K[i] = -s[ids[i]];
    partialSort(K, I, 0, n, n);
    A.ids = I;
  } else A.ids = bucketSort(s, ids, n);
  A.sorted = true;
}

const BUCKET_SCALE = f(128 / 20), BUCKET_INTER = f(-(-10) * BUCKET_SCALE); // 6.4f, 64.0f

function bucketSort(s, ids, npartial) {
  const n = ids.length, bucket = new Int32Array(n), histo = new Int32Array(128);
  for (let i = 0; i < n; i++) {
    const r = f(f(BUCKET_SCALE * s[ids[i]]) + BUCKET_INTER);
    const ib = Number.isFinite(r) && r >= -2147483648 && r < 2147483648 ? Math.trunc(r) : -2147483648; // int(float)
    bucket[i] = Math.max(0, Math.min(127, ib));
    histo[bucket[i]]++;
  }
  let have = 0, ib = 127;
  for (; ib >= 0; ib--) {
    have += histo[ib];
    if (have >= npartial) break;
  }
  ib = Math.max(ib, 0);
  // one pass: each bucket's entries in array order (a stable counting sort), from the highest down
  const start = new Int32Array(128); // start[127] = 0
  for (let j = 126; j >= ib; j--) start[j] = start[j + 1] + histo[j + 1];
  const order = new Int32Array(have), fill = start.slice();
  for (let i = 0; i < n; i++) if (bucket[i] >= ib) order[fill[bucket[i]]++] = ids[i];
  const out = new Int32Array(Math.min(have, npartial));
  let at = 0, done = 0;
  for (let j = 127; j >= ib; j--) {
    const m = histo[j];
    if (!m) continue;
    const I = order.slice(start[j], start[j] + m), K = new Float32Array(m);
    for (let k = 0; k < m; k++) K[k] = -s[I[k]];
    if (j > ib) { stdSort(K, I, 0, m); out.set(I, at); at += m; done += m; }
    else { partialSort(K, I, 0, npartial - done, m); out.set(I.subarray(0, npartial - done), at); }
  }
  return out;
}

/** llama_sampler_softmax_impl: each entry's float32 p, in array order (float32 running sum). */
function arraySoftmax(s, A, doSort) {
  if (doSort && !A.sorted) sortArray(s, A);
  const n = A.ids.length, p = new Float32Array(n);
  let mx = -Infinity;
  if (A.sorted) mx = s[A.ids[0]];
  else for (let i = 0; i < n; i++) if (s[A.ids[i]] > mx) mx = s[A.ids[i]];
  let total = 0;
  for (let i = 0; i < n; i++) {
    p[i] = f(Math.exp(f(s[A.ids[i]] - mx)));
    total = f(total + p[i]);
  }
  for (let i = 0; i < n; i++) p[i] = f(p[i] / total);
  return p;
}

/** Shrink the array to positions [from, to); the tokens left out become -inf. */
function shrink(s, A, from, to) {
  for (let i = 0; i < A.ids.length; i++) if (i < from || i >= to) s[A.ids[i]] = NEG;
  A.ids = A.ids.slice(from, to);
}

// top-nσ (llama_sampler_top_n_sigma_apply): the mean and σ of the finite logits with float32
// running sums in array order, then every entry below max − n·σ gets -inf (it stays in the array).
function topNSigma(s, A, n_) {
  const n = f(n_), ids = A.ids;
  if (!(n > 0) || ids.length <= 1) return;
  let count = 0, mx = -Infinity, sum = 0;
  for (let i = 0; i < ids.length; i++) {
    const v = s[ids[i]];
    if (v === NEG) continue;
    count++;
    if (v > mx) mx = v;
    sum = f(sum + v);
  }
  if (!count) return;
  const mean = f(sum / f(count));
  let acc = 0;
  for (let i = 0; i < ids.length; i++) {
    const v = s[ids[i]];
    if (v === NEG) continue;
    const d = f(v - mean);
    acc = f(acc + d * d);
  }
  const std = f(Math.sqrt(f(acc / f(count))));
  const threshold = f(mx - f(n * std));
  for (let i = 0; i < ids.length; i++) if (s[ids[i]] < threshold) s[ids[i]] = NEG;
}

/** Counts of each token id in `window`. */
function counts(window) {
  const c = new Map();
  for (const t of window) c.set(t, (c.get(t) ?? 0) + 1);
  return c;
}

// llama.cpp's penalties (llama_sampler_penalties_apply) over the last penalty_last_n context tokens
// (-1: all of them): logit *= repeat if logit <= 0 else /= repeat, then -= c·freq + present.
function llamaPenalties(s, A, ctx, v) {
  const lastN = v.penalty_last_n, rep = f(v.penalty_repeat), freq = f(v.penalty_freq), present = f(v.penalty_present);
  if (lastN === 0 || (rep === 1 && freq === 0 && present === 0)) return;
  const all = Array.from(ctx);
  const c = counts(lastN === -1 ? all : all.slice(Math.max(all.length - lastN, 0)));
  for (let i = 0; i < A.ids.length; i++) {
    const id = A.ids[i], n = c.get(id);
    if (n === undefined) continue;
    let x = s[id];
    x = x <= 0 ? f(x * rep) : f(x / rep);
    s[id] = f(x - f(f(n * freq) + present));
  }
  A.sorted = false;
}

// XTC (llama_sample_xtc_apply): one uniform float draw from std::mt19937(seed); if it is <= the
// probability, every entry with p >= threshold but the last of them leaves the (sorted) array.
function xtc(s, A, v, mtk) {
  const prob = f(v.xtc_probability), thr = f(v.xtc_threshold);
  if (prob <= 0 || thr > 0.5 || A.ids.length < 2) return;
  const seed = v.seed === 4294967295 ? Math.floor(Math.random() * 2 ** 32) : v.seed; // llama.cpp: a random seed
  if (uniformFloat(new MT19937(seed)) > prob) return;
  const p = arraySoftmax(s, A, true);
  let last = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] >= thr) last = i;
    else break;
  }
  if (A.ids.length - last >= mtk && last > 0) shrink(s, A, last, A.ids.length);
}

// Dynamic temperature (llama_sampler_temp_ext_apply): with dynatemp_range > 0 the temperature is
// min_t + (max_t − min_t)·(H / log(size))^exponent; else plain temp (<= 0: the first maximum stays).
function tempExt(s, A, v) {
  const temp = f(v.temp), delta = f(v.dynatemp_range), exponent = f(v.dynatemp_exponent);
  let t = temp;
  if (delta > 0) {
    const minT = Math.max(0, f(temp - delta)), maxT = f(temp + delta), n = A.ids.length;
    if (n <= 1) return;
    const maxEntropy = f(-f(Math.log(f(1 / f(n)))));
    const p = arraySoftmax(s, A, true);
    let h = 0;
    for (let i = 0; i < p.length; i++) if (p[i] > 0) h = f(h - f(p[i] * f(Math.log(p[i]))));
    const norm = f(h / maxEntropy);
    t = f(minT + f(f(maxT - minT) * f(Math.pow(norm, exponent))));
  }
  const ids = A.ids;
  if (!ids.length) return;
  if (t <= 0) {
    let best = 0;
    for (let i = 1; i < ids.length; i++) if (s[ids[i]] > s[ids[best]]) best = i;
    for (let i = 0; i < ids.length; i++) if (i !== best) s[ids[i]] = NEG;
    return;
  }
  for (let i = 0; i < ids.length; i++) s[ids[i]] = f(s[ids[i]] / t);
}

// The OpenAI API's penalties (a plain LogitsProcessor, no candidate array): over the generated
// tokens only, scores − frequency·count − presence·(count > 0), in float32 as torch.
function openaiPenalties(s, V, ids, v, promptLength) {
  const F = f(v.frequency_penalty), P = f(v.presence_penalty);
  const c = counts(Array.from(ids).slice(promptLength));
  for (const [t, n] of c) {
    if (t < 0 || t >= V) continue;
    s[t] = f(f(s[t] - f(F * n)) - P);
  }
}

// C's float functions as llama.cpp calls them (logf, log2f, powf): the double result rounded to
// float32, with C's special cases where JavaScript's Math.pow differs (pow(1, NaN) = 1 ...).
const logf = (x) => f(Math.log(x));
const log2f = (x) => f(Math.log2(x));
function powf(x, y) {
  if (x === 1 || y === 0) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return f(Math.pow(x, y));
}
/** C++ int(float) on x86-64 (cvttss2si): truncation; NaN or out of range gives INT_MIN. */
function intOfFloat(x) {
  return Number.isNaN(x) || !(x >= -2147483648 && x < 2147483648) ? -2147483648 : Math.trunc(x);
}

/** DRY's sequence breakers as decoding_lessons.llama_cpp.dry_breaker_table writes them ({id: [tail,
 * ...]}), as a Map (converted once per table). */
const BREAKER_MAPS = new WeakMap();
function breakerMap(table) {
  if (table instanceof Map) return table;
  if (!BREAKER_MAPS.has(table)) BREAKER_MAPS.set(table, new Map(Object.entries(table).map(([k, v]) => [Number(k), v])));
  return BREAKER_MAPS.get(table);
}

// DRY (llama_sampler_dry_apply, decoding_lessons.llama_cpp.DRYLogitsProcessor): a token that would
// extend a repeat (of the last dry_penalty_last_n context tokens) of length n >= dry_allowed_length
// loses dry_multiplier·dry_base^(n − dry_allowed_length); a sequence breaker cuts a repeat. The
// breakers are matched against the whole vocabulary's texts, so they come precomputed (`breakers`).
function dry(s, A, ctx, v, breakers) {
  const mult = f(v.dry_multiplier), base = f(v.dry_base), allowed = v.dry_allowed_length, lastN = v.dry_penalty_last_n;
  if (!(mult !== 0 && base >= 1 && lastN !== 0)) return;
  if (!breakers) {
    throw new RangeError("DRY needs the vocabulary's sequence breakers: give apply() the option `dryBreakers` " +
      "(decoding_lessons.llama_cpp.dry_breaker_table(tokenizer))");
  }
  const B = breakerMap(breakers);
  const all = Array.from(ctx);
  const last = all.slice(Math.max(all.length - lastN, 0));
  const n = Math.min(last.length, lastN);
  if (n <= allowed) return;
  const rat = (i) => last[last.length - 1 - i];
  let repLimit = n; // step 1: the nearest sequence breaker limits the repetition length
  for (let i = 0; i < n; i++) {
    const seqs = B.get(rat(i));
    if (seqs === undefined) continue;
    let longest = -1;
    for (const tail of seqs) {
      if (longest < tail.length && tail.length <= i && tail.every((t, o) => t === rat(i - o - 1))) longest = tail.length;
    }
    if (longest >= 0) { repLimit = i - longest; break; }
  }
  if (repLimit < allowed) return;
  const repeat = new Int32Array(n); // step 2: the reversed Z-algorithm
  const lastI = n - 1;
  let rt = 0, lt = 0;
  for (let k = 1; k < n; k++) {
    if (k > rt) {
      let m = 0;
      while (m + k < n && rat(m) === rat(m + k)) m++;
      repeat[lastI - k] = Math.min(m, repLimit);
      if (m > 0) { lt = k; rt = k + m - 1; }
    } else {
      const p = k - lt, rightPartLen = rt - k + 1;
      if (repeat[lastI - p] < rightPartLen) repeat[lastI - k] = Math.min(repeat[lastI - p], repLimit);
      else {
        let i = rt + 1;
        while (i < n && rat(i) === rat(i - k)) i++;
        repeat[lastI - k] = Math.min(i - k, repLimit);
        lt = k; rt = i - 1;
      }
    }
  }
  const maxRepeat = new Map(); // step 3: the longest repeat each next token would extend
  for (let i = 0; i < n - 1; i++) {
    const len = repeat[i];
    if (len >= allowed) {
      const token = rat(n - 2 - i);
      if ((maxRepeat.get(token) ?? -1) < len) maxRepeat.set(token, len);
    }
  }
  let maxExponent = 0; // step 4: the penalties
  if (base > f(1.000001)) maxExponent = intOfFloat(f(f(88.7228391) / logf(base)));
  for (let pos = 0; pos < A.ids.length; pos++) {
    const token = A.ids[pos], len = maxRepeat.get(token);
    if (len === undefined) continue;
    if ((B.get(token) ?? []).some((tail) => tail.length === 0)) continue;
    let exponent = len - allowed;
    if (maxExponent > 0 && exponent > maxExponent) exponent = maxExponent;
    s[token] = f(s[token] - f(mult * Math.pow(base, exponent)));
  }
  A.sorted = false;
}

/** generate_canonical<double, 53>(rng) (libstdc++): two 32-bit draws. */
export function uniformDouble(rng) {
  let total = rng.next();
  total += rng.next() * 4294967296;
  const u = total / 18446744073709551616;
  return u >= 1 ? 1 - 2 ** -53 : u;
}

/** std::discrete_distribution<int>(p...)(rng) (libstdc++): no draw for one outcome. */
function discrete(p, rng) {
  const n = p.length;
  if (n < 2) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += p[i];
  const cp = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) { acc += p[i] / sum; cp[i] = acc; }
  cp[n - 1] = 1;
  const u = uniformDouble(rng);
  let lo = 0, hi = n; // lower_bound
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cp[mid] < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Mirostat 1 and 2 (llama_sampler_mirostat_apply / _v2_apply, decoding_lessons.llama_cpp): μ starts
// at 2τ; v2 keeps the sorted tokens until the first whose surprise −log2 p exceeds μ; v1 keeps the top
// k = (ε̂·2^μ / (1 − N^−ε̂))^(1/ŝ) from a Zipf fit over the 100 most likely. Then one draw from the
// renormalised kept set (std::discrete_distribution over std::mt19937(seed)); the drawn token is the
// only one left. μ moves by η·(surprise − τ) for the next step: `info` reports it.
function mirostat(s, A, v, V) {
  const tau = f(v.mirostat_tau), eta = f(v.mirostat_eta), mu = f(2 * tau);
  const seed = v.seed === 4294967295 ? Math.floor(Math.random() * 2 ** 32) : v.seed; // llama.cpp: a random seed
  const rng = new MT19937(seed);
  let p = arraySoftmax(s, A, true);
  if (v.mirostat === 2) {
    let size = A.ids.length;
    for (let i = 0; i < p.length; i++) if (f(-Math.log2(p[i])) > mu) { size = i; break; }
    shrink(s, A, 0, Math.max(size, 1));
  } else {
    let sumTiBi = 0, sumTiSq = 0;
    for (let i = 0; i < Math.min(99, A.ids.length - 1); i++) { // m = 100
      const ti = logf(f((i + 2) / (i + 1)));
      const ratio = p[i + 1] !== 0 ? f(p[i] / p[i + 1]) : p[i] > 0 ? Infinity : NaN;
      sumTiBi = f(sumTiBi + f(ti * logf(ratio)));
      sumTiSq = f(sumTiSq + f(ti * ti));
    }
    const sHat = sumTiSq !== 0 ? f(sumTiBi / sumTiSq) : NaN;
    const eps = f(sHat - 1);
    const k = powf(f(f(eps * powf(2, mu)) / f(1 - powf(f(V), -eps))), f(1 / sHat));
    shrink(s, A, 0, Math.min(Math.max(intOfFloat(k), 1), A.ids.length));
  }
  p = arraySoftmax(s, A, true);
  const idx = discrete(p, rng);
  const surprise = v.mirostat === 2 ? f(-Math.log2(p[idx])) : f(-log2f(p[idx]));
  const kept = A.ids.length, token = A.ids[idx];
  shrink(s, A, idx, idx + 1);
  return { mu, surprise, kept, token, muNext: f(mu - f(eta * f(surprise - tau))) };
}

/** std::mt19937, seeded as std::mt19937(seed) (decoding_lessons.llama_cpp.MT19937). */
export class MT19937 {
  constructor(seed) {
    const mt = new Uint32Array(624);
    mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const x = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(1812433253, x) + i) >>> 0;
    }
    this.mt = mt;
    this.index = 624;
  }
  next() {
    const mt = this.mt;
    if (this.index >= 624) {
      for (let i = 0; i < 624; i++) {
        const y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7fffffff);
        mt[i] = mt[(i + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

/** std::uniform_real_distribution<float>(0, 1) as libstdc++ draws it: one 32-bit number. */
export function uniformFloat(rng) {
  const u = f(rng.next()) / 4294967296;
  return u >= 1 ? f(1 - 2 ** -24) : u;
}

/** The processors the engine implements: field → [sampling only, run(s, V, ids, value, mtk, A, options)].
 * A: llama.cpp's candidate array for its samplers (null for the others). */
export const PROCESSORS = {
  repetition_penalty: [false, (s, V, ids, v) => repetitionPenalty(s, V, ids, v)],
  no_repeat_ngram_size: [false, (s, V, ids, v) => noRepeatNgram(s, V, ids, v)],
  penalties: [false, (s, V, ids, v, mtk, A) => llamaPenalties(s, A, ids, v)], // llama.cpp's
  top_n_sigma: [false, (s, V, ids, v, mtk, A) => topNSigma(s, A, v)], // llama.cpp's
  dry: [false, (s, V, ids, v, mtk, A, o) => dry(s, A, ids, v, o.dryBreakers)], // llama.cpp's
  xtc: [false, (s, V, ids, v, mtk, A) => xtc(s, A, v, mtk)], // llama.cpp's
  temp_ext: [false, (s, V, ids, v, mtk, A) => tempExt(s, A, v)], // llama.cpp's
  mirostat: [false, (s, V, ids, v, mtk, A) => mirostat(s, A, v, V)], // llama.cpp's (it draws)
  openai_penalties: [false, (s, V, ids, v, mtk, A, o) => openaiPenalties(s, V, ids, v, o.promptLength)], // the OpenAI API's
  temperature: [true, (s, V, ids, v) => temperature(s, V, v)],
  top_h: [true, (s, V, ids, v) => topH(s, V, v)],
  top_k: [true, (s, V, ids, v, mtk) => topK(s, V, v, mtk)],
  top_p: [true, (s, V, ids, v, mtk) => topP(s, V, v, mtk)],
  min_p: [true, (s, V, ids, v, mtk) => minP(s, V, v, mtk)],
  typical_p: [true, (s, V, ids, v, mtk) => typical(s, V, v, mtk)],
  epsilon_cutoff: [true, (s, V, ids, v, mtk) => epsilon(s, V, v, mtk)],
  eta_cutoff: [true, (s, V, ids, v, mtk) => eta(s, V, v, mtk)],
};
// the samplers that work on llama.cpp's candidate array and hand it on
const ARRAY_SAMPLERS = new Set(["penalties", "dry", "top_n_sigma", "xtc", "temp_ext", "mirostat"]);

// transformers' off values (the table's `off` column); a test checks them against the table.
const OFF = {
  repetition_penalty: 1.0, no_repeat_ngram_size: 0, temperature: 1.0, top_h: null, top_k: 0, top_p: 1.0,
  min_p: null, typical_p: 1.0, epsilon_cutoff: 0.0, eta_cutoff: 0.0, top_n_sigma: 0.0,
};

function kept(s, V) {
  let n = 0;
  for (let i = 0; i < V; i++) if (s[i] !== NEG) n++;
  return n;
}

/** Whether a llama.cpp sampler's settings (resolved: every parameter set) switch it on, as the
 * table's rows decide in Python (decoding_lessons.processors._library_rows). */
const SAMPLER_ON = {
  penalties: (v) => v.penalty_last_n !== 0 && !(v.penalty_repeat === 1 && v.penalty_freq === 0 && v.penalty_present === 0),
  dry: (v) => v.dry_multiplier !== 0 && v.dry_base >= 1 && v.dry_penalty_last_n !== 0,
  xtc: (v) => v.xtc_probability > 0 && v.xtc_threshold <= 0.5,
  mirostat: (v) => v.mirostat !== 0,
  temp_ext: (v) => !(v.temp === 1 && v.dynatemp_range <= 0),
  openai_penalties: (v) => v.frequency_penalty !== 0 || v.presence_penalty !== 0,
};

function isOn(name, v) {
  if (v === undefined || v === null) return false;
  return SAMPLER_ON[name] ? SAMPLER_ON[name](v) : v !== OFF[name];
}

function sameScores(a, b) {
  for (let i = 0; i < a.length; i++) if (!(a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i])))) return false;
  return true;
}

/**
 * The scores generate() samples from (or takes the argmax of).
 *
 * @param {Float32Array} logits raw float32 logits (not changed)
 * @param {Int32Array|number[]} contextIds the context's token ids (prompt included)
 * @param {object} settings resolve()'s output (an absent field is off; do_sample false skips the warpers)
 * @param {string[]} order chain("hf") etc.; every active field must be in it
 * @param {{minTokensToKeep?: number, promptLength?: number, dryBreakers?: object, onStage?: Function}} options
 *   minTokensToKeep: what the truncating warpers keep at least (beam sampling: EOS count + 1);
 *   promptLength: how many context tokens were the prompt (the OpenAI penalties count the ones
 *   after it; default all); dryBreakers: DRY's sequence breakers over the model's vocabulary
 *   ({id: [tail ids, ...]}, decoding_lessons.llama_cpp.dry_breaker_table; needed when DRY is on);
 *   onStage(field, scores): called after each active stage with the scores so far (the
 *   playground's stage inspector; it must not change them)
 * @returns {{scores: Float32Array, stages: {field: string, value: number, keptBefore: number, keptAfter: number, ms: number, info?: object}[]}}
 *   info: what a drawing sampler decided (mirostat: μ, the kept set's size, the token, its surprise, the next μ)
 */
export function apply(logits, contextIds, settings, order, { minTokensToKeep = 1, promptLength = null, dryBreakers = null, onStage = null } = {}) {
  const V = logits.length;
  const mtk = minTokensToKeep;
  if (!Number.isInteger(mtk) || mtk < 1) throw new RangeError(`\`minTokensToKeep\` has to be an integer >= 1, but is ${pyRepr(mtk)}`);
  const ids = contextIds;
  const options = { promptLength: promptLength ?? ids.length, dryBreakers };
  const sampling = settings.do_sample !== false;
  const active = Object.keys(PROCESSORS).filter((n) => isOn(n, settings[n]) && (sampling || !PROCESSORS[n][0]));
  const missing = active.filter((n) => !order.includes(n));
  if (missing.length) {
    throw new RangeError(`\`order\` has to name every active field of the configuration (${active.join(", ")}), but lacks [${missing.map(pyRepr).join(", ")}]`);
  }
  const s = Float32Array.from(logits);
  const stages = [];
  let before = kept(s, V);
  let link = null; // {A, scores}: the array the last llama.cpp sampler left, and the scores it returned
  for (const name of order) {
    if (!active.includes(name)) continue;
    const t0 = typeof performance !== "undefined" ? performance.now() : 0;
    let A = null;
    if (ARRAY_SAMPLERS.has(name)) {
      A = link && sameScores(s, link.scores) ? link.A : freshArray(V);
    }
    const info = PROCESSORS[name][1](s, V, ids, settings[name], mtk, A, options);
    if (A) link = { A, scores: Float32Array.from(s) };
    const after = kept(s, V);
    const t1 = typeof performance !== "undefined" ? performance.now() : 0;
    const stage = { field: name, value: settings[name], keptBefore: before, keptAfter: after, ms: t1 - t0 };
    if (info) stage.info = info;
    stages.push(stage);
    if (onStage) onStage(name, s);
    before = after;
  }
  return { scores: s, stages };
}

export const ENGINE_FIELDS = Object.keys(PROCESSORS);
export const ENGINE_OFF = OFF;
