"""The engine: one item through the flow, photos and video alike.

    read -> detect -> identify -> decide -> hide -> write (verified, atomic) -> audit

Its one entry point is `Worker` (models loaded once per process; `Worker.process(job)` never
raises, every failure is an error result) with `plan()` (inputs -> jobs) and `run()` (jobs
over worker processes). Everything above the engine (the watch folder, the use cases, the
command line, the web page) goes through these names:

    from blurkit.engine import Options, Worker, plan, run

Inside: `pipeline` (planning, results, the worker, the batch runner), `videoflow` (a clip:
tracks, votes, two passes), `decide` and `vote` (who may be shown), `track` (video face
tracks), `redact` (hiding styles and masks), `revise` / `revise_video` (a reviewer's
decisions replayed on the original).

The names are imported on first use (PEP 562), so `import blurkit.engine.track` does not load
the pipeline, its models' runtimes or Pillow.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ItemResult": "pipeline", "Job": "pipeline", "Options": "pipeline", "Plan": "pipeline",
    "Worker": "pipeline", "audit_entry": "pipeline", "plan": "pipeline", "run": "pipeline",
    "watch_options": "pipeline", "MEDIA_SUFFIXES": "pipeline", "VIDEO_SUFFIXES": "pipeline",
    "default_workers": "cores", "Style": "redact",
    "render_photo": "revise", "machine_part": "revise",
    "render_video": "revise_video",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'blurkit.engine' has no attribute {name!r}")
    return getattr(importlib.import_module(f"blurkit.engine.{module}"), name)
