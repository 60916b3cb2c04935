// The embedded model, live in the page: decoding_lessons.live's ONNX file (the GGUF's own 4-bit
// blocks) run by onnxruntime-web's WebAssembly build, and the model's own tokenizer.json run by
// tokenizers.js. Everything comes from the site (assets/live/), nothing from another host.
//
//   const lm = await LiveModel.load(new URL("../assets/live/", document.baseURI), { onProgress });
//   const ids = lm.encode("The capital of France is");   // the Python tokenizer's ids
//   const logits = await lm.logits(ids);                  // Float32Array(vocab): the next token's
//
// The model is fetched in parts (each under GitHub Pages' 50 MB warning), each checked against the
// manifest's size and SHA-256, and kept with the Cache API under its own hash, so that every
// version of the site shares one copy. A part that fails removes whatever this model had in the
// cache: the cache holds the whole model or none of it.

export const CACHE_NAME = "decoding-lessons-live";

export class LiveError extends Error {}

function cacheKey(manifest, name) {
  return new URL(`/__decoding-lessons-live/${manifest.sha256}/${name}`, location.origin).href;
}

async function openCache() {
  try {
    return typeof caches === "undefined" ? null : await caches.open(CACHE_NAME);
  } catch {
    return null; // a private window or an insecure context: no cache, the model is fetched each visit
  }
}

async function sha256Hex(bytes) {
  if (!globalThis.crypto?.subtle) return null; // not a secure context: sizes are still checked
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function fetchJson(url, what) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new LiveError(`${what} could not be fetched (${error.message})`);
  }
  if (!response.ok) throw new LiveError(`${what} could not be fetched (HTTP ${response.status})`);
  return response.json();
}

/** The manifest (decoding_lessons.live.write_live), and whether this browser's cache holds the model. */
export async function probe(base) {
  const manifest = await fetchJson(new URL("manifest.json", base), "The live model's manifest");
  const cache = await openCache();
  const cached = cache ? Boolean(await cache.match(cacheKey(manifest, "complete"))) : false;
  return { manifest, cached };
}

/** Forget every cached copy of the live model. */
export async function forget() {
  if (typeof caches !== "undefined") await caches.delete(CACHE_NAME);
}

async function dropModel(cache, manifest) {
  if (!cache) return;
  await Promise.all([...manifest.parts.map((p) => cache.delete(cacheKey(manifest, p.file))), cache.delete(cacheKey(manifest, "complete"))]);
}

async function readPart(response, part, onBytes) {
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onBytes(bytes.length);
    return bytes;
  }
  const bytes = new Uint8Array(part.bytes);
  const reader = response.body.getReader();
  let at = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (at + value.length > part.bytes) throw new LiveError(`${part.file} is longer than the manifest's ${part.bytes} bytes`);
    bytes.set(value, at);
    at += value.length;
    onBytes(value.length);
  }
  if (at !== part.bytes) throw new LiveError(`${part.file} arrived with ${at} of its ${part.bytes} bytes`);
  return bytes;
}

/** The model file's bytes: from the cache when it holds all of them, else fetched part by part. */
async function modelBytes(base, manifest, onProgress) {
  const cache = await openCache();
  const all = new Uint8Array(manifest.bytes);
  let loaded = 0;
  const report = (n, source) => { loaded += n; onProgress?.({ loaded, total: manifest.bytes, source }); };
  if (cache && (await cache.match(cacheKey(manifest, "complete")))) {
    let at = 0, whole = true;
    for (const part of manifest.parts) {
      const hit = await cache.match(cacheKey(manifest, part.file));
      if (!hit) { whole = false; break; }
      const bytes = new Uint8Array(await hit.arrayBuffer());
      if (bytes.length !== part.bytes) { whole = false; break; }
      all.set(bytes, at);
      at += bytes.length;
      report(bytes.length, "cache");
    }
    if (whole) return { bytes: all, fromCache: true };
    await dropModel(cache, manifest); // a cache damaged behind our back: fetch it again
    loaded = 0;
  }
  try {
    let at = 0;
    for (const part of manifest.parts) {
      let response;
      try {
        response = await fetch(new URL(part.file, base));
      } catch (error) {
        throw new LiveError(`${part.file} could not be fetched (${error.message})`);
      }
      if (!response.ok) throw new LiveError(`${part.file} could not be fetched (HTTP ${response.status})`);
      const bytes = await readPart(response, part, (n) => report(n, "network"));
      const digest = await sha256Hex(bytes);
      if (digest !== null && digest !== part.sha256) throw new LiveError(`${part.file} does not match the manifest's SHA-256`);
      all.set(bytes, at);
      at += bytes.length;
      if (cache) await cache.put(cacheKey(manifest, part.file), new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } }));
    }
    if (cache) await cache.put(cacheKey(manifest, "complete"), new Response(manifest.sha256));
  } catch (error) {
    await dropModel(cache, manifest).catch(() => {});
    throw error;
  }
  return { bytes: all, fromCache: false };
}

export class LiveModel {
  /** Fetch (or read from the cache) and start the live model. `onProgress({loaded, total, source})`
   *  while the bytes arrive, then `onProgress({stage: "starting"})` while onnxruntime prepares it. */
  static async load(base, { onProgress } = {}) {
    if (typeof WebAssembly === "undefined") throw new LiveError("This browser has no WebAssembly, which the live model runs on.");
    const t0 = performance.now();
    const manifest = await fetchJson(new URL("manifest.json", base), "The live model's manifest");
    const [{ bytes, fromCache }, tokenizer, labels, ort] = await Promise.all([
      modelBytes(base, manifest, onProgress),
      Promise.all([fetchJson(new URL("tokenizer.json", base), "tokenizer.json"), fetchJson(new URL("tokenizer_config.json", base), "tokenizer_config.json"),
        import(new URL("tokenizers.min.mjs", base).href)]).then(([json, config, lib]) => new lib.Tokenizer(json, config)),
      fetchJson(new URL("labels.json", base), "labels.json"),
      import(new URL("ort.wasm.min.mjs", base).href),
    ]);
    const fetched = performance.now();
    onProgress?.({ stage: "starting" });
    ort.env.wasm.wasmPaths = new URL(".", base).href;
    // threads need a cross-origin isolated page (SharedArrayBuffer); elsewhere one thread
    const threads = globalThis.crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1;
    ort.env.wasm.numThreads = threads;
    let session;
    try {
      session = await ort.InferenceSession.create(bytes, {
        executionProviders: ["wasm"],
        // constant folding dequantizes the weights once, at load (decoding_lessons.live.session_options)
        extra: { session: { disable_quant_qdq: "1" } },
      });
    } catch (error) {
      throw new LiveError(`onnxruntime could not start the model (${error.message || error})`);
    }
    const model = new LiveModel(manifest, session, tokenizer, labels, ort);
    model.threads = threads;
    model.fromCache = fromCache;
    model.fetchSeconds = (fetched - t0) / 1000;
    model.loadSeconds = (performance.now() - t0) / 1000;
    return model;
  }

  constructor(manifest, session, tokenizer, labels, ort) {
    Object.assign(this, { manifest, session, tokenizer, labels, ort });
    this.maxTokens = manifest.max_tokens;
    this.vocabSize = manifest.vocab_size;
    this.lastMs = null;
  }

  /** The token ids of `text`, as the Python tokenizer gives them (`tokenizer(text).input_ids`). */
  encode(text) {
    return this.tokenizer.encode(text).ids;
  }

  decode(ids) {
    return ids.length ? this.tokenizer.decode(Array.from(ids), { skip_special_tokens: false }) : "";
  }

  /** Why `ids` cannot be run, or null. */
  refusal(ids) {
    if (ids.length === 0) return "The prompt is empty: type some text, the model needs at least one token to continue.";
    if (ids.length > this.maxTokens) return `The prompt is ${ids.length.toLocaleString("en")} tokens long; the live model takes at most ${this.maxTokens} (its rotary tables stop there).`;
    return null;
  }

  /** The next-token logits (float32, the whole vocabulary) after `ids`. */
  async logits(ids) {
    const why = this.refusal(ids);
    if (why) throw new LiveError(why);
    for (const i of ids) if (!(Number.isInteger(i) && i >= 0 && i < this.vocabSize)) throw new LiveError(`token id ${i} is not in the vocabulary [0, ${this.vocabSize})`);
    const input = new this.ort.Tensor("int64", BigInt64Array.from(ids, (i) => BigInt(i)), [1, ids.length]);
    const t0 = performance.now();
    const out = await this.session.run({ input_ids: input });
    this.lastMs = performance.now() - t0;
    return new Float32Array(out.logits.data);
  }
}
