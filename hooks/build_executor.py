"""Executing the lessons: the per-cell timeout, the kernels' environment, the model prepared once,
and the lessons the cache lacks executed side by side.

One lesson = one fresh kernel: start it, import torch and transformers, load the model, run the
cells. The first three are a fixed cost of ~8 s per lesson and mostly single-threaded, so lessons
executed side by side finish sooner even on two cores. mkdocs-jupyter executes pages one at a
time while it renders them, so we execute the lessons its cache lacks beforehand, in parallel (each
in a ``build_worker.py`` process), and write its cache entries; its render then finds them. A
failing cell stops the other workers and fails the build with the same report as mkdocs-jupyter's
own run would (``build_pages.describe_failure``); only a worker that breaks for another reason
leaves its lesson to mkdocs-jupyter. Every kernel, the workers' and mkdocs-jupyter's own, gets
the same torch thread count (:func:`kernel_threads`, part of the cache key): a page never depends
on how many other lessons happened to be cached.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

from mkdocs.exceptions import PluginError

from build_mkdocs_jupyter import PRE_EXECUTE_OPTIONS, cache_path
from build_pages import describe_failure

log = logging.getLogger("mkdocs.hooks.build")

ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "build_worker.py"

CELL_TIMEOUT_ENV = "DECODING_LESSONS_CELL_TIMEOUT"
SITE_BUILD_ENV = "DECODING_LESSONS_SITE_BUILD"  # read by decoding_lessons.lesson.lesson_setup
BUILD_JOBS_ENV = "DECODING_LESSONS_BUILD_JOBS"
THREADS_ENV = "DECODING_LESSONS_THREADS"
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")  # what torch reads for its intra-op threads


def set_cell_timeout() -> None:
    """nbclient reads ``NotebookClient.timeout`` from ``jupyter_nbconvert_config.json`` on
    ``JUPYTER_CONFIG_PATH`` (mkdocs-jupyter overrides the ``ExecutePreprocessor`` section itself), so
    a hung cell fails the build after ``$DECODING_LESSONS_CELL_TIMEOUT`` seconds (default 600)."""
    timeout = int(os.environ.get(CELL_TIMEOUT_ENV, "600"))
    conf_dir = Path(tempfile.gettempdir()) / f"decoding-lessons-jupyter-{timeout}"
    conf_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "jupyter_nbconvert_config.json").write_text(json.dumps({"NotebookClient": {"timeout": timeout}}))
    paths = [str(conf_dir)] + [p for p in os.environ.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p]
    os.environ["JUPYTER_CONFIG_PATH"] = os.pathsep.join(dict.fromkeys(paths))


def mark_site_build() -> None:
    """The kernels this build starts use the site renderer (``decoding_lessons.lesson.lesson_setup``);
    a downloaded notebook, run anywhere else, keeps Plotly's own."""
    os.environ[SITE_BUILD_ENV] = "1"


def _error_report(target: Path) -> Path:
    """Where a worker leaves nbclient's report of a failing cell (next to the cache entry)."""
    return target.with_name(target.name + ".error")


def _positive_int_env(name: str) -> int | None:
    """``$name`` as an integer >= 1, ``None`` when unset or empty; anything else fails the build."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise PluginError(f"`{name}` has to be an integer >= 1, but is {value!r}")
    return number


def jobs_setting(device: str = "cpu") -> int:
    """How many lessons may execute at once on this machine with this configuration:
    ``$DECODING_LESSONS_BUILD_JOBS``, else one per CPU core (at least 2: the fixed cost per kernel
    is mostly single-threaded). On a GPU the default is 1: each kernel would hold its own copy of
    the model in GPU memory."""
    jobs = _positive_int_env(BUILD_JOBS_ENV)
    if jobs is not None:
        return jobs
    if device.startswith("cuda"):
        return 1
    return max(2, os.cpu_count() or 1)


def build_jobs(pending: int, device: str = "cpu") -> int:
    """How many lessons execute at once: :func:`jobs_setting`, never more than are pending."""
    return max(1, min(jobs_setting(device), pending))


def kernel_threads(device: str = "cpu") -> int:
    """The torch (OpenMP/MKL) threads of every kernel the build starts.

    A float reduction split over another number of threads adds in another order: a lesson run
    with 2 threads gives chart numbers that differ from a run with 1 thread at the 6th-7th
    significant digit (measured). So the count depends on the machine and the configuration only,
    never on how many lessons the cache lacks: ``$DECODING_LESSONS_THREADS``, else the cores shared
    out among :func:`jobs_setting` kernels (torch's OpenMP threads spin while they wait: two kernels
    with a thread per core each ran 8x slower than one at a time, measured on 2 cores), so 1 by
    default on a CPU, every core with ``JOBS=1`` or on a GPU. Never more than the cores (OpenMP and
    MKL would not start more). The cache key holds it (``build_cache_key``)."""
    cores = os.cpu_count() or 1
    threads = _positive_int_env(THREADS_ENV)
    if threads is not None:
        return min(threads, cores)
    return max(1, cores // jobs_setting(device))


def set_kernel_threads(threads: int) -> None:
    """Give every kernel this build starts ``threads`` torch threads: the parallel workers' and
    mkdocs-jupyter's own (both inherit ``os.environ``); torch reads ``OMP_NUM_THREADS`` when it
    starts, and ``decoding_lessons.lesson_setup()`` keeps what torch read. An inherited value is
    replaced: the cache key holds this one."""
    for name in THREAD_VARS:
        os.environ[name] = str(threads)


PREPARE_MODEL = r"""
import sys, time
from decoding_lessons.loading import prepare_model, resolve_choice
start = time.perf_counter()
print(f"model ready: {prepare_model()} ({time.perf_counter() - start:.1f} s)", file=sys.stderr)
"""


def prepare_model() -> None:
    """Make the model ready before any lesson runs, in one process whose output goes to the build
    log: on an empty cache the embedded model is dequantized here (progress bars and all), once,
    instead of in each lesson's kernel, where that output would become a red box on the page."""
    import subprocess
    import sys
    import time

    start = time.perf_counter()
    log.info("preparing the model before the lessons run")
    # It runs alone, so on every core (torch's default, as before the kernels' count was fixed):
    # dequantizing is elementwise, its result the same with any thread count.
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    # its output (the dequantizing progress, a download's) streams into the build log as it comes
    result = subprocess.run([sys.executable, "-c", PREPARE_MODEL], cwd=ROOT, env=env)
    if result.returncode != 0:
        raise PluginError(f"the model could not be prepared (exit {result.returncode} after {time.perf_counter() - start:.1f} s; its output is above)")


def pending_lessons(files, plugin) -> list[tuple[str, Path]]:
    """``(source path, cache entry)`` of each notebook the build executes and the cache lacks."""
    pending = []
    for file in files:
        if not plugin.should_include(file):
            continue
        path = file.abs_src_path
        if any(Path(path).match(pattern) for pattern in plugin.config.get("execute_ignore") or []):
            continue
        target = cache_path(plugin.config, path)
        if not target.exists():
            pending.append((path, target))
    return pending


def execute_ahead(files, plugin, device: str) -> None:
    """Prepare the model and execute the lessons the cache lacks, side by side, writing their cache
    entries (one at a time is left to mkdocs-jupyter); a failing cell fails the build by name."""
    pending = pending_lessons(files, plugin)
    if pending:
        prepare_model()
    jobs = build_jobs(len(pending), device) if pending else 0
    if jobs < 2:  # nothing to do, or one at a time: mkdocs-jupyter does that itself
        return
    import signal
    import subprocess
    import sys
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor, as_completed

    options = json.dumps({k: plugin.config[k] for k in PRE_EXECUTE_OPTIONS})
    env = dict(os.environ)  # with the threads of set_kernel_threads(), as mkdocs-jupyter's kernels have
    log.info("executing %d notebooks, %d at a time (%s), %s thread(s) each (%s)", len(pending), jobs, BUILD_JOBS_ENV,
             env.get("OMP_NUM_THREADS", "?"), THREADS_ENV)
    started = time.perf_counter()

    running: dict[str, subprocess.Popen] = {}
    failed = threading.Event()

    def run(item):
        path, target = item
        if failed.is_set():
            return path, None, 0.0
        target.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        report = _error_report(target)
        report.unlink(missing_ok=True)
        # a session of its own, so that a kill takes the kernel it starts along
        proc = subprocess.Popen([sys.executable, str(WORKER), path, str(target), options, str(report)], env=env,
                                stdout=subprocess.DEVNULL, start_new_session=True)  # stderr: the build log
        running[path] = proc
        proc.wait()
        running.pop(path, None)
        return path, proc.returncode, time.perf_counter() - t

    failure = None
    by_path = {file.abs_src_path: file for file in files}
    targets = dict(pending)
    with ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(run, item) for item in pending]
        for done, future in enumerate(as_completed(futures), 1):
            path, rc, seconds = future.result()
            name = Path(path).name
            report = _error_report(targets[path])
            if rc == 0:
                log.info("  [%d/%d] executed %s in %.1f s", done, len(pending), name, seconds)
            elif rc is not None and report.exists() and failure is None:
                failure = describe_failure(by_path[path].src_uri, path, RuntimeError(report.read_text(encoding="utf-8")))
                report.unlink()
                failed.set()  # stop: the lessons not started are skipped, the running ones killed
                for proc in list(running.values()):
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            elif rc is not None and failure is None:  # the worker itself broke: let mkdocs-jupyter run it
                log.info("  [%d/%d] %s: worker exited with %s; the build runs it again", done, len(pending), name, rc)
    if failure:
        raise PluginError(failure)
    log.info("executed %d notebooks in %.1f s", len(pending), time.perf_counter() - started)
