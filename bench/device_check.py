"""The benchmark's accelerator part: capture and search timed on a CUDA device (or any device).

A GPU machine lent for checks has no internet and no plotly or mkdocs, so this script needs only
torch, transformers and ``decoding_lessons`` itself, and builds its own small model: a randomly
initialised Llama (seeded; about 20 M parameters) with a 32k vocabulary. It checks that our capture
and beam search still equal ``generate()`` on the device, then times them, and writes JSON that
``bench/run.py`` folds into ``bench/results.json`` when it is saved as ``bench/gpu_results.json``.

    python bench/device_check.py --device cuda --out bench/gpu_results.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def tiny_model(device: str, dtype: torch.dtype, vocab: int = 32000):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=vocab, hidden_size=256, intermediate_size=768, num_hidden_layers=4, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=512, bos_token_id=1, eos_token_id=2, pad_token_id=2,
    )
    model = LlamaForCausalLM(config).to(device=device, dtype=dtype).eval()
    model.requires_grad_(False)
    return model


def timed(fn, repeats: int, sync) -> tuple[float, object]:
    out = fn()  # warm-up (kernels, allocator)
    sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    import decoding_lessons as dl
    from decoding_lessons.loading import LanguageModel, ModelChoice

    dtype = getattr(torch, args.dtype)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    model = tiny_model(args.device, dtype)
    lm = LanguageModel(model=model, tokenizer=None, choice=ModelChoice("tiny-random-llama", args.device, dtype), load_seconds=0.0)
    prompt = torch.randint(3, 32000, (1, 24), generator=torch.Generator().manual_seed(1))
    results = {
        "device": args.device,
        "device_name": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu",
        "dtype": args.dtype,
        "torch": torch.__version__,
        "model": "random Llama, 4 layers, hidden 256, vocab 32000",
    }

    # capture: one forward pass, then a grid of configurations on the captured logits
    grid = [dl.DecodingConfig(do_sample=True, top_k=0, temperature=t) for t in (0.3, 0.7, 1.0, 1.5, 2.0)]

    def capture():
        cap = dl.LogitCapture(lm)
        step = cap(prompt[0].tolist())
        return [step.scores(c) for c in grid], cap.forward_passes

    capture_s, (scores, passes) = timed(capture, args.repeats, sync)
    ids = prompt.to(args.device)
    ref = dl.reference_generate(model, ids, grid[0], max_new_tokens=1, scores=True)
    results["capture"] = {
        "seconds": round(capture_s, 5), "forward_passes": passes, "configs": len(grid),
        "equals_generate": bool(torch.equal(ref.scores[0][0].float().cpu(), scores[0])),
    }

    searches = {
        "beam_search": lambda: dl.beam_search(model, prompt[0].tolist(), num_beams=4, max_new_tokens=12),
        "diverse_beam_search": lambda: dl.diverse_beam_search(model, prompt[0].tolist(), num_beams=6, num_beam_groups=3, max_new_tokens=12),
        "contrastive_search": lambda: dl.contrastive_search(model, prompt[0].tolist(), penalty_alpha=0.6, top_k=4, max_new_tokens=24),
    }
    for name, fn in searches.items():
        seconds, res = timed(fn, args.repeats, sync)
        results[name] = {"seconds": round(seconds, 4), "forward_passes": res.forward_passes}
    beam = dl.beam_search(model, prompt[0].tolist(), num_beams=4, max_new_tokens=12)
    ref = dl.reference_generate(model, ids, num_beams=4, num_return_sequences=4, max_new_tokens=12, scores=True, do_sample=False)
    results["beam_search"]["equals_generate"] = bool(
        torch.equal(beam.sequences.cpu(), ref.sequences.cpu())
        and torch.allclose(beam.sequences_scores.float().cpu(), ref.sequences_scores.float().cpu(), atol=1e-4)
    )
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
