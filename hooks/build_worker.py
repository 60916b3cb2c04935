"""One lesson executed ahead of mkdocs-jupyter's render, in a process of its own (``build_executor``):

    python hooks/build_worker.py SRC TARGET OPTIONS REPORT

executes the notebook ``SRC`` as the plugin's render would (``OPTIONS``: the plugin's config as
JSON, the keys ``build_mkdocs_jupyter.PRE_EXECUTE_OPTIONS``) and writes the page as the plugin's
cache entry ``TARGET``. Exit status 0 when it did; 3 when a cell failed or timed out, with
nbclient's report in the file ``REPORT``; anything else when the worker itself broke (the build
then leaves the lesson to mkdocs-jupyter).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HOOKS = str(Path(__file__).resolve().parent)
if HOOKS not in sys.path:  # run as a script, Python puts it there itself (unless PYTHONSAFEPATH is set)
    sys.path.insert(0, HOOKS)

import build_mkdocs_jupyter  # noqa: E402


def main(argv: list[str]) -> int:
    src, target, options, report = argv[0], Path(argv[1]), json.loads(argv[2]), Path(argv[3])
    toc_depth = options.pop("toc_depth")
    # Two kernels starting at the same instant can pick the same free TCP port; the loser dies before
    # it answers ("Kernel died before replying to kernel_info", zmq "Address already in use"). That is
    # not the lesson's fault: start it again, twice at most.
    for attempt in range(3):
        try:
            body = build_mkdocs_jupyter.render(src, options)
            break
        except Exception as error:  # a failing or timed-out cell: hand nbclient's report to the build
            if "Kernel died before replying to kernel_info" in str(error) and attempt < 2:
                print(f"{src}: the kernel died while starting; starting it again", file=sys.stderr)
                continue
            report.write_text(str(error), encoding="utf-8")
            return 3
    build_mkdocs_jupyter.write_cache_entry(target, src, body, toc_depth)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
