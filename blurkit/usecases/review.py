"""The review desk as a person uses it: the queue, one photo or video, the corrections,
approve and reject. The web page is a shell over this; the watch folder's journal
(`blurkit.watch.review.ReviewDesk`) is where items, revisions, decisions and waiting
corrections live.

The rules this layer keeps, whatever calls it:
- nothing is approved that the reviewer has not been shown: a photo's display copy must have
  been made for its current output, a video's output must exist;
- a face is shown only on grounds: a person with a valid consent for the purpose AND face
  templates; the similarity recorded is that person's; below `CONFIRM_FLOOR` (or when the
  face cannot be compared) only a registrar may confirm, with a reason; un-hiding a
  confidently detected face needs an explicit confirmation;
- consent is checked again at approval: an output that shows someone who may no longer be
  shown (a withdrawal meanwhile) is rendered again without them before anything is approved;
- derived copies (previews, stills) of an item are deleted when it is approved or rejected.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from blurkit.audit import AuditLog, utc_now
from blurkit.errors import BlurkitError
from blurkit.identify.suggest import CONFIRM_FLOOR, may_confirm
from blurkit.usecases.common import NotFound, Refused, valid_id
from blurkit.usecases.consentview import ConsentView, Showable
from blurkit.usecases.previews import Previews
from blurkit.watch.review import ReviewDesk, ReviewItem

PAGE_SIZE = 60
# A detection this sure is a face: un-hiding it ("not a face") must be confirmed.
CONFIDENT_SCORE = 0.5
# Video tracks hidden because the machine was not sure (not because they are someone else).
UNSURE_TRACK = ("ambiguous", "too_few_clear_frames", "too_many_unclear_frames")


# --------------------------------------------------------------------------- plain data

@dataclass(frozen=True)
class Counts:
    faces: int          # faces a person would call faces, hidden
    areas: int          # further hidden areas (weak detections, drawn regions)
    shown: int          # faces shown (consent, or a reviewer's confirmation)


@dataclass
class QueueRow:
    item: ReviewItem
    flags: list[str]
    counts: Counts


@dataclass
class QueuePage:
    rows: list[QueueRow]
    total: int
    offset: int
    page_size: int
    recent: list[ReviewItem]


@dataclass
class ItemView:
    item: ReviewItem
    report: dict
    machine: dict
    faces: list[dict]              # every face of the current report, numbered as the machine's
    candidates: list[dict]
    regions: list
    decisions: list[dict]
    pending: list[dict]            # a video's corrections, rendered at approval
    flags: list[str]
    counts: Counts
    prev_id: int | None
    next_id: int | None
    showable: list[Showable]
    names: dict[int, str]
    editable: bool
    width: int
    height: int
    duration: float | None
    showable_ids: set[int] = field(default_factory=set)           # of `showable`
    pointers: list[dict] = field(default_factory=list)            # the second look's places
    clear: list[tuple[int, dict]] = field(default_factory=list)   # (machine index, face)
    weak: list[tuple[int, dict]] = field(default_factory=list)    # the hidden-areas layer
    labels: dict[int, str] = field(default_factory=dict)          # machine index -> "3" | "Y2"


@dataclass
class Option:
    """A person a reviewer may name for a face, with the similarity of THIS face to THAT
    person's templates (None: the face could not be compared)."""
    person: Showable
    similarity: float | None
    needs_registrar: bool


@dataclass
class Suggestions:
    face: int
    options: list[Option]
    compared: bool                 # the face could be compared with templates at all
    floor: float = CONFIRM_FLOOR


@dataclass
class Verdict:
    next_id: int | None
    rendering: bool = False        # a video's corrections are being rendered first


@dataclass
class RenderJob:
    item_id: int
    reviewer: str
    phase: str = "start"
    done: int = 0
    total: int = 0
    finished: bool = False
    error: BlurkitError | None = None
    next_id: int | None = None


# --------------------------------------------------------------------------- rules on reports

def machine_part(report: dict) -> dict:
    from blurkit.engine.revise import machine_part as machine

    return machine(report or {})


def is_clear_face(face: dict) -> bool:
    """A face a person would call a face (`engine.secondlook.people`: scored >= 0.4 and at
    least 16 px tall), or one someone is shown as, suggested for or decided about by a
    person. Weaker detections are "hidden areas" (a crowd's blurred background heads, knees,
    fists) that the page shows as one layer and counts separately."""
    from blurkit.engine.secondlook.people import is_clear

    return is_clear(face, "photo")


def pointers(report: dict) -> list[dict]:
    """The places the second look points at (`extra.pointers`: box, kind, why, score and,
    in a video, time), each with `handled`: a person has since hidden that place (a region
    covering most of it)."""
    regions = [d["box"] for d in (report or {}).get("decisions", [])
               if d.get("action") == "hide_region" and d.get("box")]
    out = []
    for p in ((report or {}).get("extra") or {}).get("pointers") or []:
        box = p.get("box") or [0, 0, 0, 0]
        handled = any(_covered_share(box, r) >= 0.5 for r in regions)
        out.append(dict(p, handled=handled))
    return out


def _covered_share(box, region) -> float:
    ix = max(0.0, min(box[2], region[2]) - max(box[0], region[0]))
    iy = max(0.0, min(box[3], region[3]) - max(box[1], region[1]))
    return ix * iy / max((box[2] - box[0]) * (box[3] - box[1]), 1e-6)


def track_to_judge(track: dict) -> bool:
    """A video track a reviewer should look at: shown, decided by a person, compared with
    someone enrolled, or a face large and long enough to be recognised (>= 40 px, >= 1 s
    with a confident detection). The rest (short, small, dark, weak) are grouped."""
    if track.get("action") == "shown" or str(track.get("reason", "")).startswith("reviewer"):
        return True
    if any(v.get("similarity") is not None for v in track.get("votes") or []):
        return True
    box = track.get("box") or [0, 0, 0, 0]
    side = min(box[2] - box[0], box[3] - box[1])
    seconds = float(track.get("last_time") or 0) - float(track.get("first_time") or 0)
    return side >= 40 and seconds >= 1.0 and float(track.get("max_score") or 0) >= CONFIDENT_SCORE


def counts(report: dict, kind: str = "photo") -> Counts:
    """People, not detections (`engine.secondlook.people.report_counts`), as the command
    line and the log count them."""
    from blurkit.engine.secondlook.people import report_counts

    faces, areas = report_counts(report, kind)
    shown = sum(1 for f in (report or {}).get("faces", []) if f.get("action") == "shown")
    return Counts(faces, areas, shown)


def flags(item: ReviewItem) -> list[str]:
    """What asks a reviewer to look twice (message ids). A possible miss is flagged exactly
    when the second look left a pointer (`engine.secondlook.needs_look`)."""
    from blurkit.engine.secondlook import needs_look

    report = item.report or {}
    out = []
    if needs_look(report):
        out.append("web.flag.look")
    extra = report.get("extra") or {}
    if extra.get("hidden_again") or extra.get("frames_hidden_again"):    # photo / video
        out.append("web.flag.self_check")
    if any(f.get("suggestion") for f in report.get("faces", [])
           if f.get("action") == "hidden"):
        out.append("web.flag.suggestion")
    if item.kind == "video" and any(f.get("reason") in UNSURE_TRACK
                                    for f in report.get("faces", [])):
        out.append("web.flag.ambiguous_track")
    return out


# --------------------------------------------------------------------------- the service

class ReviewService:
    """One per app (or command): the desk, today's consent view, the preview cache and the
    video renders. Its methods block; the web runs them in a thread pool."""

    def __init__(self, settings, watch, previews: Previews | None = None,
                 consent: ConsentView | None = None) -> None:
        self.settings = settings
        self.watch = watch
        self.desk = ReviewDesk(watch.state_dir)
        self.consent = consent or ConsentView(settings)
        self.previews = previews or Previews(Path(settings.data_dir) / "web-cache")
        self.renders: dict[int, RenderJob] = {}
        self._render_lock = threading.Lock()        # one video render at a time
        self._worker = None
        self.sweep()

    def close(self) -> None:
        self.desk.close()

    # reading -----------------------------------------------------------------------------

    def _get(self, item_id, in_review: bool = False) -> ReviewItem:
        number = valid_id(item_id)
        item = self.desk.get(number) if number is not None else None
        if item is None or (in_review and (item.state != "review" or item.output is None)):
            raise NotFound()
        return item

    def neighbours(self, item_id: int) -> tuple[int | None, int | None]:
        """The items before and after `item_id` in the queue (after: wrapping round)."""
        ids = self.desk.pending_ids()
        before = [i for i in ids if i < item_id]
        after = [i for i in ids if i > item_id]
        return (before[-1] if before else None), (after[0] if after else
                                                  next((i for i in ids if i != item_id), None))

    def queue(self, offset: int = 0, limit: int = PAGE_SIZE) -> QueuePage:
        offset = max(0, int(offset))
        items = self.desk.pending(limit=limit, offset=offset)
        rows = [QueueRow(i, flags(i), counts(i.report, i.kind)) for i in items]
        return QueuePage(rows, self.desk.count_pending(), offset, limit,
                         self.desk.recent(limit=10))

    def item(self, item_id) -> ItemView:
        it = self._get(item_id)
        prev_id, next_id = self.neighbours(it.id)
        report = it.report or {}
        machine = machine_part(report)
        editable = it.state == "review"
        faces = report.get("faces", [])
        judge = track_to_judge if it.kind == "video" else is_clear_face
        clear = [(i, f) for i, f in enumerate(faces) if judge(f)]
        weak = [(i, f) for i, f in enumerate(faces) if (i, f) not in clear]
        labels = {i: str(n) for n, (i, _) in enumerate(clear, 1)}
        labels.update({i: f"Y{n}" for n, (i, _) in enumerate(weak, 1)})
        showable = self.consent.showable(it.purpose) if editable else []
        return ItemView(
            item=it, report=report, machine=machine, faces=report.get("faces", []),
            # older reports: the detector's candidates; newer ones point through the second look
            candidates=([] if "pointers" in (report.get("extra") or {})
                        else machine.get("candidates", [])),
            regions=report.get("hidden_regions", []),
            decisions=report.get("decisions", []), pending=it.pending if editable else [],
            flags=flags(it), counts=counts(report, it.kind), prev_id=prev_id, next_id=next_id,
            showable=showable, names=self.consent.names(), editable=editable,
            width=int(report.get("width") or 1), height=int(report.get("height") or 1),
            duration=report.get("duration"), clear=clear, weak=weak, labels=labels,
            showable_ids={p.person_id for p in showable}, pointers=pointers(report))

    def preview(self, item_id, size: str) -> Path:
        """The display copy or thumbnail of an item's output (made now if needed). A copy
        that cannot be made is a refusal with the reason, and approval stays impossible."""
        it = self._get(item_id)
        if it.output is None or not it.output.is_file():
            raise NotFound()
        try:
            return self.previews.get(it.id, it.output, it.out_sha256 or "", it.kind, size)
        except (OSError, ValueError, MemoryError) as exc:
            raise Refused("review.no_preview", reason=type(exc).__name__) from exc
        except Exception as exc:            # a decoder's own error types (PIL, av)
            raise Refused("review.no_preview", reason=type(exc).__name__) from exc

    def track_still(self, item_id, track_id: int) -> Path:
        it = self._get(item_id)
        track = next((t for t in (it.report or {}).get("faces", [])
                      if t.get("id") == track_id), None)
        if it.kind != "video" or it.output is None or not it.output.is_file() \
                or track is None or "box" not in track:
            raise NotFound()
        return self.previews.track_still(it.id, it.output, it.out_sha256 or "", track)

    def video_file(self, item_id) -> Path:
        it = self._get(item_id)
        if it.kind != "video" or it.output is None or not it.output.is_file():
            raise NotFound()
        return it.output

    def original_jpeg(self, item_id, viewer: str) -> bytes:
        """The original as a display JPEG, only on explicit request, never cached; every
        view gets an audit entry (who looked at which original)."""
        from blurkit.media.reduced import display_jpeg

        it = self._get(item_id)
        if it.original is None or not it.original.is_file() or it.kind != "photo":
            raise NotFound()
        # decoded at display size (DCT scaling, strips): a huge original stays small here
        data = display_jpeg(it.original)
        with AuditLog.open(self.settings) as audit:
            audit.append({"kind": "original-viewed", "purpose": it.purpose,
                          "input_path": str(Path(self.watch.inbox) / it.rel),
                          "input_sha256": it.sha256, "operator": viewer,
                          "details": {"source": "web", "item": it.id}})
        return data

    # suggestions -------------------------------------------------------------------------

    def _similarities(self, it: ReviewItem, face: dict) -> dict[int, float] | None:
        """person id -> similarity of `face` (of the photo's original) to that person's own
        templates; None when the face fails the quality gate or nobody has templates."""
        rec = self.consent.recognizer()
        if rec is None or it.original is None:
            return None
        import numpy as np

        from blurkit.detect.common import Detection
        from blurkit.media.image import read_photo

        photo = read_photo(it.original)
        lm = face.get("landmarks")
        det = Detection(box=tuple(face["box"]), score=float(face.get("score", 1.0)),
                        landmarks=np.array(lm, np.float32) if lm else None,
                        detector=face.get("detector", "?"))
        vector, _quality = rec.embed(photo.pixels, det)
        if vector is None:
            return None
        scores = rec.gallery.person_scores(np.asarray([vector]))[0]
        return {int(pid): float(s) for pid, s in zip(rec.gallery.person_ids, scores,
                                                     strict=True)}

    def suggestions(self, item_id, face_index: int) -> Suggestions:
        """The people a reviewer may name for hidden face `face_index` of a photo, nearest
        first, each with this face's similarity to that person's templates."""
        it = self._get(item_id, in_review=True)
        faces = machine_part(it.report).get("faces", [])
        if it.kind != "photo" or not 0 <= face_index < len(faces):
            raise NotFound()
        sims = self._similarities(it, faces[face_index])
        options = []
        for person in self.consent.showable(it.purpose):
            s = (sims or {}).get(person.person_id)
            options.append(Option(person, s, s is None or s < CONFIRM_FLOOR))
        options.sort(key=lambda o: (-(o.similarity if o.similarity is not None else -1.0),
                                    o.person.name.casefold()))
        return Suggestions(face_index, options, sims is not None)

    # corrections -------------------------------------------------------------------------

    def _grounds(self, it: ReviewItem, decision: dict, role: str | None) -> dict:
        """A "show" decision checked against the rules, with its grounds written into it."""
        person_id = decision.get("person_id")
        person = next((p for p in self.consent.showable(it.purpose)
                       if p.person_id == person_id), None)
        if person is None:
            raise Refused("review.show_not_allowed", person_id=person_id)
        if it.kind == "photo":
            faces = machine_part(it.report).get("faces", [])
            sims = self._similarities(it, faces[decision["face"]])
            similarity = (sims or {}).get(person_id)
        else:
            similarity = track_similarity(it.report, decision["track"], person_id)
            track = next((t for t in machine_part(it.report).get("faces", [])
                          if t.get("id") == decision["track"]), {})
            sug = track.get("suggestion") or {}
            if sug.get("person_id") == person_id and sug.get("similarity") is not None:
                similarity = float(sug["similarity"])     # the track's mean template
        reason = str(decision.get("reason") or "").strip()
        check = may_confirm(similarity, role or "", has_templates=person.templates > 0,
                            consent_valid=True)       # both true for a showable person
        if not check.allowed:
            if check.verdict == "registrar_only":
                raise Refused("review.show_registrar_only",
                              similarity="–" if similarity is None else f"{similarity:.3f}")
            raise Refused(check.reason_key)
        if check.needs_reason and not reason:
            raise Refused("review.show_reason_needed")
        grounds = "match" if check.verdict == "ok" else "registrar"
        out = dict(decision, grounds=grounds, consent_id=person.consent_id,
                   similarity=None if similarity is None else round(similarity, 4))
        if reason:
            out["reason"] = reason[:300]
        return out

    def correct(self, item_id, revision: int, decision: dict, reviewer: str,
                role: str | None, confirmed: bool = False) -> None:
        """Add one correction. A photo is rendered again at once; a video's corrections are
        kept and rendered once at approval."""
        it = self._get(item_id, in_review=True)
        if revision != it.revision:
            raise Refused("web.err.changed")
        decision = dict(decision, by=reviewer, at=utc_now()[:19] + "Z")
        action = decision.get("action")
        if action in ("show", "show_track"):
            decision = self._grounds(it, decision, role)
        if action == "unhide" and not confirmed:
            faces = machine_part(it.report).get("faces", [])
            i = decision.get("face")
            if isinstance(i, int) and 0 <= i < len(faces) \
                    and float(faces[i].get("score") or 0) >= CONFIDENT_SCORE:
                raise Refused("review.unhide_confirm", score=f"{faces[i]['score']:.2f}")
        if it.kind == "video":
            self._set_video_pending(it, it.pending + [decision])
        else:
            self._render_photo(it, list(it.report.get("decisions", [])) + [decision])

    def undo(self, item_id, revision: int, index: int) -> None:
        it = self._get(item_id, in_review=True)
        if revision != it.revision:
            raise Refused("web.err.changed")
        current = it.pending if it.kind == "video" else list(it.report.get("decisions", []))
        if not 0 <= index < len(current):
            raise Refused("web.err.bad_input")
        rest = current[:index] + current[index + 1:]
        if it.kind == "video":
            self._set_video_pending(it, rest)
        else:
            self._render_photo(it, rest)

    def _set_video_pending(self, it: ReviewItem, decisions: list[dict]) -> None:
        from blurkit.engine.revise_video import check_video_decisions, machine_tracks

        r = it.report or {}
        decisions = check_video_decisions(decisions, machine_tracks(r), r.get("width") or 1,
                                          r.get("height") or 1, r.get("duration"))
        self.desk.set_pending(it.id, decisions, it.revision)

    def _render_photo(self, it: ReviewItem, decisions: list[dict],
                      refuse_invalid_show: bool = True) -> ReviewItem:
        """Render the photo again from its original with `decisions`; the new revision."""
        from blurkit.engine.redact import Style
        from blurkit.engine.revise import render_photo

        s = self.settings
        dest = self.desk.new_render_path(it.id, it.output.name)
        report = render_photo(it.original, it.report, decisions, dest,
                              snapshot=self.consent.snapshot(), purpose=it.purpose,
                              jpeg_quality=s.jpeg_quality,
                              style=Style(mode=s.mode, mask=s.mask, margin=s.margin),
                              refuse_invalid_show=refuse_invalid_show)
        new = self.desk.replace_output(it.id, dest, report, it.revision)
        self.previews.keep_only(it.id, new.out_sha256 or "")
        return new

    # consent changes ---------------------------------------------------------------------

    def no_longer_shown(self, it: ReviewItem) -> list[int]:
        """The people the item's output shows who may not be shown for it any more."""
        out = []
        for s in (it.report or {}).get("shown") or []:
            verdict = self.consent.may_be_shown(s["person_id"], it.purpose)
            if verdict is None or not verdict.valid:
                out.append(s["person_id"])
        return out

    def redecide(self, item_id, progress=None) -> bool:
        """Render a waiting item again with today's consent (a withdrawal meanwhile): a
        photo at once, a video too (its reviewer's shows of people no longer allowed are
        dropped). True when it was rendered again."""
        it = self._get(item_id, in_review=True)
        gone = set(self.no_longer_shown(it))
        pending_shows = [d for d in it.pending if d.get("action") == "show_track"
                         and self.consent.may_be_shown(d["person_id"], it.purpose) is not None
                         and not self.consent.may_be_shown(d["person_id"], it.purpose).valid]
        if not gone and not pending_shows:
            return False
        if it.kind == "photo":
            self._render_photo(it, list(it.report.get("decisions", [])),
                               refuse_invalid_show=False)
            return True
        keep = [d for d in it.pending if d not in pending_shows]
        done = [d for d in (it.report or {}).get("decisions", [])
                if not (d.get("action") == "show_track" and d.get("person_id") in gone)]
        report = self._render_video(it, done + keep, progress)
        new = self.desk.replace_output(it.id, Path(report["output"]), report, it.revision)
        self.desk.set_pending(it.id, [], new.revision)
        self.previews.keep_only(it.id, new.out_sha256 or "")
        return True

    def waiting_with(self, person_id: int) -> list[int]:
        """Items waiting in review whose output or waiting corrections show the person."""
        out = []
        for it in self.desk.pending():
            shown = {s["person_id"] for s in (it.report or {}).get("shown") or []}
            shown |= {d.get("person_id") for d in it.pending if d.get("action") == "show_track"}
            if person_id in shown:
                out.append(it.id)
        return out

    # verdicts ----------------------------------------------------------------------------

    def approve(self, item_id, revision: int | None, reviewer: str) -> Verdict:
        it = self._get(item_id, in_review=True)
        if revision != it.revision:
            raise Refused("web.err.changed")
        if self.no_longer_shown(it):
            self.redecide(it.id)
            raise Refused("review.consent_changed")
        if it.kind == "photo" and not self.previews.exists(it.id, it.out_sha256 or "",
                                                           "display"):
            raise Refused("review.not_seen")
        _, next_id = self.neighbours(it.id)
        if it.kind == "video" and it.pending:
            self._start_render(it, reviewer, next_id)
            return Verdict(next_id, rendering=True)
        self.desk.approve(it.id, reviewer, list((it.report or {}).get("decisions", [])),
                          it.revision)
        self.previews.forget(it.id)
        return Verdict(next_id)

    def reject(self, item_id, revision: int | None, reviewer: str) -> Verdict:
        it = self._get(item_id, in_review=True)
        if revision != it.revision:
            raise Refused("web.err.changed")
        _, next_id = self.neighbours(it.id)
        self.desk.reject(it.id, reviewer, list((it.report or {}).get("decisions", [])),
                         it.revision)
        self.previews.forget(it.id)
        return Verdict(next_id)

    def sweep(self) -> None:
        """Delete the derived copies of items no longer waiting in review."""
        waiting = set(self.desk.pending_ids())
        folder = self.previews.folder
        if not folder.is_dir():
            return
        for p in folder.glob("*.jpg"):
            head = p.name.split("-", 1)[0]
            if head.isdigit() and int(head) not in waiting:
                p.unlink(missing_ok=True)

    # video renders -----------------------------------------------------------------------

    def _video_worker(self, purpose: str):
        import dataclasses

        from blurkit.engine import Worker, watch_options

        if self._worker is None:                    # the models, loaded once
            self._worker = Worker(watch_options(self.settings, purpose))
        self._worker.options = dataclasses.replace(self._worker.options, purpose=purpose)
        self._worker.set_snapshot(self.consent.snapshot())
        return self._worker

    def _render_video(self, it: ReviewItem, decisions: list[dict], progress=None) -> dict:
        from blurkit.engine.revise_video import render_video

        with self._render_lock:
            worker = self._video_worker(it.purpose)
            dest = self.desk.new_render_path(it.id, it.output.name)
            return render_video(it.original, it.report, decisions, dest, worker=worker,
                                snapshot=self.consent.snapshot(), purpose=it.purpose,
                                progress=progress)

    def _start_render(self, it: ReviewItem, reviewer: str, next_id: int | None) -> RenderJob:
        job = self.renders.get(it.id)
        if job is not None and not job.finished:
            return job
        job = self.renders[it.id] = RenderJob(it.id, reviewer, next_id=next_id)
        decisions = list((it.report or {}).get("decisions", [])) + it.pending

        def progress(phase, done, total):
            job.phase, job.done, job.total = phase, done, total

        def run():
            try:
                report = self._render_video(it, decisions, progress)
                new = self.desk.replace_output(it.id, Path(report["output"]), report,
                                               it.revision)
                self.desk.set_pending(it.id, [], new.revision)
                self.desk.approve(it.id, reviewer, report["decisions"], new.revision)
                self.previews.forget(it.id)
            except BlurkitError as exc:
                job.error = exc
            except Exception as exc:            # shown on the page; the item stays in review
                job.error = BlurkitError("review.render_failed",
                                         reason=f"{type(exc).__name__}: {exc}")
            finally:
                job.finished = True

        threading.Thread(target=run, name=f"blurkit-render-{it.id}", daemon=True).start()
        return job

    def render_job(self, item_id) -> RenderJob | None:
        number = valid_id(item_id)
        return self.renders.get(number) if number is not None else None


@dataclass(frozen=True)
class WatchPlace:
    """Where a watch folder's review desk is, for use cases run outside `blurkit serve`
    (the command line's withdrawal): its state folder and its inbox."""
    state_dir: Path
    inbox: Path


def review_services(settings, own: ReviewService | None = None) -> list[ReviewService]:
    """A review service for every watch folder this data directory knows (`own` reused for
    its own folder). The caller closes those it did not pass in."""
    from blurkit.watch import Journal, known_watches
    from blurkit.watch.journal import JOURNAL_DB

    out = [own] if own is not None else []
    for state_dir in known_watches(settings.data_dir):
        if own is not None and Path(state_dir).resolve() == Path(own.watch.state_dir).resolve():
            continue
        journal = Journal.open_existing(Path(state_dir) / JOURNAL_DB)
        if journal is None:
            continue
        try:
            inbox = journal.inbox
        finally:
            journal.close()
        if inbox:
            out.append(ReviewService(settings, WatchPlace(Path(state_dir), Path(inbox))))
    return out


def track_similarity(report: dict, track_id: int, person_id: int) -> float | None:
    """The best similarity a video track's sampled frames had to a person."""
    from blurkit.engine.revise_video import machine_tracks

    track = next((t for t in machine_tracks(report or {}) if t.get("id") == track_id), None)
    votes = track.get("votes") if track else None
    if not isinstance(votes, list):
        return None
    sims = [v.get("similarity") for v in votes
            if v.get("person_id") == person_id and v.get("similarity") is not None]
    return max(sims) if sims else None
