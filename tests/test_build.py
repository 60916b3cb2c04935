"""Robust builds: a failing or hung cell fails the build by name and leaves site/ alone; the
notebook cache follows the model, the module and the packages; builds are deterministic."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import build_env, build_site, make_in, notebook, plotly_charts

FAILING = notebook(
    [
        "md:# A lesson that fails\n\nIts third cell divides by zero.",
        "x = 1",
        "y = x + 1\nvalue = y / 0\nprint(value)",
        "print('never reached')",
    ]
)
HANGING = notebook(["md:# A lesson that hangs", "import time\ntime.sleep(600)"])
FINE = notebook(["md:# A lesson that works\n\nIt prints a number.", "print(6 * 7)"])


def test_the_test_builds_have_no_network():
    # what build_site and make_in run a build in: a request to the Hub fails at once, by name
    # (online it would be a download that passes; behind a firewall, a 24 s timeout)
    import subprocess
    import sys

    code = (
        "import huggingface_hub\nfrom huggingface_hub.errors import OfflineModeIsEnabled\n"
        "try:\n    huggingface_hub.model_info('gpt2')\nexcept OfflineModeIsEnabled as error:\n    print('refused:', error)\n"
    )
    env = build_env()
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert "refused:" in result.stdout and "offline mode is enabled" in result.stdout, result.stdout + result.stderr
    assert env["TRANSFORMERS_OFFLINE"] == "1"


def test_a_failing_cell_fails_make_docs_by_name_and_keeps_the_previous_site(make_project):
    project = make_project({"01_fine": FINE})
    first = make_in(project, "docs")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    page = project / "site" / "lessons" / "01_fine" / "index.html"
    before = page.read_text()
    assert "42" in before

    (project / "docs" / "lessons" / "02_failing.py").write_text(FAILING)
    failed = make_in(project, "docs")
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "docs/lessons/02_failing.py" in output, output[-3000:]
    assert "failed at cell 3 of 4 (line 19: `value = y / 0`): ZeroDivisionError" in output, output[-3000:]
    assert "the previous site/ is untouched" in output
    assert page.read_text() == before
    assert not (project / "site" / "lessons" / "02_failing").exists()
    assert not list(project.glob(".site-build*")), "the failed build's directory was left behind"


def test_a_hung_cell_is_stopped_by_the_per_cell_timeout(make_project):
    project = make_project({"01_hanging": HANGING})
    result = build_site(project / "out", {"DECODING_LESSONS_CELL_TIMEOUT": "4"}, project=project)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "docs/lessons/01_hanging.py" in output and "timed out" in output, output[-3000:]
    assert "cell 2 of 2" in output and "time.sleep(600)" in output, output[-3000:]


def test_lessons_execute_side_by_side_and_a_failure_still_names_its_cell(make_project):
    project = make_project({"01_fine": FINE, "02_failing": FAILING, "03_fine": FINE.replace("6 * 7", "6 * 9")})
    result = build_site(project / "out", {"DECODING_LESSONS_BUILD_JOBS": "2"}, project=project)
    output = result.stdout + result.stderr
    assert "executing 3 notebooks, 2 at a time" in output, output[-3000:]
    assert result.returncode != 0
    assert "notebook docs/lessons/02_failing.py failed at cell 3 of 4 (line 19: `value = y / 0`): ZeroDivisionError" in output, output[-3000:]
    assert not list((project / ".cache").rglob("*.error")), "a worker's error report was left behind"


def test_side_by_side_and_one_at_a_time_give_the_same_pages(make_project):
    project = make_project({"01_fine": FINE, "02_fine": FINE.replace("6 * 7", "6 * 9")})
    parallel = build_site(project / "parallel", {"DECODING_LESSONS_BUILD_JOBS": "2"}, project=project)
    assert parallel.returncode == 0 and "executing 2 notebooks, 2 at a time" in parallel.stderr, parallel.stderr[-3000:]
    assert "Cache hit" in parallel.stderr  # mkdocs-jupyter rendered from what the workers wrote
    shutil.rmtree(project / ".cache")
    serial = build_site(project / "serial", {"DECODING_LESSONS_BUILD_JOBS": "1"}, project=project)
    assert serial.returncode == 0 and "at a time" not in serial.stderr, serial.stderr[-3000:]
    for stem, answer in (("01_fine", "42"), ("02_fine", "54")):
        page = (project / "parallel" / "lessons" / stem / "index.html").read_text()
        assert answer in page
        # byte for byte: the random cell ids jupytext gives a .py notebook are numbered by the hook
        assert 'id="nb-cell-1"' in page and "cell-id=" not in page
        ids = re.findall(r'\bid="([^"]+)"', page)
        assert len(ids) == len(set(ids)), "duplicate element ids"
        assert page == (project / "serial" / "lessons" / stem / "index.html").read_text()


def test_lessons_side_by_side_share_the_cores_out(make_project):
    threads = notebook(["md:# Threads", "import torch\nprint('threads:', torch.get_num_threads())"])
    project = make_project({"01_a": threads, "02_b": threads})
    result = build_site(project / "out", {"DECODING_LESSONS_BUILD_JOBS": "2"}, project=project)
    assert result.returncode == 0, result.stderr[-3000:]
    expected = max(1, (os.cpu_count() or 1) // 2)
    for stem in ("01_a", "02_b"):
        assert f"threads: {expected}" in (project / "out" / "lessons" / stem / "index.html").read_text()


@pytest.mark.parametrize(("name", "value"), [("DECODING_LESSONS_BUILD_JOBS", "0"), ("DECODING_LESSONS_BUILD_JOBS", "two"), ("DECODING_LESSONS_THREADS", "0")])
def test_a_bad_number_of_build_jobs_or_threads_is_refused_by_name(make_project, name, value):
    project = make_project({"01_fine": FINE})
    result = build_site(project / "out", {name: value}, project=project)
    assert result.returncode != 0
    assert f"`{name}` has to be an integer >= 1, but is '{value}'" in result.stdout + result.stderr


CHART_LESSON = notebook(
    [
        "md:# A lesson with a chart",
        "import decoding_lessons as dl\nimport torch\n\nlm, cap = dl.lesson_setup()",
        "step = cap('The sky is')\ndl.token_chart(step, k=8).show()",
        # sampling draws: the same on every build only if everything is seeded
        "out = lm.model.generate(**lm.tokenizer('The sky is', return_tensors='pt'), do_sample=True, max_new_tokens=8,\n"
        "                        pad_token_id=lm.tokenizer.pad_token_id)\nprint(out[0].tolist())",
    ]
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, lm):
    """A tiny random Llama with the embedded model's tokenizer, saved as a local model directory."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    path = tmp_path_factory.mktemp("tiny-llama")
    torch.manual_seed(1234)
    config = LlamaConfig(
        vocab_size=len(lm.tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128,
        bos_token_id=lm.tokenizer.bos_token_id, eos_token_id=lm.tokenizer.eos_token_id, pad_token_id=lm.tokenizer.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(path)
    lm.tokenizer.save_pretrained(path)
    return path


def page_parts(site: Path) -> tuple[str, list, str]:
    html = (site / "lessons" / "01_chart" / "index.html").read_text()
    info = re.search(r'<div class="dl-build-info">.*?</div>', html, re.S).group(0)
    (chart,) = plotly_charts(html)
    draws = re.search(r"\[(\d+(?:, \d+)*)\]", html[html.index("do_sample"):]).group(0)
    return info, chart[1], draws


def test_the_cache_follows_the_model_and_builds_are_deterministic(make_project, tiny_model, tmp_path):
    project = make_project({"01_chart": CHART_LESSON})
    # the model cache starts empty, as on a new machine: the first build dequantizes the GGUF and
    # writes the embedded model's directory there; the last build reads it
    model_cache = tmp_path / "model-cache"
    model_cache.mkdir()
    embedded = {"DECODING_LESSONS_CACHE": str(model_cache)}

    first = build_site(tmp_path / "a", embedded, project=project)
    assert first.returncode == 0, first.stderr[-3000:]
    info_a, data_a, draws_a = page_parts(tmp_path / "a")
    assert "SmolLM2" in info_a
    written = {str(p.relative_to(model_cache)): p.stat().st_mtime_ns for p in model_cache.rglob("*.safetensors")}
    assert written, f"the cold build wrote no model into {model_cache}"

    # another model: the cached page must not be served
    second = build_site(tmp_path / "b", {"DECODING_LESSONS_MODEL": str(tiny_model)}, project=project)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Cache hit" not in second.stderr
    info_b, data_b, draws_b = page_parts(tmp_path / "b")
    assert str(tiny_model) in info_b and "SmolLM2" not in info_b
    assert data_b != data_a

    # the same model again: served from the cache, unchanged
    third = build_site(tmp_path / "c", {"DECODING_LESSONS_MODEL": str(tiny_model)}, project=project)
    assert "Cache hit" in third.stderr
    assert page_parts(tmp_path / "c") == (info_b, data_b, draws_b)

    # determinism: a second clean build (its own empty notebook cache), now with the warm model
    # cache, gives identical chart data and draws ...
    fourth = build_site(tmp_path / "d", embedded, project=project, cache_dir=tmp_path / "fresh-cache")
    assert fourth.returncode == 0, fourth.stderr[-3000:]
    assert "Cache hit" not in fourth.stderr
    assert {str(p.relative_to(model_cache)): p.stat().st_mtime_ns for p in model_cache.rglob("*.safetensors")} == written  # read, not rewritten
    assert page_parts(tmp_path / "d") == (info_a, data_a, draws_a)
    # ... and the same page, byte for byte: the cold load's progress output or messages left nothing on it
    page = Path("lessons") / "01_chart" / "index.html"
    assert (tmp_path / "d" / page).read_text() == (tmp_path / "a" / page).read_text()


def load_hook_module(name: str):
    """A fresh copy of the hook module ``hooks/{name}.py``, loaded as MkDocs loads the hook: with
    ``hooks/`` on ``sys.path`` while it runs, so that it imports its siblings."""
    import importlib.util
    import sys

    hooks = Path(__file__).resolve().parent.parent / "hooks"
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", hooks / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    saved = sys.path.copy()
    sys.path.insert(0, str(hooks))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
    return module


def test_the_cache_key_covers_model_module_packages_and_environment(tmp_path, monkeypatch):
    import shutil

    hook = load_hook_module("build_cache_key")
    monkeypatch.setenv("DECODING_LESSONS_MODEL", "embedded")
    monkeypatch.setenv("DECODING_LESSONS_DEVICE", "cpu")
    monkeypatch.setenv("DECODING_LESSONS_DTYPE", "auto")
    monkeypatch.delenv("DECODING_LESSONS_RENDERER", raising=False)
    monkeypatch.delenv("DECODING_LESSONS_THREADS", raising=False)
    base, _ = hook.fingerprint()
    assert hook.fingerprint()[0] == base  # stable

    monkeypatch.setenv("DECODING_LESSONS_MODEL", "some-org/another-model")
    assert hook.fingerprint()[0] != base
    monkeypatch.setenv("DECODING_LESSONS_MODEL", "embedded")

    # the dtype: a bf16 build is another build
    monkeypatch.setenv("DECODING_LESSONS_DTYPE", "bfloat16")
    assert hook.fingerprint()[0] != base and hook.fingerprint()[1]["dtype"] == "torch.bfloat16"
    monkeypatch.setenv("DECODING_LESSONS_DTYPE", "auto")
    assert hook.fingerprint()[0] == base

    # a local model directory: a changed file is another model
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    monkeypatch.setenv("DECODING_LESSONS_MODEL", str(model_dir))
    local, _ = hook.fingerprint()
    (model_dir / "model.safetensors").write_bytes(b"weights")
    assert hook.fingerprint()[0] != local
    monkeypatch.setenv("DECODING_LESSONS_MODEL", "embedded")

    # the module's source (a copy of the package and the hooks with one byte changed)
    copy = tmp_path / "repo"
    for tree in ("decoding_lessons", "hooks"):
        shutil.copytree(hook.ROOT / tree, copy / tree, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(hook, "ROOT", copy)
    assert hook.fingerprint()[0] == base
    capture = copy / "decoding_lessons" / "capture.py"
    capture.write_text(capture.read_text() + "\n# changed\n")
    assert hook.fingerprint()[0] != base
    monkeypatch.setattr(hook, "ROOT", hook.ROOT.__class__(__file__).resolve().parent.parent)

    # package versions
    real = hook.installed_versions
    monkeypatch.setattr(hook, "installed_versions", lambda names: {**real(names), "transformers": "99.0"})
    assert hook.fingerprint()[0] != base
    monkeypatch.setattr(hook, "installed_versions", real)

    # an environment variable that changes the output
    monkeypatch.setenv("DECODING_LESSONS_RENDERER", "notebook")
    assert hook.fingerprint()[0] != base


def cache_key_env(monkeypatch):
    for name, value in (("DECODING_LESSONS_MODEL", "embedded"), ("DECODING_LESSONS_DEVICE", "cpu"), ("DECODING_LESSONS_DTYPE", "auto")):
        monkeypatch.setenv(name, value)
    for name in ("DECODING_LESSONS_RENDERER", "DECODING_LESSONS_THREADS", "DECODING_LESSONS_BUILD_JOBS"):
        monkeypatch.delenv(name, raising=False)


def test_the_cache_key_covers_the_hooks_source(tmp_path, monkeypatch):
    import shutil

    hook = load_hook_module("build_cache_key")
    cache_key_env(monkeypatch)
    base, parts = hook.fingerprint()
    assert "hooks/build_executor.py" in parts["hooks"] and "hooks/build_worker.py" in parts["hooks"]
    copy = tmp_path / "repo"
    for tree in ("decoding_lessons", "hooks"):
        shutil.copytree(hook.ROOT / tree, copy / tree, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(hook, "ROOT", copy)
    assert hook.fingerprint()[0] == base
    for name in ("build_executor.py", "build_worker.py", "build_pages.py"):
        module = copy / "hooks" / name
        text = module.read_text()
        module.write_text(text + "\n# changed\n")
        assert hook.fingerprint()[0] != base, name
        module.write_text(text)
        assert hook.fingerprint()[0] == base, name
    (copy / "hooks" / "build_new.py").write_text("# a new hook module\n")
    assert hook.fingerprint()[0] != base


def test_the_cache_key_covers_the_kernels_thread_count(monkeypatch):
    from mkdocs.exceptions import PluginError

    hook = load_hook_module("build_cache_key")
    cache_key_env(monkeypatch)
    monkeypatch.setattr(hook.os, "cpu_count", lambda: 8)
    base, parts = hook.fingerprint()
    assert parts["threads"] == 1  # 8 cores shared out among 8 jobs
    monkeypatch.setenv("DECODING_LESSONS_THREADS", "1")
    assert hook.fingerprint()[0] == base  # the same count, however it was asked for
    monkeypatch.setenv("DECODING_LESSONS_THREADS", "2")
    assert hook.fingerprint()[0] != base and hook.fingerprint()[1]["threads"] == 2
    monkeypatch.delenv("DECODING_LESSONS_THREADS")
    monkeypatch.setenv("DECODING_LESSONS_BUILD_JOBS", "2")  # 4 threads each
    assert hook.fingerprint()[0] != base and hook.fingerprint()[1]["threads"] == 4
    monkeypatch.setenv("DECODING_LESSONS_BUILD_JOBS", "8")
    assert hook.fingerprint()[0] == base
    monkeypatch.setenv("DECODING_LESSONS_THREADS", "many")
    with pytest.raises(PluginError, match=r"`DECODING_LESSONS_THREADS` has to be an integer >= 1, but is 'many'"):
        hook.fingerprint()


def test_a_local_model_directory_is_keyed_by_contents_and_its_weights_by_size_and_time(tmp_path, monkeypatch):
    hook = load_hook_module("build_cache_key")
    cache_key_env(monkeypatch)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    config, weights = model_dir / "generation_config.json", model_dir / "model.safetensors"
    config.write_text('{"top_k": 50}')
    weights.write_bytes(b"W" * 4096)
    monkeypatch.setattr(hook, "HASH_BELOW_BYTES", 1024)  # the 4 KB file stands for the weights
    monkeypatch.setenv("DECODING_LESSONS_MODEL", str(model_dir))
    base, parts = hook.fingerprint()
    assert parts["model_files"]["model.safetensors"][0] == 4096

    def rewrite(path, data):  # same size, same modification time
        stat = path.stat()
        path.write_bytes(data)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    # a small file: its contents count, even with its size and time unchanged
    rewrite(config, b'{"top_k": 40}')
    changed = hook.fingerprint()[0]
    assert changed != base
    # the weights: their time counts (and their size) ...
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 1))
    assert hook.fingerprint()[0] != changed
    # ... but they are not read (hashing the embedded model's 538 MB costs 0.49 s a build)
    newer = hook.fingerprint()[0]
    rewrite(weights, b"V" * 4096)
    assert hook.fingerprint()[0] == newer


def test_the_model_choice_is_remembered_while_what_decides_it_is_unchanged(tmp_path, monkeypatch):
    hook = load_hook_module("build_cache_key")
    memo = tmp_path / "model-choice.json"
    monkeypatch.setenv("DECODING_LESSONS_MODEL", "auto")
    monkeypatch.setenv("DECODING_LESSONS_DEVICE", "cpu")
    first = hook.fingerprint(memo)
    assert json.loads(memo.read_text())["choice"] == {"name": "embedded", "device": "cpu", "dtype": "torch.float32"}
    assert hook.fingerprint(memo) == first == hook.fingerprint()  # remembered, and the same as resolving
    # a remembered answer is used only for the inputs it was computed from
    saved = json.loads(memo.read_text())
    saved["choice"]["name"] = "remembered"
    memo.write_text(json.dumps(saved))
    assert hook.fingerprint(memo)[1]["model"] == "remembered"
    monkeypatch.setenv("DECODING_LESSONS_MODEL", "some-org/another-model")
    assert hook.fingerprint(memo)[1]["model"] == "some-org/another-model"
    memo.write_text("not json")
    monkeypatch.setenv("DECODING_LESSONS_MODEL", "embedded")
    assert hook.fingerprint(memo)[0] == first[0]


def test_only_the_most_recent_fingerprints_are_kept(tmp_path):
    import os

    hook = load_hook_module("build_cache_key")
    for age, name in enumerate(["fp-a", "fp-b", "fp-c", "fp-d", "fp-e"]):
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (1_000_000 + age, 1_000_000 + age))  # fp-e is the most recent
    hook.prune_fingerprints(tmp_path, "fp-a", keep=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fp-a", "fp-d", "fp-e"]
    hook.prune_fingerprints(tmp_path, "fp-new", keep=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fp-a", "fp-e", "fp-new"]


def test_the_kernels_thread_count_does_not_depend_on_how_many_lessons_are_pending(monkeypatch):
    from mkdocs.exceptions import PluginError

    hook = load_hook_module("build_executor")
    for name in ("DECODING_LESSONS_BUILD_JOBS", "DECODING_LESSONS_THREADS"):
        monkeypatch.delenv(name, raising=False)
    for cores, jobs_env, device, expected in (
        (2, None, "cpu", 1), (16, None, "cpu", 1), (1, None, "cpu", 1),  # a core (or less) per kernel
        (16, None, "cuda", 16), (16, "4", "cpu", 4), (2, "1", "cpu", 2),
    ):
        monkeypatch.setattr(hook.os, "cpu_count", lambda: cores)
        if jobs_env:
            monkeypatch.setenv("DECODING_LESSONS_BUILD_JOBS", jobs_env)
        else:
            monkeypatch.delenv("DECODING_LESSONS_BUILD_JOBS", raising=False)
        # the jobs depend on what is pending (one lesson pending: mkdocs-jupyter runs it alone) ...
        assert hook.build_jobs(1, device) == 1
        # ... the threads are a function of the machine and the configuration only
        assert hook.kernel_threads(device) == expected, (cores, jobs_env, device)
    import inspect

    assert list(inspect.signature(hook.kernel_threads).parameters) == ["device"]
    monkeypatch.delenv("DECODING_LESSONS_BUILD_JOBS")
    monkeypatch.setattr(hook.os, "cpu_count", lambda: 4)
    monkeypatch.setenv("DECODING_LESSONS_THREADS", "3")
    assert hook.kernel_threads("cpu") == 3 == hook.kernel_threads("cuda")
    monkeypatch.setenv("DECODING_LESSONS_THREADS", "64")
    assert hook.kernel_threads("cpu") == 4  # OpenMP and MKL would not start more than the cores
    monkeypatch.setenv("DECODING_LESSONS_THREADS", "0")
    with pytest.raises(PluginError, match=r"`DECODING_LESSONS_THREADS` has to be an integer >= 1, but is '0'"):
        hook.kernel_threads()


def test_kernels_get_the_same_threads_side_by_side_and_in_mkdocs_jupyters_own_run(make_project):
    # Two lessons pending run side by side in workers; one pending is run by mkdocs-jupyter itself,
    # in a kernel of its own that (before the fix) got torch's default of a thread per core.
    threads = notebook(["md:# Threads", "import torch\nprint('threads:', torch.get_num_threads())"])
    project = make_project({"01_a": threads, "02_b": threads})
    expected = load_hook_module("build_executor").kernel_threads("cpu")  # the environment the build gets
    side_by_side = build_site(project / "out1", project=project)
    assert side_by_side.returncode == 0, side_by_side.stderr[-3000:]
    assert "executing 2 notebooks, 2 at a time" in side_by_side.stderr, side_by_side.stderr[-3000:]
    (project / "docs" / "lessons" / "03_c.py").write_text(threads)
    alone = build_site(project / "out2", project=project)
    assert alone.returncode == 0, alone.stderr[-3000:]
    assert "at a time" not in alone.stderr and "Cache hit" in alone.stderr, alone.stderr[-3000:]
    for stem in ("01_a", "02_b", "03_c"):
        assert f"threads: {expected}" in (project / "out2" / "lessons" / stem / "index.html").read_text(), stem
    if (os.cpu_count() or 1) >= 2:  # another thread count is another build, with that count
        other = 2 if expected == 1 else 1
        again = build_site(project / "out3", {"DECODING_LESSONS_THREADS": str(other)}, project=project)
        assert again.returncode == 0, again.stderr[-3000:]
        assert re.search(rf"executing 3 notebooks, \d+ at a time \(DECODING_LESSONS_BUILD_JOBS\), {other} thread\(s\) each", again.stderr), again.stderr[-3000:]
        for stem in ("01_a", "02_b", "03_c"):
            assert f"threads: {other}" in (project / "out3" / "lessons" / stem / "index.html").read_text(), stem


def test_how_many_lessons_execute_at_once(monkeypatch):
    from mkdocs.exceptions import PluginError

    hook = load_hook_module("build_executor")
    monkeypatch.delenv("DECODING_LESSONS_BUILD_JOBS", raising=False)
    monkeypatch.setattr(hook.os, "cpu_count", lambda: 16)
    assert hook.build_jobs(15) == 15 and hook.build_jobs(40) == 16 and hook.build_jobs(1) == 1
    monkeypatch.setattr(hook.os, "cpu_count", lambda: 1)
    assert hook.build_jobs(15) == 2  # the fixed cost per lesson is mostly single-threaded
    assert hook.build_jobs(15, "cuda") == 1  # one model copy per kernel in GPU memory: not by default
    monkeypatch.setenv("DECODING_LESSONS_BUILD_JOBS", "3")
    assert hook.build_jobs(15, "cuda") == 3 and hook.build_jobs(2) == 2
    monkeypatch.setenv("DECODING_LESSONS_BUILD_JOBS", "-1")
    with pytest.raises(PluginError, match=r"`DECODING_LESSONS_BUILD_JOBS` has to be an integer >= 1, but is '-1'"):
        hook.build_jobs(15)
