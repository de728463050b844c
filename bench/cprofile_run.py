"""``python -m bench.cprofile_run OUT PYTHON -m MODULE [ARGS...]``: a server under cProfile.

Runs ``MODULE`` as ``__main__`` with the profiler on and writes its statistics to ``OUT`` when
it ends: on its own exit, or on SIGINT / SIGTERM (``targets.Server.stop``) where it has not
installed handlers of its own. ``PYTHON`` is the interpreter a target's command names
(``targets.start_ours`` and ``start_floor`` put a ``wrap`` command before it); this process
is that interpreter already, so it is skipped. Used by ``bench cpu --per-chunk --calls``.
"""

from __future__ import annotations

import cProfile
import os
import runpy
import signal
import sys
from typing import NoReturn


def main(argv: list[str]) -> NoReturn:
    if len(argv) < 4 or argv[2] != "-m":
        raise SystemExit("usage: python -m bench.cprofile_run OUT PYTHON -m MODULE [ARGS...]")
    out, module, rest = argv[0], argv[3], argv[4:]
    profile = cProfile.Profile()

    def finish(*_: object) -> NoReturn:
        profile.disable()
        profile.dump_stats(out)
        sys.stdout.flush()
        os._exit(0)  # a signal may come in the middle of the server's own shutdown

    signal.signal(signal.SIGINT, finish)
    signal.signal(signal.SIGTERM, finish)
    sys.argv = [module, *rest]
    profile.enable()
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        finish()


if __name__ == "__main__":
    main(sys.argv[1:])
