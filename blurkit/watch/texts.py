"""The watch folder's messages (Swedish and English)."""

from __future__ import annotations

from blurkit import i18n


i18n.register({
    "watch.started": {
        "en": "Watching {inbox}: anonymized copies go to {ready} (purpose {purpose}; {mode}). "
              "Originals are kept in {originals} for {keep}, files that cannot be anonymized "
              "go to {failed}.",
        "sv": "Bevakar {inbox}: anonymiserade kopior hamnar i {ready} (syfte {purpose}; {mode}). "
              "Originalen sparas i {originals} i {keep}, filer som inte kan anonymiseras "
              "hamnar i {failed}.",
    },
    "watch.mode.events": {"en": "file events, and a check of the whole folder every {seconds} s",
                          "sv": "filhändelser, och en genomgång av hela mappen med {seconds} s "
                                "mellanrum"},
    "watch.mode.poll": {"en": "checking the folder every {seconds} s",
                        "sv": "går igenom mappen med {seconds} s mellanrum"},
    "watch.keep.days": {"en": "{days} day(s)", "sv": "{days} dag(ar)"},
    "watch.keep.none": {"en": "no time (deleted once the copy is verified)",
                        "sv": "ingen tid (raderas när kopian är kontrollerad)"},
    "watch.stopped": {"en": "The watcher stopped.", "sv": "Bevakningen stoppades."},
    "watch.done": {
        "en": "{name}: anonymized into {output} ({hidden} face(s) hidden, {shown} shown with "
              "consent).",
        "sv": "{name}: anonymiserad till {output} ({hidden} ansikte(n) dolda, {shown} visade "
              "med samtycke).",
    },
    "watch.failed": {"en": "{name}: could not be anonymized, moved to {dest}: {reason}",
                     "sv": "{name}: kunde inte anonymiseras, flyttad till {dest}: {reason}"},
    "watch.duplicate": {
        "en": "{name}: the same file was already anonymized ({other}); no second copy was made. "
              "Moved to {dest}.",
        "sv": "{name}: samma fil har redan anonymiserats ({other}); ingen andra kopia gjordes. "
              "Flyttad till {dest}.",
    },
    "watch.retention_deleted": {
        "en": "{path}: original deleted after {days} day(s), as configured.",
        "sv": "{path}: originalet raderat efter {days} dag(ar), enligt inställningen.",
    },
    "watch.retention_not_ours": {
        "en": "{path}: not deleted: the file there is no longer the original blurkit kept.",
        "sv": "{path}: raderades inte: filen där är inte längre originalet som blurkit sparade.",
    },
    "watch.already_running": {
        "en": "Another watcher is already processing {inbox} (process {pid}). Stop it first, "
              "or check it with: blurkit status",
        "sv": "En annan bevakning behandlar redan {inbox} (process {pid}). Stoppa den först, "
              "eller se hur det går med: blurkit status",
    },
    "watch.waiting_for_worker": {
        "en": "Waiting for the worker of the previous run to stop...",
        "sv": "Väntar på att förra körningens arbetsprocess ska sluta...",
    },
    "watch.bad_folders": {
        "en": "{a} and {b} must be different folders, and neither may be inside the other.",
        "sv": "{a} och {b} måste vara olika mappar, och ingen av dem får ligga i den andra.",
    },
    "watch.no_parent": {
        "en": "{path}: the folder above it does not exist (is a network share not mounted?).",
        "sv": "{path}: mappen ovanför finns inte (är en nätverksresurs inte ansluten?).",
    },
    "watch.events_unavailable": {
        "en": "File events are not available ({reason}); checking the folder every {seconds} s "
              "instead.",
        "sv": "Filhändelser är inte tillgängliga ({reason}); går igenom mappen med {seconds} s "
              "mellanrum i stället.",
    },
    "watch.inbox_unreachable": {
        "en": "The inbox {path} cannot be read ({reason}); trying again.",
        "sv": "Inkorgen {path} kan inte läsas ({reason}); försöker igen.",
    },
    "watch.cannot_take": {
        "en": "{name}: cannot be taken from the inbox ({reason}); trying again later.",
        "sv": "{name}: kan inte tas från inkorgen ({reason}); försöker igen senare.",
    },
    "watch.paused.disk_full": {
        "en": "Paused: only {free_mb} MB free on {path}, {need_mb} MB needed. Nothing is "
              "written until there is room; the queue continues by itself.",
        "sv": "Pausad: bara {free_mb} MB ledigt på {path}, {need_mb} MB behövs. Inget skrivs "
              "förrän det finns plats; kön fortsätter av sig själv.",
    },
    "watch.paused.models": {
        "en": "Paused: the models cannot be loaded: {reason}",
        "sv": "Pausad: modellerna kan inte laddas: {reason}",
    },
    "watch.paused.registry": {
        "en": "Paused: the consent registry cannot be read: {reason}",
        "sv": "Pausad: samtyckesregistret kan inte läsas: {reason}",
    },
    "watch.paused.output": {
        "en": "Paused: anonymized copies cannot be written: {reason}. Trying again in a minute.",
        "sv": "Pausad: anonymiserade kopior kan inte skrivas: {reason}. Försöker igen om en "
              "minut.",
    },
    "watch.paused.error": {
        "en": "Paused after an unexpected error: {reason}. Trying again in {seconds} s.",
        "sv": "Pausad efter ett oväntat fel: {reason}. Försöker igen om {seconds} s.",
    },
    "watch.paused.clock": {
        "en": "Paused: the clock says {now}, earlier than blurkit's last work ({latest}); it "
              "was probably reset by a power cut. Consent validity depends on the date, so "
              "nothing is processed until the clock is right (network time, or: sudo date -s).",
        "sv": "Pausad: klockan säger {now}, tidigare än blurkits senaste arbete ({latest}); "
              "den har troligen ställts om av ett strömavbrott. Samtyckens giltighet beror på "
              "datumet, så inget behandlas förrän klockan går rätt (nättid, eller: sudo date -s).",
    },
    "watch.resumed": {"en": "Resumed.", "sv": "Fortsätter."},
    "watch.worker_died": {
        "en": "{name}: the worker process stopped while processing it ({reason}); attempt "
              "{attempt} of {max}.",
        "sv": "{name}: arbetsprocessen avbröts under behandlingen ({reason}); försök {attempt} "
              "av {max}.",
    },
    "watch.requeued": {
        "en": "{name}: processing was interrupted; it will be processed again.",
        "sv": "{name}: behandlingen avbröts; filen behandlas igen.",
    },
    "watch.reason.not_media": {
        "en": "{name}: this is not a photo or video file. Photos (JPEG, PNG, WebP, TIFF, HEIC, "
              "AVIF) and videos (MP4, MOV, MKV, AVI, WebM, ...) are anonymized.",
        "sv": "{name}: det här är inte en foto- eller videofil. Foton (JPEG, PNG, WebP, TIFF, "
              "HEIC, AVIF) och videor (MP4, MOV, MKV, AVI, WebM, ...) anonymiseras.",
    },
    "watch.reason.crashed": {
        "en": "{name}: processing was cut short {n} times (the program stopped or crashed while "
              "working on this file); nothing was published from it.",
        "sv": "{name}: behandlingen avbröts {n} gånger (programmet stannade eller kraschade "
              "medan det arbetade med filen); inget publicerades från den.",
    },
    "watch.reason.timeout": {
        "en": "{name}: processing was stopped after {seconds} s without an answer (a damaged "
              "or hostile file can make a reader hang); nothing was published from it, and "
              "the files after it went on.",
        "sv": "{name}: behandlingen stoppades efter {seconds} s utan svar (en skadad eller "
              "fientlig fil kan få en läsare att hänga sig); inget publicerades från den, och "
              "filerna efter den behandlades vidare.",
    },
    "watch.reason.vanished": {
        "en": "{name}: the file disappeared from blurkit's work folder before it was "
              "processed; nothing was published from it.",
        "sv": "{name}: filen försvann ur blurkits arbetsmapp innan den behandlades; inget "
              "publicerades från den.",
    },
    "watch.note.failed": {
        "en": "ENGLISH\nblurkit could not anonymize this file, so nothing was published from "
              "it.\nFile: {name}\nReason: {reason}\nWhat to do: check the file (open it, or "
              "export it again from the camera or phone) and drop it into the inbox again. "
              "If it keeps failing, ask the person who looks after blurkit.",
        "sv": "SVENSKA\nblurkit kunde inte anonymisera den här filen, så inget publicerades "
              "från den.\nFil: {name}\nOrsak: {reason}\nVad du kan göra: kontrollera filen "
              "(öppna den, eller exportera den igen från kameran eller telefonen) och lägg den "
              "i inkorgen igen. Om det fortsätter att misslyckas, fråga den som sköter blurkit.",
    },
    "watch.note.duplicate": {
        "en": "ENGLISH\nThis file is identical to {other}, {status} No second copy was made. "
              "This file is deleted after {days} day(s).",
        "sv": "SVENSKA\nDen här filen är identisk med {other}, {status} Ingen andra kopia "
              "gjordes. Den här filen raderas efter {days} dag(ar).",
    },
    "watch.note.twin_done": {"en": "which was already anonymized: {output}.",
                             "sv": "som redan har anonymiserats: {output}."},
    "watch.note.twin_review": {"en": "which is waiting for review.",
                               "sv": "som väntar på granskning."},
    "watch.review_on": {
        "en": "Review is on: each anonymized copy waits for a person's approval (blurkit "
              "serve) before it goes to {ready}.",
        "sv": "Granskning är på: varje anonymiserad kopia väntar på att en person godkänner "
              "den (blurkit serve) innan den hamnar i {ready}.",
    },
    "watch.in_review": {
        "en": "{name}: anonymized, waiting for review ({hidden} face(s) hidden, {shown} shown "
              "with consent).",
        "sv": "{name}: anonymiserad, väntar på granskning ({hidden} ansikte(n) dolda, {shown} "
              "visade med samtycke).",
    },
    "watch.declined": {
        "en": "{name}: rejected in review by {by}; nothing was published. Original: {dest}",
        "sv": "{name}: underkänd vid granskningen av {by}; inget publicerades. Original: {dest}",
    },
    "review.rejected": {
        "en": "Rejected in review: nothing was published.",
        "sv": "Underkänd vid granskningen: inget publicerades.",
    },
    "review.conflict": {
        "en": "Item {id} changed meanwhile (now: {state}, version {revision}); reload the page "
              "and look again.",
        "sv": "Objekt {id} har ändrats under tiden (nu: {state}, version {revision}); ladda om "
              "sidan och titta igen.",
    },
    "watch.note.twin_busy": {"en": "which is being anonymized right now.",
                             "sv": "som håller på att anonymiseras."},
})
T = i18n.t
