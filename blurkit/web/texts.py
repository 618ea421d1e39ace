"""The words of the staff web page, Swedish and English (Swedish is the default)."""

from blurkit import i18n

i18n.register({
    "web.skip": {"en": "Skip to content", "sv": "Hoppa till innehållet"},
    "web.nav.label": {"en": "Main menu", "sv": "Huvudmeny"},
    "web.nav.review": {"en": "Review", "sv": "Granska"},
    "web.nav.upload": {"en": "Upload", "sv": "Ladda upp"},
    "web.nav.status": {"en": "Status", "sv": "Driftläge"},
    "web.nav.people": {"en": "Consent register", "sv": "Samtyckesregister"},
    "web.nav.diarium": {"en": "Diarium", "sv": "Diariet"},
    "web.logout": {"en": "Log out", "sv": "Logga ut"},
    "web.role.staff": {"en": "staff", "sv": "personal"},
    "web.role.registrar": {"en": "registrar", "sv": "registrator"},
    "web.role.admin": {"en": "administrator", "sv": "administratör"},
    "web.role.None": {"en": "not logged in", "sv": "inte inloggad"},

    "web.login.title": {"en": "Log in", "sv": "Logga in"},
    "web.login.name": {"en": "User name", "sv": "Användarnamn"},
    "web.login.password": {"en": "Password", "sv": "Lösenord"},
    "web.login.submit": {"en": "Log in", "sv": "Logga in"},
    "web.login.failed": {"en": "Wrong user name or password.",
                         "sv": "Fel användarnamn eller lösenord."},
    "web.login.throttled": {
        "en": "Too many failed attempts. Wait 15 minutes and try again, or ask the "
              "administrator.",
        "sv": "För många misslyckade försök. Vänta 15 minuter och försök igen, eller fråga "
              "administratören.",
    },

    "web.err.title": {"en": "Something went wrong", "sv": "Något gick fel"},
    "web.err.title_401": {"en": "Log in first", "sv": "Logga in först"},
    "web.err.title_403": {"en": "Not allowed", "sv": "Inte tillåtet"},
    "web.err.title_404": {"en": "Not found", "sv": "Hittades inte"},
    "web.err.title_409": {"en": "Could not be done", "sv": "Gick inte att göra"},
    "web.err.back": {"en": "Back to the review queue", "sv": "Tillbaka till granskningskön"},
    "web.err.login_needed": {"en": "You need to log in to see this page.",
                             "sv": "Du behöver logga in för att se den här sidan."},
    "web.err.forbidden": {
        "en": "Your role does not allow this. The consent register and the diarium are for "
              "registrars and administrators.",
        "sv": "Din roll tillåter inte det här. Samtyckesregistret och diariet är till för "
              "registratorer och administratörer.",
    },
    "web.err.csrf": {
        "en": "The form was too old or did not come from this page. Go back, reload the page "
              "and try again.",
        "sv": "Formuläret var för gammalt eller kom inte från den här sidan. Gå tillbaka, "
              "ladda om sidan och försök igen.",
    },
    "web.err.not_found": {"en": "There is nothing here (perhaps it was already approved).",
                          "sv": "Det finns inget här (den kanske redan är godkänd)."},
    "web.err.method": {"en": "That cannot be done at this address.",
                       "sv": "Det går inte att göra på den här adressen."},
    "web.err.generic": {"en": "The request could not be handled.",
                        "sv": "Begäran kunde inte hanteras."},
    "web.err.changed": {
        "en": "Someone changed this picture meanwhile; here is the latest version. Check it "
              "and do your change again.",
        "sv": "Någon ändrade bilden under tiden; här är den senaste versionen. Kontrollera "
              "den och gör din ändring igen.",
    },
    "web.err.bad_input": {"en": "The change was not understood (check the numbers).",
                          "sv": "Ändringen förstods inte (kontrollera siffrorna)."},

    "web.queue.title": {"en": "Review before publishing", "sv": "Granska före publicering"},
    "web.queue.lead": {
        "en": "{n} file(s) wait for a person to look at them. Nothing is published until "
              "someone approves it.",
        "sv": "{n} fil(er) väntar på att någon tittar på dem. Inget publiceras förrän någon "
              "har godkänt det.",
    },
    "web.queue.all_done": {"en": "Nothing more to review right now.",
                           "sv": "Inget mer att granska just nu."},
    "web.queue.start": {"en": "Start reviewing", "sv": "Börja granska"},
    "web.queue.keys": {
        "en": "Keys on a picture: A approve, R reject, J next, K previous, O boxes on/off, "
              "C compare with the original (hold).",
        "sv": "Tangenter på en bild: A godkänn, R avvisa, J nästa, K föregående, O rutor "
              "av/på, C jämför med originalet (håll ned).",
    },
    "web.queue.list": {"en": "Files waiting for review", "sv": "Filer som väntar på granskning"},
    "web.queue.thumb_alt": {"en": "Anonymized picture {name}", "sv": "Anonymiserad bild {name}"},
    "web.queue.pages": {"en": "Pages", "sv": "Sidor"},
    "web.queue.empty": {"en": "The queue is empty: nothing waits for review.",
                        "sv": "Kön är tom: inget väntar på granskning."},
    "web.queue.recent": {"en": "Recently decided", "sv": "Nyligen beslutade"},
    "web.queue.back": {"en": "Queue", "sv": "Kön"},
    "web.prev_page": {"en": "← Previous page", "sv": "← Föregående sida"},
    "web.next_page": {"en": "Next page →", "sv": "Nästa sida →"},
    "web.prev": {"en": "Previous", "sv": "Föregående"},
    "web.next": {"en": "Next", "sv": "Nästa"},
    "web.col.file": {"en": "File", "sv": "Fil"},
    "web.col.state": {"en": "State", "sv": "Läge"},
    "web.col.by": {"en": "By", "sv": "Av"},
    "web.col.time": {"en": "Time", "sv": "Tid"},
    "web.kind.photo": {"en": "photo", "sv": "foto"},
    "web.kind.video": {"en": "video", "sv": "videoklipp"},
    "web.kind.other": {"en": "other", "sv": "annat"},
    "web.purpose.public": {"en": "public", "sv": "offentligt"},
    "web.purpose.internal": {"en": "internal", "sv": "internt"},
    "web.counts": {"en": "{hidden} hidden, {shown} shown",
                   "sv": "{hidden} dolda, {shown} visade"},
    "web.revision": {"en": "version {n}", "sv": "utgåva {n}"},
    "web.state.review": {"en": "waiting for review", "sv": "väntar på granskning"},
    "web.state.approved": {"en": "approved, being published", "sv": "godkänd, publiceras"},
    "web.state.rejected": {"en": "rejected", "sv": "avvisad"},
    "web.state.done": {"en": "published", "sv": "publicerad"},
    "web.state.failed": {"en": "failed", "sv": "misslyckades"},
    "web.state.duplicate": {"en": "duplicate", "sv": "dubblett"},
    "web.state.declined": {"en": "rejected, nothing published",
                           "sv": "avvisad, inget publicerat"},
    "web.state.queued": {"en": "queued", "sv": "i kö"},
    "web.state.claimed": {"en": "being taken in", "sv": "tas emot"},
    "web.state.processing": {"en": "being anonymized", "sv": "anonymiseras"},
    "web.state.finishing": {"en": "being finished", "sv": "slutförs"},

    "web.flag.candidates": {"en": "possible faces under the threshold",
                            "sv": "möjliga ansikten under gränsen"},
    "web.flag.self_check": {"en": "hidden again by the self-check",
                            "sv": "dold igen av självkontrollen"},
    "web.flag.low_margin": {"en": "consenting person recognised with little margin",
                            "sv": "person med samtycke igenkänd med liten marginal"},
    "web.flag.ambiguous_track": {"en": "video tracks hidden as ambiguous",
                                 "sv": "videospår dolda som osäkra"},

    "web.approve": {"en": "Approve and publish", "sv": "Godkänn och publicera"},
    "web.reject": {"en": "Reject", "sv": "Avvisa"},
    "web.reject.confirm": {
        "en": "Reject this file? Nothing is published from it; the original is kept for the "
              "usual number of days.",
        "sv": "Avvisa filen? Inget publiceras från den; originalet sparas det vanliga antalet "
              "dagar.",
    },
    "web.photo.alt": {"en": "The anonymized picture as it will be published",
                      "sv": "Den anonymiserade bilden så som den kommer att publiceras"},
    "web.photo.overlay": {"en": "Boxes around the faces blurkit found",
                          "sv": "Rutor runt ansiktena blurkit hittade"},
    "web.photo.overlay_toggle": {"en": "Boxes on/off", "sv": "Rutor av/på"},
    "web.photo.compare": {"en": "Compare with original (hold)",
                          "sv": "Jämför med originalet (håll ned)"},
    "web.photo.showing_original": {"en": "ORIGINAL – not anonymized",
                                   "sv": "ORIGINAL – inte anonymiserat"},
    "web.photo.faces": {"en": "Faces", "sv": "Ansikten"},
    "web.photo.no_faces": {"en": "blurkit found no face.", "sv": "blurkit hittade inget ansikte."},
    "web.photo.score": {"en": "detector {score}", "sv": "detektor {score}"},
    "web.photo.similarity": {"en": "similarity {s}", "sv": "likhet {s}"},
    "web.photo.person": {"en": "{name} (person #{person}), consent #{consent} ({purpose})",
                         "sv": "{name} (person nr {person}), samtycke nr {consent} ({purpose})"},
    "web.photo.person_short": {"en": "person #{person}", "sv": "person nr {person}"},
    "web.photo.unhide": {"en": "Not a face – leave it", "sv": "Inte ett ansikte – lämna kvar"},
    "web.photo.show_who": {"en": "Show as a consenting person…",
                           "sv": "Visa som person med samtycke…"},
    "web.photo.hide": {"en": "Hide", "sv": "Dölj"},
    "web.photo.candidates": {"en": "Possible faces", "sv": "Möjliga ansikten"},
    "web.photo.candidates_help": {
        "en": "The detector was not sure enough to hide these (K1, K2, … in yellow). Hide "
              "every one that is a face.",
        "sv": "Detektorn var inte tillräckligt säker för att dölja dessa (K1, K2, … i gult). "
              "Dölj alla som är ansikten.",
    },
    "web.photo.region": {"en": "Hide a missed face", "sv": "Dölj ett missat ansikte"},
    "web.photo.region_help": {
        "en": "Draw a box over the face on the picture with the mouse or a finger, or type its "
              "corners in pixels (x1, y1 top left; x2, y2 bottom right). It is destroyed in the "
              "published copy.",
        "sv": "Rita en ruta över ansiktet i bilden med musen eller fingret, eller skriv in "
              "hörnen i pixlar (x1, y1 uppe till vänster; x2, y2 nere till höger). Det förstörs "
              "i den publicerade kopian.",
    },
    "web.photo.shape": {"en": "Shape", "sv": "Form"},
    "web.shape.rect": {"en": "rectangle", "sv": "rektangel"},
    "web.shape.ellipse": {"en": "ellipse", "sv": "ellips"},
    "web.photo.hide_region": {"en": "Hide this region", "sv": "Dölj området"},
    "web.photo.decisions": {"en": "Corrections so far", "sv": "Rättelser hittills"},
    "web.photo.undo": {"en": "Undo", "sv": "Ångra"},
    "web.decision.hide_region": {"en": "Region hidden", "sv": "Område dolt"},
    "web.decision.hide_candidate": {"en": "Possible face hidden", "sv": "Möjligt ansikte dolt"},
    "web.decision.unhide": {"en": "Not a face:", "sv": "Inte ett ansikte:"},
    "web.decision.hide_face": {"en": "Hidden:", "sv": "Dolt:"},
    "web.decision.show": {"en": "Shown:", "sv": "Visat:"},
    "web.action.hidden": {"en": "hidden", "sv": "dolt"},
    "web.action.shown": {"en": "shown", "sv": "visas"},
    "web.action.untouched": {"en": "left as it is (not a face)",
                             "sv": "lämnat som det är (inte ett ansikte)"},
    "web.keys.title": {"en": "Keyboard", "sv": "Tangentbord"},
    "web.keys.photo": {
        "en": "A approve · R reject · J / → next · K / ← previous · O boxes on/off · hold C "
              "to see the original · H hide the region drawn. Tab moves through every button.",
        "sv": "A godkänn · R avvisa · J / → nästa · K / ← föregående · O rutor av/på · håll "
              "ned C för att se originalet · H dölj det ritade området. Tab går igenom alla "
              "knappar.",
    },
    "web.suggest.label": {"en": "Who is it?", "sv": "Vem är det?"},
    "web.suggest.similarity": {"en": "similarity {s}", "sv": "likhet {s}"},
    "web.suggest.show": {"en": "Show this person", "sv": "Visa personen"},
    "web.suggest.help": {
        "en": "Only people with a valid consent for this purpose are listed, nearest first. "
              "Your choice is recorded with your name.",
        "sv": "Bara personer med giltigt samtycke för det här syftet visas, närmast först. "
              "Ditt val sparas med ditt namn.",
    },
    "web.suggest.not_compared": {
        "en": "The face is too small, blurred or turned to compare; make sure it is the right "
              "person.",
        "sv": "Ansiktet är för litet, suddigt eller vänt för att jämföras; kontrollera noga att "
              "det är rätt person.",
    },
    "web.video.tracks": {"en": "Faces in the video", "sv": "Ansikten i videon"},
    "web.video.time": {"en": "From–to", "sv": "Från–till"},
    "web.video.reason": {"en": "Why", "sv": "Varför"},
    "web.video.votes": {"en": "frames compared", "sv": "bildrutor jämförda"},
    "web.video.still": {"en": "Still", "sv": "Stillbild"},
    "web.video.still_alt": {"en": "Where face {n} is (anonymized)",
                            "sv": "Var ansikte {n} finns (anonymiserat)"},
    "web.video.change": {"en": "Change", "sv": "Ändra"},
    "web.video.approve_render": {"en": "Approve (the video is rendered again)",
                                 "sv": "Godkänn (videon görs om)"},
    "web.video.pending": {"en": "Corrections to apply", "sv": "Rättelser att göra"},
    "web.video.pending_help": {
        "en": "The video is rendered again with these when you approve it; then it is "
              "published.",
        "sv": "Videon görs om med dessa när du godkänner den; sedan publiceras den.",
    },
    "web.video.region_help": {
        "en": "A face the machine missed: its corners in pixels (the video is {w}×{h}) and "
              "from when to when, in seconds. Pause the video and use the buttons to take "
              "its time.",
        "sv": "Ett ansikte som maskinen missade: hörnen i pixlar (videon är {w}×{h}) och "
              "från när till när, i sekunder. Pausa videon och använd knapparna för att ta "
              "dess tid.",
    },
    "web.video.from": {"en": "From (s)", "sv": "Från (s)"},
    "web.video.to": {"en": "To (s)", "sv": "Till (s)"},
    "web.video.now_from": {"en": "From = now", "sv": "Från = nu"},
    "web.video.now_to": {"en": "To = now", "sv": "Till = nu"},
    "web.decision.hide_track": {"en": "Face hidden:", "sv": "Ansikte dolt:"},
    "web.decision.show_track": {"en": "Face shown:", "sv": "Ansikte visat:"},
    "web.render.title": {"en": "The video is being rendered", "sv": "Videon görs om"},
    "web.render.working": {
        "en": "The video is rendered again with your corrections. It is published when done.",
        "sv": "Videon görs om med dina rättelser. Den publiceras när den är klar.",
    },
    "web.render.frames": {"en": "{done} of {total} frames", "sv": "{done} av {total} bildrutor"},
    "web.render.reload": {"en": "Update", "sv": "Uppdatera"},
    "web.render.failed": {"en": "The video could not be rendered: {reason}. Nothing was "
                                "published; it still waits for review.",
                          "sv": "Videon kunde inte göras om: {reason}. Inget publicerades; "
                                "den väntar fortfarande på granskning."},
    "web.render.back": {"en": "Back to the video", "sv": "Tillbaka till videon"},
    "web.render.done": {"en": "Done: the video was approved and is being published.",
                        "sv": "Klart: videon är godkänd och publiceras."},
    "web.reason.reviewer_hidden_track": {"en": "hidden by a reviewer",
                                         "sv": "dolt av en granskare"},

    "web.reason.no_consented_person": {"en": "nobody may be shown",
                                       "sv": "ingen får visas"},
    "web.reason.consent_valid": {"en": "valid consent", "sv": "giltigt samtycke"},
    "web.reason.part_of_shown_face": {"en": "part of a shown face",
                                      "sv": "del av ett visat ansikte"},
    "web.reason.reviewer_not_a_face": {"en": "a reviewer: not a face",
                                       "sv": "granskare: inte ett ansikte"},
    "web.reason.reviewer_hidden": {"en": "hidden by a reviewer", "sv": "dolt av en granskare"},
    "web.reason.reviewer_consent_valid": {"en": "shown by a reviewer (valid consent)",
                                          "sv": "visat av en granskare (giltigt samtycke)"},

    "web.upload.title": {"en": "Upload photos and videos", "sv": "Ladda upp foton och videor"},
    "web.upload.lead": {
        "en": "Files go into the inbox and are anonymized; then they wait for review.",
        "sv": "Filerna hamnar i inkorgen och anonymiseras; sedan väntar de på granskning.",
    },
    "web.upload.drop": {"en": "Drag files or whole folders here.",
                        "sv": "Dra filer eller hela mappar hit."},
    "web.upload.files": {"en": "Choose files", "sv": "Välj filer"},
    "web.upload.folder": {"en": "Or choose a folder", "sv": "Eller välj en mapp"},
    "web.upload.submit": {"en": "Upload", "sv": "Ladda upp"},
    "web.upload.saved": {"en": "{n} file(s) received.", "sv": "{n} fil(er) mottagna."},
    "web.upload.done": {"en": "received", "sv": "mottagen"},
    "web.upload.failed_short": {"en": "failed", "sv": "misslyckades"},
    "web.upload.bad_name": {"en": "That file name cannot be used.",
                            "sv": "Det filnamnet kan inte användas."},
    "web.upload.bad_name_named": {"en": "{name}: that file name cannot be used.",
                                  "sv": "{name}: det filnamnet kan inte användas."},
    "web.upload.cut": {"en": "The upload was cut off; nothing was kept.",
                       "sv": "Uppladdningen avbröts; inget sparades."},
    "web.upload.failed": {"en": "The file could not be saved: {reason}",
                          "sv": "Filen kunde inte sparas: {reason}"},

    "web.status.title": {"en": "Status", "sv": "Driftläge"},
    "web.status.watcher": {"en": "Watch folder", "sv": "Bevakning"},
    "web.status.running": {"en": "running", "sv": "igång"},
    "web.status.not_running": {"en": "NOT running", "sv": "INTE igång"},
    "web.status.queue": {"en": "Queue", "sv": "Kö"},
    "web.status.counts": {
        "en": "{waiting} waiting, {review} to review, {done} published, {failed} failed",
        "sv": "{waiting} väntar, {review} att granska, {done} publicerade, "
              "{failed} misslyckade",
    },
    "web.status.now": {"en": "Processing now", "sv": "Behandlas nu"},
    "web.status.disk_inbox": {"en": "Free disk (inbox)", "sv": "Ledigt utrymme (inkorg)"},
    "web.status.disk_ready": {"en": "Free disk (ready)", "sv": "Ledigt utrymme (klart)"},
    "web.status.free": {"en": "{free} GB free of {total} GB",
                        "sv": "{free} GB ledigt av {total} GB"},
    "web.status.models": {"en": "Models", "sv": "Modeller"},
    "web.status.models_ok": {"en": "installed and checked", "sv": "installerade och kontrollerade"},
    "web.status.models_bad": {"en": "NOT in order:", "sv": "INTE i ordning:"},
    "web.status.failed": {"en": "Files that could not be anonymized",
                          "sv": "Filer som inte kunde anonymiseras"},
    "web.status.reason": {"en": "Reason", "sv": "Orsak"},
    "web.status.no_failed": {"en": "None.", "sv": "Inga."},
})
