"""The watch folder: staff drop photos and clips into an inbox, anonymized copies appear in
ready/, and no file is ever lost, not even by a power cut.

Folders (defaults under `<data_dir>/watch/`; folders dropped in keep their structure in each):

    inbox/       where people drop files (a hidden `.blurkit-work/` holds files being processed)
    ready/       the anonymized copies (a hidden `.blurkit-work/` stages them while written)
    originals/   the originals of published copies, kept `keep_days` days, then deleted with
                 an audit entry (0 = deleted as soon as the copy is published and verified);
                 `originals/duplicates/` holds files dropped again, with a note
    failed/      files that could not be anonymized, each with `NAME.reason.txt` (Swedish and
                 English) saying why

A file is taken only when its size and modification time have not changed for `settle`
seconds, it can be opened, and (on Linux, local disks, where a lease can tell) no process has
it open for writing. Temporary and system names are never touched (see `ignored_name`).

Order of operations for one file (see `watchjournal` for the states); each step is recorded
in the journal before or after it happens so that a restart after `kill -9` or a power cut
knows where it stands, and each step can be repeated safely:

 1. claim: journal row (`claimed`) -> rename into the inbox's work area (atomic, same file
    system) -> fsync the file and both folders -> hash -> `queued` (or straight to the end
    as "not a photo or video"). When its turn comes, content already published for the same
    purpose (and still in ready/) is set aside as a duplicate instead of processed.
 2. process: `processing` with attempts+1 is committed before the worker gets the job; the
    worker (a separate process, so a decoder crash cannot take the watcher down) writes the
    output atomically into a fresh staging folder inside ready/ (same file system).
    A restart finds `processing` rows: back to `queued` (the staging folder is wiped), or to
    failed/ once `max_attempts` runs were cut short (a file that crashes the worker cannot
    block the queue).
 3. `finishing` (outcome recorded): choose and record the output's name -> hard-link the
    staged file there (never overwriting) -> fsync -> check its SHA-256 -> `published` ->
    audit entry (its id recorded; after a crash the log is searched for the item's token
    before appending, so there is never a second entry) -> original: choose and record its
    name -> link into originals/ (or failed/, after writing the reason file; or delete it
    when keep_days is 0, with a `retention-delete` audit entry) -> fsync -> unlink from the
    work area -> final state.

With the review stage on (the default), step 3 for an ok result is preceded by review: the
staged output is moved out of ready/ into `<state_dir>/review/ID/...` (`finishing` with
outcome `review` -> `review`); a person approves or rejects it through
`review.ReviewDesk`; approved -> copied back into ready/'s staging area and checked -> the
publish steps above with the reviewer in the audit entry; rejected -> no output, an audit
entry saying so, the original kept as any other (`declined`). See `journal` for the states.

The original is therefore only ever removed from the work area after the copy in ready/ is
complete, fsynced, verified and journalled, and an output only appears in ready/ under its
final name when it is complete. The SHA-256 of every original is kept: content that was
already published (and whose copy is still in ready/) is not processed again.

A full disk pauses the queue (log + `blurkit status`) before anything is written, and the
watcher resumes by itself when space returns; the same happens when the models or the
consent registry cannot be used, and when the clock is earlier than the journal's last
entry (a Raspberry Pi without a real-time clock after a power cut). The consent registry is
re-read before an item whenever its files changed or the date changed (consent validity depends
on the day).

Modules (plain data between them):

    texts       the messages, Swedish and English
    config      WatchConfig, the folders and where the watcher keeps its state
    journal     the SQLite journal: one row per item, every step recorded
    locks       FileLock: one watcher per inbox, one worker per watcher
    workers     ProcessWorker / InlineWorker: the pipeline in a child process
    inbox       which files in the inbox are ready to be taken
    watcher     Watcher: start, stop, recovery, the loop, taking files from the inbox
    processing  the worker gets an item; its outcome is recorded
    finishing   publish, audit entry, the original's disposal, retention
    status      what `blurkit status` shows
    review      ReviewDesk: the API the web app uses for the review stage
The durable file operations (durable_move, link_no_overwrite, ...) are in `blurkit.fsutil`.
"""

from __future__ import annotations

from blurkit.fsutil import (
                            NameTaken,
                            durable_move,
                            free_mb,
                            free_name,
                            is_disk_full,
                            link_no_overwrite,
                            makedirs_durable,
                            remove_empty_parents,
)
from blurkit.i18n import t as T
from blurkit.watch.config import (
                            STATE_DIRS,
                            WatchConfig,
                            default_folders,
                            make_config,
                            state_dir_for,
)
from blurkit.watch.finishing import DUPLICATES, NOTE_SUFFIX
from blurkit.watch.inbox import (
                            InboxTracker,
                            Seen,
                            ignored_name,
                            kind_of,
                            open_for_writing_elsewhere,
)
from blurkit.watch.journal import JOURNAL_DB, WORK_DIR, Journal
from blurkit.watch.locks import FileLock
from blurkit.watch.processing import TIME_SYNCED
from blurkit.watch.review import ReviewConflict, ReviewDesk, ReviewItem
from blurkit.watch.status import known_watches, watch_status
from blurkit.watch.watcher import AlreadyRunning, Pause, Watcher
from blurkit.watch.workers import InlineWorker, ProcessWorker, WorkerStartError, run_job

__all__ = [
    "AlreadyRunning", "DUPLICATES", "FileLock", "InboxTracker", "InlineWorker", "JOURNAL_DB",
    "Journal", "NOTE_SUFFIX", "NameTaken", "Pause", "ProcessWorker", "ReviewConflict", "ReviewDesk",
    "ReviewItem", "STATE_DIRS", "Seen", "T",
    "TIME_SYNCED", "WORK_DIR", "WatchConfig", "Watcher", "WorkerStartError", "default_folders",
    "durable_move", "free_mb", "free_name", "ignored_name", "is_disk_full", "kind_of",
    "known_watches", "link_no_overwrite", "make_config", "makedirs_durable",
    "open_for_writing_elsewhere", "remove_empty_parents", "run_job", "state_dir_for",
    "watch_status",
]
