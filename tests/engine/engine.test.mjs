// The browser engine against transformers' own processors: golden vectors written by
// tests/engine/make_golden.py (run through tests/test_engine.py, which sets ENGINE_GOLDEN).
//
//   ENGINE_GOLDEN=/tmp/golden node --test tests/engine/engine.test.mjs
//
// Every case: the same kept set, token for token, and kept scores within 1e-6 (the largest
// difference is reported). A case whose closest rounding-sensitive decision lies within NEAR of its
// threshold in torch's own float32 numbers may differ (see "Where JavaScript and torch are kept in
// step" in engine.mjs); those are counted and reported, and every other case must be exact.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

import * as engine from "../../docs/javascripts/engine.mjs";
import { checkCases, summary } from "./check.mjs";

const { apply, chain, resolve, validate, knobRows, ENGINE_FIELDS, ENGINE_OFF, PROCESSORS, NEAR } = engine;

const dir = process.env.ENGINE_GOLDEN;
if (!dir) throw new Error("set ENGINE_GOLDEN to the directory tests/engine/make_golden.py wrote");
const doc = JSON.parse(fs.readFileSync(path.join(dir, "cases.json"), "utf8"));
const table = doc.table;

const cache = new Map();
function logits(name) {
  if (!cache.has(name)) {
    const b = fs.readFileSync(path.join(dir, "logits", `${name}.bin`));
    cache.set(name, new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
  }
  return cache.get(name);
}

function expected(id) {
  const b = fs.readFileSync(path.join(dir, "cases", `${id}.bin`));
  const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  const n = new Int32Array(ab, 0, 1)[0];
  return { ids: new Int32Array(ab, 4, n), scores: new Float32Array(ab, 4 + 4 * n, n) };
}

test("the golden cases: kept sets token for token, kept scores within 1e-6", async () => {
  const r = await checkCases(engine, doc, { logits, expected });
  for (const line of summary(r, NEAR)) console.log(line);
  assert.deepEqual(r.failures, [], "cases outside the near-boundary margin must match exactly");
  assert.equal(r.mirostatChecked, doc.cases.filter((c) => c.mirostat).length);
  assert.ok(r.maxDiff <= 1e-6, `largest kept-score difference ${r.maxDiff}`);
  assert.ok(r.nearAll <= doc.cases.length / 10, `${r.nearAll} near-boundary cases: the margin would excuse too much`);
});

test("validation gives Python's messages", () => {
  assert.ok(doc.validation.length > 20);
  for (const v of doc.validation) assert.equal(validate(v.settings, table), v.message, JSON.stringify(v.settings));
  for (const v of doc.validation.filter((v) => v.message)) assert.throws(() => resolve(v.settings, table), { message: v.message });
});

test("orders are checked as apply_in_order checks them", () => {
  assert.ok(doc.order_errors.length >= 3);
  for (const e of doc.order_errors) assert.throws(() => chain(e.order, table), { message: e.message });
  assert.deepEqual(chain("hf", table), table.hf_order);
  assert.deepEqual(chain("llama_cpp", table), table.llama_cpp_order);
  const s = resolve({ top_p: 0.5 }, table, { doSample: true });
  assert.throws(() => apply(new Float32Array(4), [], s, ["top_p"]), /lacks \['top_k'\]/);
});

test("the engine implements exactly the table's knob rows and browser samplers", () => {
  const rows = knobRows(table), samplers = engine.samplerRows(table);
  assert.deepEqual([...ENGINE_FIELDS].sort(), [...rows, ...samplers].map((r) => r.field).sort());
  for (const r of samplers) assert.equal(PROCESSORS[r.field][0], false, `${r.field}: runs greedy too`);
  // llama.cpp's defaults switch every sampler off but its temperature (temp = 0.8), as in Python
  for (const r of samplers) {
    const s = resolve({ [r.field]: {} }, table, { doSample: true });
    assert.equal(engine.isActive(r, s[r.field]), r.field === "temp_ext", r.field);
  }
  for (const r of rows) {
    assert.equal(ENGINE_OFF[r.field], r.off === "inf" ? Infinity : r.off, `${r.field}: off value`);
    assert.equal(PROCESSORS[r.field][0], r.sampling_only, `${r.field}: sampling only`);
  }
});

test("greedy: the warpers do not act, the penalties do", () => {
  const x = Float32Array.from([1, 2, 3, -1]);
  const s = resolve({ top_k: 1, repetition_penalty: 2 }, table, { doSample: false });
  const { scores, stages } = apply(x, [2, 3], s, chain("hf", table));
  assert.deepEqual(stages.map((t) => t.field), ["repetition_penalty"]);
  assert.deepEqual([...scores], [1, 2, 1.5, -2]);
});
