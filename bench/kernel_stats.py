"""IPython start-up file for the benchmark's builds: at exit, each lesson kernel writes its
counts (forward passes, distinct contexts, charts) from ``decoding_lessons.lesson.current_lesson()``
to ``$DECODING_LESSONS_STATS_DIR/kernel-<pid>.json``.

``bench/run.py`` copies this file into the ``profile_default/startup/`` folder of an
``IPYTHONDIR`` of its own, so only the benchmark's kernels run it; the package writes nothing.
"""

import atexit
import json
import os


def _write_stats() -> None:
    directory = os.environ.get("DECODING_LESSONS_STATS_DIR")
    if not directory:
        return
    from decoding_lessons.lesson import current_lesson

    lesson = current_lesson()
    if lesson is None:  # a notebook that never called lesson_setup()
        return
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, f"kernel-{os.getpid()}.json"), "w") as fh:
        json.dump({"pid": os.getpid(), "cwd": os.getcwd(), **lesson.stats()}, fh)


atexit.register(_write_stats)
