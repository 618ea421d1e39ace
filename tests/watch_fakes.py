"""Stand-ins for the pipeline's Worker in watch-folder tests (importable by the spawned
worker process: the tests folder is on sys.path there too).

`FakeWorker` copies a photo's bytes as its "anonymized" output, atomically, like the real one;
a file whose name contains "poison" kills the worker process (as a decoder crash would),
one whose name contains "sleepy" takes two minutes (a long video);
content starting with b"NOSPACE" fails the way a full disk does while
`FakeWorker.disk_full` is set (in-process tests only)."""

from __future__ import annotations

import os
import shutil
import time

from blurkit.engine.pipeline import ItemResult
from blurkit.errors import InputError, OutputError
from blurkit.fsutil import atomic_output, sha256_file


class FakeWorker:
    snapshots: list = []          # every snapshot set, in order (in-process tests)
    disk_full = False

    def __init__(self, options) -> None:
        self.options = options
        self.models = {"detector": "fake 1.0"}
        FakeWorker.snapshots.append(("init", options.snapshot))

    def set_snapshot(self, snapshot) -> None:
        FakeWorker.snapshots.append(("set", snapshot))

    def process(self, job) -> ItemResult:
        if "poison" in job.source.name:
            os._exit(3)
        if "sleepy" in job.source.name:
            time.sleep(120)
        data = job.source.read_bytes()
        try:
            if not data:
                raise InputError("image.empty", path=job.source)
            if data.startswith(b"NOSPACE") and FakeWorker.disk_full:
                raise OutputError("image.write_failed", path=job.dest(".jpg"),
                                  reason="No space left on device")
            if data.startswith(b"BAD"):
                raise InputError("image.not_image", path=job.source)
        except (InputError, OutputError) as exc:
            return ItemResult.failed(job.source, job.kind, exc.key, exc.message())
        dest = job.dest(job.source.suffix.lower() or ".jpg")
        with atomic_output(dest) as tmp:
            shutil.copyfile(job.source, tmp)
            with open(tmp, "ab") as fh:
                fh.write(b"anonymized")
        return ItemResult(source=str(job.source), kind=job.kind, output=str(dest),
                          input_sha256=sha256_file(job.source), output_sha256=sha256_file(dest),
                          faces=[{"action": "hidden"}])
