"""The jobs a person does, in one layer that the command line and the web page both call.

Each module is one area: `review` (the review desk: the queue, a photo or a video, the
corrections, approve and reject), `people` (the consent register: registration, consent
records, withdrawal with its takedown list, removal), `status` (models, registry, queue),
`diarium` (the audit log as people read and export it), `uploads` (files into the inbox).

A use case takes plain values (ids, dates, decisions as dicts, the acting person's name and
role) and returns data: dataclasses, and message ids with their parameters where something
must be said (`Notice`), never sentences; refusals are `BlurkitError`s carrying a message id.
Whoever shows the result words it in the reader's language. Use cases block (SQLite, files,
models): the web page runs them in a thread pool, never on its event loop.
"""
