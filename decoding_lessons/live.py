"""The embedded model as an ONNX file that runs in the page: the playground's "your prompt".

:func:`build_live_model` writes SmolLM2-135M's forward pass as an ONNX graph (opset 21, standard
operators only) whose weights are the GGUF's own blocks, one to one. Nothing is re-quantized:

* every linear layer is Q4_1 in the GGUF (per block of 32 weights, ``w = d·q + m``): its nibbles
  and its f16 scales ``d`` go in unchanged, as a 4-bit ``DequantizeLinear`` (zero point 8), and the
  offsets as ``m + 8d`` in float32 (see ``linear`` in the source for why);
* the tied embedding is Q8_0 (``w = d·q``): its signed bytes and f16 scales, as an 8-bit
  ``DequantizeLinear``, gathered for the prompt and multiplied for the LM head;
* the norms stay float32, and the rotary tables are transformers' own, for every position the page
  accepts (:data:`MAX_TOKENS`).

onnxruntime folds the dequantization into float32 weights once, when the session loads
(:func:`session_options`; the page sets the same option). The graph takes ``input_ids`` (int64,
``[1, n]``) and returns the last position's logits (float32, ``[1, vocab]``): the next-token logits
that ``generate(output_logits=True)`` reports. It has no KV cache: each step runs the whole prompt.

:func:`write_live` writes what the page fetches (the model in parts, the tokenizer, the labels),
after checking onnxruntime's logits against PyTorch's (:func:`check_live_model`); :func:`live_dir`
caches it under the model cache, keyed by the GGUF's SHA-256. ``python -m decoding_lessons.live DIR``
runs both.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

MAX_TOKENS = 512  # the longest prompt the page accepts (the rotary tables cover it)
BLOCK = 32
PART_BYTES = 40 * 2**20  # the file is served in parts under GitHub Pages' 50 MB warning
FORMAT = 3  # bump when the graph changes: it is part of the cache key

_Q4_1, _Q8_0, _F32 = "Q4_1", "Q8_0", "F32"


class LiveModelError(RuntimeError):
    """The GGUF does not hold the model this graph is written for."""


def _gguf_fields(reader) -> dict:
    out = {}
    for key, field in reader.fields.items():
        if field.data and key.startswith("llama."):
            value = field.parts[field.data[0]]
            out[key] = value.tolist()[0] if len(value) == 1 else value.tolist()
    return out


def _q4_1_blocks(raw: np.ndarray, rows: int, cols: int):
    """Split Q4_1 rows (20 bytes a block: f16 d, f16 m, 16 bytes of nibbles; element j in the low
    nibble of byte j, element j + 16 in the high one) into (nibbles, d, m) per block."""
    blocks = raw.reshape(rows, cols // BLOCK, 20)
    d = blocks[..., 0:2].copy().view(np.float16)[..., 0].astype(np.float32)
    m = blocks[..., 2:4].copy().view(np.float16)[..., 0].astype(np.float32)
    qs = blocks[..., 4:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)  # [rows, blocks, 32], element order
    return q, d, m


def _q8_0_blocks(raw: np.ndarray, rows: int, cols: int):
    blocks = raw.reshape(rows, cols // BLOCK, 34)
    d = blocks[..., 0:2].copy().view(np.float16)[..., 0].astype(np.float32)
    q = blocks[..., 2:].copy().view(np.int8)
    return q, d


def dequantize(tensor) -> np.ndarray:
    """A GGUF tensor as float32 ``[rows, cols]``, the way gguf-py (and so transformers) computes it."""
    kind = tensor.tensor_type.name
    if kind == _F32 and len(tensor.shape) == 1:
        return np.asarray(tensor.data, dtype=np.float32).copy()
    rows, cols = int(tensor.shape[1]), int(tensor.shape[0])
    if kind == _Q4_1:
        q, d, m = _q4_1_blocks(tensor.data, rows, cols)
        return (d[..., None] * q.astype(np.float32) + m[..., None]).reshape(rows, cols)
    if kind == _Q8_0:
        q, d = _q8_0_blocks(tensor.data, rows, cols)
        return (d[..., None] * q.astype(np.float32)).reshape(rows, cols)
    if kind == _F32:
        return np.asarray(tensor.data, dtype=np.float32).reshape(rows, cols)
    raise LiveModelError(f"tensor {tensor.name} is {kind}; the live model takes Q4_1, Q8_0 and F32 only")


def _unpermute_rows(n_rows: int, n_head: int) -> np.ndarray:
    """transformers' ``_reverse_permute_weights`` (llama.cpp stores q and k rows interleaved for its
    RoPE) as a row index: ``w_hf = w_gguf[index]``."""
    dim = n_rows // n_head // 2
    return np.arange(n_rows).reshape(n_head, dim, 2).swapaxes(2, 1).reshape(n_rows)


def _pack_nibbles(q: np.ndarray) -> np.ndarray:
    """ONNX's 4-bit layout: two elements a byte, element 2i in the low nibble."""
    return (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)


class _Graph:
    def __init__(self):
        import onnx
        from onnx import helper, numpy_helper

        self.onnx, self.helper, self.numpy_helper = onnx, helper, numpy_helper
        self.nodes, self.inits, self._n = [], [], 0

    def name(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def const(self, value, name: str | None = None) -> str:
        name = name or self.name("c")
        self.inits.append(self.numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, *inputs: str, domain: str = "", outputs: int = 1, **attrs):
        outs = [self.name(op_type.lower()) for _ in range(outputs)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs, domain=domain or None, **attrs))
        return outs[0] if outputs == 1 else outs


def build_live_model(gguf_path: str | os.PathLike, rotary=None) -> "onnx.ModelProto":  # noqa: F821
    """The ONNX graph of the GGUF's Llama model, on its own blocks (see the module's docstring).

    ``rotary``: ``(cos, sin)``, float32 ``[MAX_TOKENS, head_dim]``; by default transformers'
    ``LlamaRotaryEmbedding`` computes them for the GGUF's configuration.

    Raises:
        LiveModelError: the GGUF is not a Llama model with Q4_1 linear layers and a tied Q8_0
            embedding.
    """
    import gguf
    from onnx import TensorProto, helper

    reader = gguf.GGUFReader(str(gguf_path))
    meta = _gguf_fields(reader)
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    if arch != "llama":
        raise LiveModelError(f"the live model is written for Llama GGUF files; this one is {arch!r}")
    tensors = {t.name: t for t in reader.tensors}
    hidden = int(meta["llama.embedding_length"])
    n_layer = int(meta["llama.block_count"])
    n_head = int(meta["llama.attention.head_count"])
    n_kv = int(meta["llama.attention.head_count_kv"])
    eps = float(meta["llama.attention.layer_norm_rms_epsilon"])
    head_dim = hidden // n_head
    blocks = hidden // BLOCK
    embd = tensors["token_embd.weight"]
    vocab = int(embd.shape[1])
    if "output.weight" in tensors:
        raise LiveModelError("the live model expects tied embeddings (no output.weight)")
    if embd.tensor_type.name != _Q8_0:
        raise LiveModelError(f"token_embd.weight is {embd.tensor_type.name}; the live model expects Q8_0")
    cos, sin = (np.asarray(t, dtype=np.float32) for t in (rotary or _rotary_tables(meta, head_dim)))

    g = _Graph()
    ids = "input_ids"
    last_axis = g.const(np.array([-1], np.int64))

    # The Q8_0 embedding, tied to the LM head: its bytes and scales, dequantized by the graph (d·q).
    raw = np.asarray(embd.data).reshape(vocab, blocks, 34)
    q8 = g.const(np.ascontiguousarray(raw[..., 2:]).view(np.int8).reshape(vocab, hidden), "token_embd.q")
    d8 = g.op("Cast", g.const(raw[..., 0:2].copy().view(np.float16).reshape(vocab, blocks), "token_embd.d"), to=TensorProto.FLOAT)
    table = g.op("DequantizeLinear", q8, d8, axis=1, block_size=BLOCK)  # [V, hidden]
    x = g.op("Gather", table, ids, axis=0)  # [1, n, hidden]

    # Positions, rotary tables and the causal mask, from the prompt's length.
    n = g.op("Gather", g.op("Shape", ids), g.const(np.array(1, np.int64)), axis=0)
    pos = g.op("Range", g.const(np.array(0, np.int64)), n, g.const(np.array(1, np.int64)))
    cos_t = g.op("Gather", g.const(cos, "rotary.cos"), pos, axis=0)  # [n, head_dim]
    sin_t = g.op("Gather", g.const(sin, "rotary.sin"), pos, axis=0)
    query_pos = g.op("Unsqueeze", pos, g.const(np.array([1], np.int64)))
    key_pos = g.op("Unsqueeze", pos, g.const(np.array([0], np.int64)))
    mask = g.op("Where", g.op("Less", query_pos, key_pos), g.const(np.float32(-np.inf)), g.const(np.float32(0)))  # [n, n]
    half = head_dim // 2
    i0, ih, iend = (g.const(np.array([v], np.int64)) for v in (0, half, head_dim))

    def rms_norm(t: str, weight_name: str) -> str:  # LlamaRMSNorm
        w = g.const(dequantize(tensors[weight_name]), weight_name)
        var = g.op("ReduceMean", g.op("Mul", t, t), last_axis, keepdims=1)
        inv = g.op("Reciprocal", g.op("Sqrt", g.op("Add", var, g.const(np.float32(eps)))))
        return g.op("Mul", w, g.op("Mul", t, inv))

    def gemm(t: str, weight: str, n_in: int, n_out: int) -> str:
        """``t @ weightᵀ`` (``F.linear``) for ``t`` [1, n, n_in] and ``weight`` [n_out, n_in]."""
        flat = g.op("Reshape", t, g.const(np.array([-1, n_in], np.int64)))
        return g.op("Reshape", g.op("Gemm", flat, weight, transB=1), g.const(np.array([1, -1, n_out], np.int64)))

    def linear(t: str, name: str, row_index: np.ndarray | None = None) -> str:
        """A Q4_1 layer, ``Σ_b (d_b·Σ_j (q_bj − 8)·x_bj + (m_b + 8·d_b)·Σ_j x_bj)``: the GGUF's
        ``w = d·q + m`` as a 4-bit ``DequantizeLinear`` (scale d, zero point 8: the GGUF's nibbles
        and scales, unchanged) and the block sums of ``x`` times ``m + 8d``. Centred on 8, the two
        terms do not cancel (m is near −8d in most blocks), so the sum keeps float32's precision;
        ``m + 8d`` is rounded once, as the dequantized weight ``d·q + m`` is."""
        tensor = tensors[name]
        if tensor.tensor_type.name != _Q4_1:
            raise LiveModelError(f"{name} is {tensor.tensor_type.name}; the live model expects Q4_1 linear layers")
        n_out, k = int(tensor.shape[1]), int(tensor.shape[0])
        q, d, m = _q4_1_blocks(tensor.data, n_out, k)
        if row_index is not None:
            q, d, m = q[row_index], d[row_index], m[row_index]
        q4, z4 = name + ".q", name + ".z"
        g.inits.append(helper.make_tensor(q4, TensorProto.UINT4, [n_out, k], _pack_nibbles(q.reshape(n_out, k)).tobytes(), raw=True))
        eights = np.full(n_out * (k // BLOCK), 8, np.uint8)
        g.inits.append(helper.make_tensor(z4, TensorProto.UINT4, [n_out, k // BLOCK], _pack_nibbles(eights).tobytes(), raw=True))
        scale = g.op("Cast", g.const(d.astype(np.float16), name + ".d"), to=TensorProto.FLOAT)
        weight = g.op("DequantizeLinear", q4, scale, z4, axis=1, block_size=BLOCK)  # d·(q − 8), [N, k]
        sums = g.op("ReduceSum", g.op("Reshape", t, g.const(np.array([1, -1, k // BLOCK, BLOCK], np.int64))), last_axis, keepdims=0)
        shift = (m.astype(np.float64) + 8 * d.astype(np.float64)).astype(np.float32)
        offset = g.op("MatMul", sums, g.const(np.ascontiguousarray(shift.T), name + ".m8"))  # [1, n, N]
        return g.op("Add", gemm(t, weight, k, n_out), offset)

    def rope(t: str) -> str:  # t: [1, heads, n, head_dim]; transformers' apply_rotary_pos_emb
        rotated = g.op("Concat", g.op("Neg", g.op("Slice", t, ih, iend, last_axis)), g.op("Slice", t, i0, ih, last_axis), axis=-1)
        return g.op("Add", g.op("Mul", t, cos_t), g.op("Mul", rotated, sin_t))

    def heads(t: str, count: int) -> str:  # [1, n, count·head_dim] -> [1, count, n, head_dim]
        return g.op("Transpose", g.op("Reshape", t, g.const(np.array([1, -1, count, head_dim], np.int64))), perm=[0, 2, 1, 3])

    group = n_head // n_kv
    q_rows, k_rows = _unpermute_rows(n_head * head_dim, n_head), _unpermute_rows(n_kv * head_dim, n_kv)
    scale = g.const(np.float32(head_dim**-0.5))
    for layer in range(n_layer):
        p = f"blk.{layer}."
        h = rms_norm(x, p + "attn_norm.weight")
        q = rope(heads(linear(h, p + "attn_q.weight", q_rows), n_head))
        k = rope(heads(linear(h, p + "attn_k.weight", k_rows), n_kv))
        v = heads(linear(h, p + "attn_v.weight"), n_kv)
        # Grouped-query attention: query head h reads key/value head h // group.
        q = g.op("Reshape", q, g.const(np.array([1, n_kv, group, -1, head_dim], np.int64)))
        k = g.op("Unsqueeze", k, g.const(np.array([2], np.int64)))
        v = g.op("Unsqueeze", v, g.const(np.array([2], np.int64)))
        scores = g.op("Add", g.op("Mul", g.op("MatMul", q, g.op("Transpose", k, perm=[0, 1, 2, 4, 3])), scale), mask)
        att = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)  # [1, kv, group, n, head_dim]
        att = g.op("Reshape", att, g.const(np.array([1, n_head, -1, head_dim], np.int64)))
        att = g.op("Reshape", g.op("Transpose", att, perm=[0, 2, 1, 3]), g.const(np.array([1, -1, hidden], np.int64)))
        x = g.op("Add", x, linear(att, p + "attn_output.weight"))
        h = rms_norm(x, p + "ffn_norm.weight")
        gate = linear(h, p + "ffn_gate.weight")
        act = g.op("Mul", gate, g.op("Sigmoid", gate))  # SiLU
        x = g.op("Add", x, linear(g.op("Mul", act, linear(h, p + "ffn_up.weight")), p + "ffn_down.weight"))

    last = g.op("Gather", x, g.op("Sub", n, g.const(np.array(1, np.int64))), axis=1)  # [1, hidden]
    g.nodes.append(helper.make_node("Gemm", [rms_norm(last, "output_norm.weight"), table], ["logits"], transB=1))
    graph = helper.make_graph(
        g.nodes, "smollm2_live",
        [helper.make_tensor_value_info(ids, TensorProto.INT64, [1, "n"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, vocab])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    model.producer_name = "decoding_lessons.live"
    for key, value in (("max_tokens", MAX_TOKENS), ("vocab_size", vocab), ("format", FORMAT)):
        model.metadata_props.add(key=key, value=str(value))
    return model


def session_options():
    """onnxruntime's options for the live model: ``session.disable_quant_qdq`` lets constant
    folding dequantize the weights once, when the session loads (by default onnxruntime keeps
    ``DequantizeLinear`` nodes and would dequantize on every call, about 3× slower in the page)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.add_session_config_entry("session.disable_quant_qdq", "1")
    return options


def _rotary_tables(meta: dict, head_dim: int):
    """transformers' own rotary cos/sin for positions 0 .. MAX_TOKENS − 1 (bit-equal to the forward's)."""
    import torch
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    config = LlamaConfig(
        hidden_size=int(meta["llama.embedding_length"]),
        num_attention_heads=int(meta["llama.attention.head_count"]),
        num_key_value_heads=int(meta["llama.attention.head_count_kv"]),
        rope_theta=float(meta["llama.rope.freq_base"]),
        max_position_embeddings=int(meta["llama.context_length"]),
    )
    config.rope_parameters = {"rope_type": "default", "rope_theta": float(meta["llama.rope.freq_base"])}
    emb = LlamaRotaryEmbedding(config)
    x = torch.zeros(1, MAX_TOKENS, head_dim)
    cos, sin = emb(x, torch.arange(MAX_TOKENS)[None])
    return cos[0].numpy(), sin[0].numpy()


# Prompts the live model is checked on, here and in the page: Unicode, whitespace, code, numbers.
CHECK_PROMPTS = (
    "The capital of France is",
    "Once upon a time, there was a little",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
    "2 + 2 =",
    "Hello",
    "The quick brown fox jumps over the lazy dog. The quick brown fox",
    "Q: What is the boiling point of water?\nA:",
    "Café, naïve, Zürich and São Paulo are",
    "東京は日本の首都です。大阪は",
    "Emoji: 🙂🚀 and then",
    "    indented line\n\tand a tab",
    "import numpy as np\nx = np.arange(10)\nprint(x.",
    "<|im_start|>user\nWhat is 7 times 8?<|im_end|>\n<|im_start|>assistant\n",
    "1, 2, 3, 4, 5, 6,",
    "In 1969, Neil Armstrong",
    "The recipe calls for 2 cups of flour, 1 cup of sugar and",
    "SELECT name FROM users WHERE",
    "Roses are red, violets are blue,",
    "¿Dónde está la biblioteca? La biblioteca está",
    "The mitochondria is the",
    "A" * 40,
    "https://www.example.com/path?query=1&x=",
    "   ",
    "To be, or not to be, that is the question: Whether 'tis nobler in the mind to suffer the slings and arrows of outrageous fortune",
)

# Standard settings whose kept sets the live model must reproduce exactly.
CHECK_SETTINGS = ({"top_k": 50}, {"top_p": 0.9}, {"top_p": 0.95}, {"min_p": 0.05}, {"min_p": 0.1}, {"typical_p": 0.9}, {"epsilon_cutoff": 3e-4})


def kept_sets(logits, settings=CHECK_SETTINGS) -> list[frozenset[int]]:
    """The tokens each of ``settings`` keeps from ``logits`` (vocab,), with transformers' own warpers."""
    import torch
    from transformers import (EpsilonLogitsWarper, MinPLogitsWarper, TopKLogitsWarper, TopPLogitsWarper,
                              TypicalLogitsWarper)

    make = {"top_k": TopKLogitsWarper, "top_p": TopPLogitsWarper, "min_p": MinPLogitsWarper,
            "typical_p": TypicalLogitsWarper, "epsilon_cutoff": EpsilonLogitsWarper}
    scores = torch.from_numpy(np.array(logits, dtype=np.float32))[None]
    out = []
    for setting in settings:
        ((name, value),) = setting.items()
        kept = make[name](value)(None, scores.clone())[0]
        out.append(frozenset(torch.isfinite(kept).nonzero()[:, 0].tolist()))
    return out


def check_live_model(model_path, lm=None, prompts=CHECK_PROMPTS, tolerance: float = 1e-4) -> dict:
    """onnxruntime's logits of ``model_path`` (a file, or the model's bytes) against PyTorch's (the embedded model in float32) on
    ``prompts``: the largest |Δ| and whether every kept set of :data:`CHECK_SETTINGS` is identical.

    Raises:
        LiveModelError: a difference above ``tolerance`` or a kept set that differs.
    """
    import onnxruntime as ort
    import torch

    from .loading import load_model

    lm = lm or load_model("embedded", device="cpu", dtype=torch.float32)
    source = model_path if isinstance(model_path, (bytes, bytearray)) else str(model_path)
    session = ort.InferenceSession(source, session_options(), providers=["CPUExecutionProvider"])
    worst, seconds = 0.0, []
    for prompt in prompts:
        ids = lm.tokenizer(prompt, return_tensors="pt").input_ids
        with torch.no_grad():
            ref = lm.model(ids.to(lm.device)).logits[0, -1].float().cpu().numpy()
        t0 = time.perf_counter()
        got = session.run(None, {"input_ids": ids.numpy().astype(np.int64)})[0][0]
        seconds.append(time.perf_counter() - t0)
        diff = float(np.abs(got - ref).max())
        worst = max(worst, diff)
        if diff > tolerance:
            raise LiveModelError(f"the live model's logits differ from PyTorch's by {diff:.3g} (> {tolerance}) on {prompt!r}")
        for setting, a, b in zip(CHECK_SETTINGS, kept_sets(got), kept_sets(ref)):
            if a != b:
                raise LiveModelError(f"{setting} keeps {len(a)} tokens on the live model's logits, {len(b)} on PyTorch's ({prompt!r})")
    return {"prompts": len(prompts), "max_abs_diff": worst, "median_forward_ms": round(1000 * float(np.median(seconds)), 2)}


def write_live(directory, gguf_path=None, lm=None, check: bool = True) -> dict:
    """Write the page's files into ``directory`` (whole or not at all) and return the manifest:

    * ``model.onnx.partN``: the model, in parts of at most :data:`PART_BYTES`;
    * ``tokenizer.json`` and ``tokenizer_config.json``: the embedded model's own, for the page's
      tokenizer;
    * ``labels.json``: every token's readable label (:func:`~decoding_lessons.tokens.token_label`);
    * ``manifest.json``: the parts' sizes and SHA-256s, the model's hash (the page's cache key), the
      vocabulary size, :data:`MAX_TOKENS`, the end-of-text ids, DRY's breakers for this vocabulary
      and the check's figures.
    """
    import shutil
    import tempfile

    import onnx
    import torch

    from .llama_cpp import dry_breaker_table
    from .loading import EMBEDDED_LABEL, _file_sha256, embedded_gguf_path, load_model
    from .playground import swap_in
    from .tokens import token_label

    gguf_path = Path(gguf_path or embedded_gguf_path())
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    t0 = time.perf_counter()
    try:
        lm = lm or load_model("embedded", device="cpu", dtype=torch.float32)
        data = build_live_model(gguf_path).SerializeToString()
        full = tmp / "model.onnx"
        full.write_bytes(data)
        report = check_live_model(full, lm) if check else None
        parts = []
        for i, start in enumerate(range(0, len(data), PART_BYTES)):
            chunk = data[start:start + PART_BYTES]
            (tmp / f"model.onnx.part{i}").write_bytes(chunk)
            parts.append({"file": f"model.onnx.part{i}", "bytes": len(chunk), "sha256": hashlib.sha256(chunk).hexdigest()})
        full.unlink()
        tok = lm.tokenizer
        tok.save_pretrained(tmp)
        for extra in ("special_tokens_map.json", "vocab.json", "merges.txt", "chat_template.jinja"):
            (tmp / extra).unlink(missing_ok=True)
        vocab = int(lm.model.get_output_embeddings().weight.shape[0])
        labels = [token_label(tok, i).display for i in range(vocab)]
        (tmp / "labels.json").write_text(json.dumps(labels, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        eos = lm.model.generation_config.eos_token_id
        manifest = {
            "format": FORMAT,
            "model": EMBEDDED_LABEL,  # as the playground's index names it, when the site is built with it
            "label": "SmolLM2-135M-Instruct (its Q4_1 GGUF, live)",
            "gguf": gguf_path.name,
            "gguf_sha256": _file_sha256(gguf_path),
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
            "parts": parts,
            "vocab_size": vocab,
            "max_tokens": MAX_TOKENS,
            "eos_token_ids": sorted({eos} if isinstance(eos, int) else set(eos or [])),
            "dry_breakers": dry_breaker_table(tok),
            "check": report,
            "seconds": round(time.perf_counter() - t0, 1),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        swap_in(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def model_bytes(directory) -> bytes:
    """The model file of a :func:`write_live` directory, its parts joined and checked against the
    manifest (sizes and SHA-256s), as the page joins them."""
    directory = Path(directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    chunks = []
    for part in manifest["parts"]:
        chunk = (directory / part["file"]).read_bytes()
        if len(chunk) != part["bytes"] or hashlib.sha256(chunk).hexdigest() != part["sha256"]:
            raise LiveModelError(f"{directory / part['file']} does not match the manifest's size and SHA-256")
        chunks.append(chunk)
    data = b"".join(chunks)
    if hashlib.sha256(data).hexdigest() != manifest["sha256"]:
        raise LiveModelError(f"the parts in {directory} do not join into the manifest's model")
    return data


def live_dir() -> Path:
    """The cached page files (:func:`write_live`) of the installed embedded model, written on first
    use: ``<model cache>/live-<GGUF sha256[:16]>-f<FORMAT>``."""
    from .loading import _exclusive, cache_root, embedded_cache_dir

    key = embedded_cache_dir().name.rsplit("-", 1)[-1]  # the GGUF's hash, memoised by the loader
    target = cache_root() / f"live-{key}-f{FORMAT}"
    if (target / "manifest.json").is_file():
        return target
    with _exclusive(cache_root() / "locks" / f"{target.name}.lock"):
        if not (target / "manifest.json").is_file():
            print(f"decoding_lessons: writing the live model once (about 30 s); cache: {target}", file=sys.stderr, flush=True)
            write_live(target)
    return target


def main(argv=None) -> int:
    """``python -m decoding_lessons.live DIR``: the page's files of the embedded model into DIR
    (copied from the cache, written there first if needed)."""
    import argparse
    import shutil

    parser = argparse.ArgumentParser(prog="python -m decoding_lessons.live", description=main.__doc__)
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    source = live_dir()
    if args.directory.exists():
        shutil.rmtree(args.directory)
    shutil.copytree(source, args.directory)
    manifest = json.loads((source / "manifest.json").read_text())
    check = manifest["check"] or {}
    print(
        f"live model: {manifest['bytes'] / 1e6:.1f} MB in {len(manifest['parts'])} parts; onnxruntime vs PyTorch on "
        f"{check.get('prompts')} prompts: max |Δlogit| {check.get('max_abs_diff', float('nan')):.2g}; in {time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
