// The golden-vector check, shared by `node --test tests/engine/engine.test.mjs` and the Chromium
// run of tests/test_engine.py: `io` reads the files (fs in Node, fetch in the browser).

/** Compare the engine with every golden case. `io.logits(name)` → Float32Array,
 * `io.expected(id)` → {ids: Int32Array, scores: Float32Array}; both may be async. */
export async function checkCases(engine, doc, io) {
  const { apply, chain, resolve, NEAR } = engine;
  const table = doc.table;
  let exact = 0, maxDiff = 0, worstMs = 0, mirostatChecked = 0;
  const near = [], failures = [], perStage = {};
  for (const c of doc.cases) {
    const x = await io.logits(c.logits);
    const want = await io.expected(c.id);
    const label = `case ${c.id} (${c.label}, ${JSON.stringify(c.settings)}, order ${JSON.stringify(c.order)}, mtk ${c.min_tokens_to_keep})`;
    let scores, stages;
    try {
      const settings = resolve(c.settings, table, { doSample: true });
      const t0 = performance.now();
      ({ scores, stages } = apply(x, Int32Array.from(c.context), settings, chain(c.order, table), { minTokensToKeep: c.min_tokens_to_keep, promptLength: c.prompt_length ?? null, dryBreakers: doc.dry_breakers }));
      worstMs = Math.max(worstMs, performance.now() - t0);
    } catch (e) {
      failures.push(`${label}: ${e.message}`);
      continue;
    }
    // the same processors run, in the same order (the hidden top_k=50 included)
    const ran = stages.map((s) => s.field);
    if (JSON.stringify(ran) !== JSON.stringify(c.stages)) {
      failures.push(`${label}: ran ${JSON.stringify(ran)}, torch ${JSON.stringify(c.stages)}`);
      continue;
    }
    for (const s of c.stages) perStage[s] = (perStage[s] ?? 0) + 1;
    if (c.mirostat) { // its decision, number for number (float32 values, exact)
      const info = stages.find((s) => s.field === "mirostat").info;
      const want = c.mirostat, got = { mu: info.mu, surprise: info.surprise, kept: info.kept, token: info.token, mu_next: info.muNext };
      if (JSON.stringify(got) !== JSON.stringify(want)) { failures.push(`${label}: mirostat decided ${JSON.stringify(got)}, Python ${JSON.stringify(want)}`); continue; }
      mirostatChecked++;
    }
    const got = [];
    for (let i = 0; i < scores.length; i++) if (scores[i] !== -Infinity) got.push(i);
    let same = got.length === want.ids.length && got.every((v, j) => v === want.ids[j]);
    if (same) {
      for (let j = 0; j < got.length; j++) {
        const d = Math.abs(scores[got[j]] - want.scores[j]);
        if (!(d <= 1e-6)) same = false;
        if (d > maxDiff || Number.isNaN(d)) maxDiff = Number.isNaN(d) ? Infinity : d;
      }
    }
    const isNear = c.margin !== null && c.margin < NEAR && !c.label.startsWith("boundary:");
    if (same) exact++;
    // the boundary cases are built to be decided by the rule (exact dyadic probabilities, ties,
    // min_tokens_to_keep): exact whatever torch's margin
    else if (isNear) near.push(`${label}: ${got.length} kept, torch ${want.ids.length}; torch's margin ${c.margin.toExponential(2)} at ${c.margin_stage}`);
    else failures.push(`${label}: ${got.length} kept, torch ${want.ids.length} (margin ${c.margin})`);
  }
  const nearAll = doc.cases.filter((c) => c.margin !== null && c.margin < NEAR && !c.label.startsWith("boundary:")).length;
  const validation = [];
  for (const v of doc.validation) {
    const got = engine.validate(v.settings, table);
    if (got !== v.message) validation.push(`${JSON.stringify(v.settings)}: ${got} != ${v.message}`);
  }
  return { cases: doc.cases.length, exact, maxDiff, worstMs, near, nearAll, failures, perStage, validation, mirostatChecked };
}

export function summary(r, NEAR) {
  return [
    `engine: ${r.cases} cases, ${r.exact} exact, largest kept-score difference ${r.maxDiff}, slowest apply ${r.worstMs.toFixed(1)} ms`,
    `engine: ${r.nearAll} cases with torch's margin < ${NEAR}; ${r.near.length} of them differ:`,
    ...r.near.map((l) => `  ${l}`),
    `engine: cases per processor ${JSON.stringify(r.perStage)}; mirostat's μ, surprise and kept set equal in ${r.mirostatChecked} cases`,
  ];
}
