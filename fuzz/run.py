"""Run one fuzz target under Atheris (libFuzzer, coverage-guided over blurkit's bytecode).

    .venv/bin/python fuzz/run.py TARGET [libFuzzer options] [CORPUS_DIR ...]

scripts/fuzz is the usual way in (it bounds the time, keeps new inputs out of the repo and
prints a summary). Only blurkit's own modules are instrumented: the fuzzer is guided by the
branches of our parsers; the libraries behind them (Pillow, libheif, FFmpeg) are exercised,
and a crash or hang inside them is a finding too, but not measured.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BLURKIT_LANG", "en")

import atheris  # noqa: E402

with atheris.instrument_imports(include=["blurkit"]):
    import targets  # noqa: E402

    # import what each target reaches, so that all of it is instrumented up front (a module
    # first imported inside a target, after this block, is not: tests/test_fuzz_corpus.py
    # checks that every module the targets import is named here)
    import blurkit.config  # noqa: E401,F401,E402
    import blurkit.engine.revise
    import blurkit.errors
    import blurkit.media.image
    import blurkit.media.metadata
    import blurkit.media.video  # noqa: E401,F401,E402
    import blurkit.media.videometa
    import blurkit.usecases.enrolment  # noqa: E401,F401,E402
    import blurkit.usecases.uploads
    import blurkit.web.forms
    import blurkit.web.people
    import blurkit.web.review
    import blurkit.web.upload  # noqa: E401,F401,E402


def main() -> None:
    # the target travels in the environment too: libFuzzer runs this script again for
    # -merge and -fork with only its own options
    if len(sys.argv) > 1 and sys.argv[1] in targets.TARGETS:
        os.environ["BLURKIT_FUZZ_TARGET"] = sys.argv.pop(1)
    target = os.environ.get("BLURKIT_FUZZ_TARGET")
    if target not in targets.TARGETS:
        sys.exit(f"usage: run.py TARGET [libFuzzer options]; targets: {', '.join(targets.TARGETS)}")
    import shlex

    # ...and through `sh -c`: argv[0] is run as a command line
    argv = [f"{shlex.quote(sys.executable)} {shlex.quote(str(Path(__file__).resolve()))}",
            *sys.argv[1:]]
    atheris.Setup(argv, targets.TARGETS[target])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
