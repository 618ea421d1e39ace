"""The words of the consent register and the diarium pages, Swedish and English."""

from blurkit import i18n

i18n.register({
    # --- list ----------------------------------------------------------------------------
    "web.reg.list.title": {"en": "Consent register", "sv": "Samtyckesregister"},
    "web.reg.list.lead": {
        "en": "{n} registered person(s). The state is the one on {date}: who may be shown in "
              "what is published, and why not.",
        "sv": "{n} registrerade person(er). Läget gäller {date}: vem som får synas i det som "
              "publiceras, och varför inte.",
    },
    "web.reg.list.new": {"en": "Register a person", "sv": "Registrera en person"},
    "web.reg.list.search": {"en": "Search by name or form reference",
                            "sv": "Sök på namn eller blankettnummer"},
    "web.reg.list.search_button": {"en": "Search", "sv": "Sök"},
    "web.reg.list.clear": {"en": "Show everyone", "sv": "Visa alla"},
    "web.reg.list.found": {"en": "{n} found for “{q}”.", "sv": "{n} träffar för ”{q}”."},
    "web.reg.list.none_found": {"en": "Nobody matches the search.",
                                "sv": "Ingen matchar sökningen."},
    "web.reg.list.empty": {"en": "Nobody is registered yet.",
                           "sv": "Ingen är registrerad ännu."},
    "web.reg.col.person": {"en": "Person (no.)", "sv": "Person (nr)"},
    "web.reg.col.state": {"en": "State today", "sv": "Läge i dag"},
    "web.reg.col.form_ref": {"en": "Form reference", "sv": "Blankettnummer"},
    "web.reg.person_no": {"en": "no. {id}", "sv": "nr {id}"},
    "web.reg.born": {"en": "born {year}", "sv": "född {year}"},
    "web.reg.tag.shown": {"en": "may be shown: {purpose}", "sv": "får synas: {purpose}"},
    "web.reg.tag.hidden": {"en": "hidden: {purpose}", "sv": "döljs: {purpose}"},
    "web.reg.tag.expires_soon": {"en": "{purpose} expires soon (last day {date})",
                                 "sv": "{purpose} går snart ut (sista dag {date})"},
    "web.reg.tag.withdrawn": {"en": "withdrawn {date}", "sv": "återkallat {date}"},
    "web.reg.tag.expired": {"en": "expired (last day {date})",
                            "sv": "har gått ut (sista dag {date})"},
    "web.reg.tag.protected": {"en": "protected identity – always hidden",
                              "sv": "skyddad identitet – döljs alltid"},
    "web.reg.tag.deceased": {"en": "deceased", "sv": "avliden"},
    "web.reg.tag.deceased_family": {"en": "deceased (the family allows appearing)",
                                    "sv": "avliden (anhöriga tillåter att personen syns)"},
    "web.reg.tag.minor_guardian": {"en": "minor, with guardian consent",
                                   "sv": "minderårig, med vårdnadshavares samtycke"},
    "web.reg.tag.minor_no_guardian": {"en": "minor, WITHOUT guardian consent",
                                      "sv": "minderårig, UTAN vårdnadshavares samtycke"},
    "web.reg.tag.staff": {"en": "staff", "sv": "personal"},
    "web.reg.tag.no_templates": {"en": "no face photos: cannot be recognised",
                                 "sv": "inga ansiktsfoton: kan inte kännas igen"},

    # --- register form -------------------------------------------------------------------
    "web.reg.new.title": {"en": "Register a person", "sv": "Registrera en person"},
    "web.reg.new.lead": {
        "en": "Fill in what the signed form says and add one to three photos of the person's "
              "face. The photos are only used here, on this computer; they are not kept unless "
              "you ask for it.",
        "sv": "Fyll i det som står på den undertecknade blanketten och lägg till ett till tre "
              "foton av personens ansikte. Fotona används bara här, på den här datorn; de "
              "sparas inte om du inte ber om det.",
    },
    "web.reg.new.submit": {"en": "Check the photos and register",
                           "sv": "Kontrollera fotona och registrera"},
    "web.reg.cancel": {"en": "Cancel", "sv": "Avbryt"},
    "web.reg.f.person": {"en": "The person", "sv": "Personen"},
    "web.reg.f.name": {"en": "Name or pseudonym", "sv": "Namn eller pseudonym"},
    "web.reg.f.birth_year": {"en": "Birth year", "sv": "Födelseår"},
    "web.reg.f.staff": {"en": "Staff member", "sv": "Personal"},
    "web.reg.f.protected": {"en": "Protected identity (always hidden)",
                            "sv": "Skyddad identitet (döljs alltid)"},
    "web.reg.f.deceased": {"en": "Deceased", "sv": "Avliden"},
    "web.reg.f.deceased_may_appear": {
        "en": "The family asked that the person may still appear",
        "sv": "Anhöriga har begärt att personen fortfarande får synas"},
    "web.reg.f.purpose": {"en": "Purpose", "sv": "Syfte"},
    "web.reg.purpose_long.public": {"en": "public (social media, website)",
                                    "sv": "offentligt (sociala medier, webbplats)"},
    "web.reg.purpose_long.internal": {"en": "internal (closed group, intranet)",
                                      "sv": "internt (sluten grupp, intranät)"},
    "web.reg.f.kind": {"en": "Kind of consent", "sv": "Typ av samtycke"},
    "web.reg.kind.written": {"en": "written, on a signed form",
                             "sv": "skriftligt, på en undertecknad blankett"},
    "web.reg.kind.oral": {"en": "oral (staff only)", "sv": "muntligt (bara personal)"},
    "web.reg.kind_short.written": {"en": "written, form {ref}", "sv": "skriftligt, blankett {ref}"},
    "web.reg.kind_short.oral": {"en": "oral, received by {by}", "sv": "muntligt, mottaget av {by}"},
    "web.reg.f.form_ref": {"en": "Form reference number", "sv": "Blankettens nummer"},
    "web.reg.f.recorded_by": {"en": "Oral consent received by",
                              "sv": "Muntligt samtycke mottaget av"},
    "web.reg.f.dates": {"en": "Dates and guardian", "sv": "Datum och vårdnadshavare"},
    "web.reg.f.signed": {"en": "Signed (given) on", "sv": "Undertecknat (givet) den"},
    "web.reg.f.expires": {"en": "No longer valid from", "sv": "Gäller inte längre från"},
    "web.reg.f.guardian": {"en": "Guardian consent", "sv": "Vårdnadshavares samtycke"},
    "web.reg.guardian.unstated": {"en": "not stated", "sv": "ej angivet"},
    "web.reg.guardian.yes": {"en": "yes, a guardian consented too",
                             "sv": "ja, vårdnadshavare har också samtyckt"},
    "web.reg.guardian.no": {"en": "no", "sv": "nej"},
    "web.reg.f.photos": {"en": "Photos of the face (1 to {n})",
                         "sv": "Foton av ansiktet (1 till {n})"},
    "web.reg.f.photo_files": {"en": "Choose photos", "sv": "Välj foton"},
    "web.reg.f.keep_photos": {
        "en": "Keep the photos too (stored encrypted; needed only to look at them later)",
        "sv": "Spara även fotona (krypterade; behövs bara för att kunna titta på dem senare)"},
    "web.reg.help.purpose": {
        "en": "A consent counts only for what it names. Tick both if the form says both.",
        "sv": "Ett samtycke gäller bara det det anger. Kryssa i båda om blanketten säger "
              "båda."},
    "web.reg.help.recorded_by": {
        "en": "Only for oral consent: who heard it.",
        "sv": "Bara för muntligt samtycke: vem som tog emot det."},
    "web.reg.help.expires": {
        "en": "Leave empty if the form has no end date. The consent holds up to the day before.",
        "sv": "Lämna tomt om blanketten saknar slutdatum. Samtycket gäller till och med dagen "
              "före."},
    "web.reg.help.guardian": {
        "en": "Needed under 13; must be stated yes or no for 13–17.",
        "sv": "Krävs under 13 år; måste anges ja eller nej för 13–17 år."},
    "web.reg.help.birth_year": {
        "en": "Only the year. Give it for anyone who may be under 18; empty means adult.",
        "sv": "Bara året. Ange det för alla som kan vara under 18; tomt betyder vuxen."},
    "web.reg.help.birth_year_edit": {"en": "Empty removes the stored birth year.",
                                     "sv": "Tomt tar bort det sparade födelseåret."},
    "web.reg.help.photos": {
        "en": "Clear photos of the face from the front. A photo with several people is fine: "
              "you will click the right face.",
        "sv": "Tydliga foton av ansiktet framifrån. Ett foto med flera personer går bra: du "
              "klickar på rätt ansikte."},
    "web.reg.camera.start": {"en": "Take a photo with the camera", "sv": "Ta ett foto med kameran"},
    "web.reg.camera.take": {"en": "Take photo", "sv": "Ta foto"},
    "web.reg.camera.stop": {"en": "Turn the camera off", "sv": "Stäng av kameran"},
    "web.reg.camera.taken": {"en": "Camera photo {n} added.", "sv": "Kamerafoto {n} tillagt."},
    "web.reg.camera.full": {"en": "At most {n} photos.", "sv": "Högst {n} foton."},
    "web.reg.camera.remove": {"en": "Remove", "sv": "Ta bort"},
    "web.reg.camera.denied": {
        "en": "The camera could not be used (permission refused or in use by another program).",
        "sv": "Kameran kunde inte användas (tillstånd nekades eller den används av ett annat "
              "program)."},
    "web.reg.camera.unavailable": {
        "en": "The camera works only when the page is opened on this computer (or over HTTPS).",
        "sv": "Kameran fungerar bara när sidan öppnas på den här datorn (eller via HTTPS)."},

    # --- errors and warnings in the page's own words --------------------------------------
    "web.reg.err.no_purpose": {"en": "Choose what the consent covers (public and/or internal).",
                               "sv": "Välj vad samtycket gäller (offentligt och/eller internt)."},
    "web.reg.err.date_missing": {"en": "“{field}” is needed.", "sv": "”{field}” behövs."},
    "web.reg.err.bad_date": {"en": "“{value}” is not a date (YYYY-MM-DD).",
                             "sv": "”{value}” är inget datum (ÅÅÅÅ-MM-DD)."},
    "web.reg.err.bad_year": {"en": "“{value}” is not a year: write four digits, e.g. 2011.",
                             "sv": "”{value}” är inget år: skriv fyra siffror, t.ex. 2011."},
    "web.reg.err.too_many_photos": {"en": "{photo}: at most {n} photos; this one was not used.",
                                    "sv": "{photo}: högst {n} foton; det här användes inte."},
    "web.reg.err.no_photo": {"en": "Choose at least one photo.", "sv": "Välj minst ett foto."},
    "web.reg.err.form_ref_required": {
        "en": "A written consent needs the form's reference number.",
        "sv": "Ett skriftligt samtycke behöver blankettens nummer."},
    "web.reg.err.oral_staff_only": {
        "en": "Oral consent is accepted from staff only. Others need a signed form.",
        "sv": "Muntligt samtycke godtas bara från personal. Andra behöver en undertecknad "
              "blankett."},
    "web.reg.err.oral_recorded_by": {
        "en": "An oral consent must say who received it.",
        "sv": "Ett muntligt samtycke måste ange vem som tog emot det."},
    "web.reg.err.guardian_unstated": {
        "en": "Born {birth_year}, the person may have been 13–17 when signing: say whether a "
              "guardian also consented (yes or no).",
        "sv": "Född {birth_year} kan personen ha varit 13–17 år vid underskriften: ange om "
              "vårdnadshavare också samtyckt (ja eller nej)."},
    "web.reg.warn.age_unknown": {
        "en": "No birth year given: the person is treated as an adult.",
        "sv": "Inget födelseår angivet: personen behandlas som vuxen."},
    "web.reg.warn.no_photos": {
        "en": "No photos: the person cannot be recognised and stays hidden until photos are "
              "added.",
        "sv": "Inga foton: personen kan inte kännas igen och döljs tills foton läggs till."},
    "web.reg.warn.same_name": {
        "en": "A person with this name was already registered (no. {ids}). If it is the same "
              "person, remove the new entry and add the consent to the existing one.",
        "sv": "En person med det här namnet fanns redan (nr {ids}). Om det är samma person, "
              "ta bort den nya posten och lägg till samtycket hos den befintliga."},
    "web.reg.warn.still_active": {
        "en": "The consent for {purposes} remains, but without face photos the person is not "
              "recognised and stays hidden until new photos are added.",
        "sv": "Samtycket för {purposes} finns kvar, men utan ansiktsfoton känns personen inte "
              "igen och döljs tills nya foton läggs till."},
    "web.reg.warn.storage_busy": {
        "en": "Another program has the register open: the erased data is deleted, but its "
              "space is overwritten only when that program closes the register.",
        "sv": "Ett annat program har registret öppet: de raderade uppgifterna är borttagna, "
              "men utrymmet skrivs över först när det programmet stänger registret."},
    "web.reg.photo_empty": {"en": "{photo}: the file is empty.", "sv": "{photo}: filen är tom."},
    "web.reg.photo_too_large": {"en": "{photo}: larger than {mb} MB.",
                                "sv": "{photo}: större än {mb} MB."},
    "web.reg.not_found": {"en": "There is no such person in the register (perhaps removed).",
                          "sv": "Det finns ingen sådan person i registret (kanske borttagen)."},
    "web.reg.draft_gone": {
        "en": "This registration is no longer open (it was finished, cancelled or left "
              "unused for 30 minutes). Start again.",
        "sv": "Den här registreringen är inte längre öppen (den slutfördes, avbröts eller "
              "låg orörd i 30 minuter). Börja om."},

    # --- check the photos ----------------------------------------------------------------
    "web.reg.check.title": {"en": "Check the photos", "sv": "Kontrollera fotona"},
    "web.reg.check.lead": {
        "en": "Registering {name}. Look at each photo: click the face that is {name}'s, or "
              "leave a photo out.",
        "sv": "Registrerar {name}. Titta på varje foto: klicka på ansiktet som är {name}s, "
              "eller hoppa över fotot."},
    "web.reg.check.lead_person": {
        "en": "New photos for {name}. Click the face that is {name}'s in each photo.",
        "sv": "Nya foton för {name}. Klicka på ansiktet som är {name}s i varje foto."},
    "web.reg.check.photo": {"en": "Photo {n}: {name}", "sv": "Foto {n}: {name}"},
    "web.reg.check.photo_alt": {"en": "The photo {name}, with its faces numbered",
                                "sv": "Fotot {name}, med ansiktena numrerade"},
    "web.reg.check.accepted": {"en": "Good: face {index} is used ({how}).",
                               "sv": "Bra: ansikte {index} används ({how})."},
    "web.reg.check.ignored": {"en": "The other faces ({n}) are ignored.",
                              "sv": "Övriga ansikten ({n}) används inte."},
    "web.reg.check.several": {
        "en": "This photo shows {n} faces and none of them is clearly the main one. Click the "
              "person's face below.",
        "sv": "Fotot visar {n} ansikten och inget av dem är tydligt huvudansiktet. Klicka på "
              "personens ansikte nedan."},
    "web.reg.check.no_face": {
        "en": "No face was found in this photo. Use a photo where the face is clearly seen "
              "from the front, or leave it out.",
        "sv": "Inget ansikte hittades i fotot. Använd ett foto där ansiktet syns tydligt "
              "framifrån, eller hoppa över det."},
    "web.reg.check.no_such_face": {"en": "Choose one of the faces below.",
                                   "sv": "Välj ett av ansiktena nedan."},
    "web.reg.check.refused": {"en": "This photo cannot be used:",
                              "sv": "Fotot kan inte användas:"},
    "web.reg.check.which": {"en": "Which face is {name}'s?", "sv": "Vilket ansikte är {name}s?"},
    "web.reg.check.face": {"en": "Face {n}", "sv": "Ansikte {n}"},
    "web.reg.check.face_alt": {"en": "Face {n}", "sv": "Ansikte {n}"},
    "web.reg.check.face_of": {"en": "The face in {name}", "sv": "Ansiktet i {name}"},
    "web.reg.check.skip": {"en": "Leave this photo out", "sv": "Hoppa över fotot"},
    "web.reg.check.no_faces_legend": {"en": "This photo", "sv": "Det här fotot"},
    "web.reg.check.left_out": {"en": "Left out.", "sv": "Hoppas över."},
    "web.reg.check.all_left_out": {
        "en": "Every photo is left out: add a photo, or choose a face.",
        "sv": "Alla foton hoppas över: lägg till ett foto eller välj ett ansikte."},
    "web.reg.check.ready": {"en": "Everything is in order. Press “Register” to save.",
                            "sv": "Allt är i ordning. Tryck på ”Registrera” för att spara."},
    "web.reg.check.more": {"en": "Add more photos", "sv": "Lägg till fler foton"},
    "web.reg.check.submit": {"en": "Use these choices", "sv": "Använd de här valen"},
    "web.reg.check.submit_ready": {"en": "Register", "sv": "Registrera"},
    "web.reg.check.cancel": {"en": "Cancel the registration (nothing is saved)",
                             "sv": "Avbryt registreringen (inget sparas)"},
    "web.reg.cancelled": {"en": "The registration was cancelled; nothing was saved.",
                          "sv": "Registreringen avbröts; inget sparades."},
    "web.reg.pair.title": {"en": "These photos look like two different people",
                           "sv": "Fotona ser ut att visa två olika personer"},
    "web.reg.pair.title_registered": {
        "en": "This photo does not look like the person already registered",
        "sv": "Fotot liknar inte personen som redan är registrerad"},
    "web.reg.pair.explain": {
        "en": "Similarity {s}; at least {m} is needed to be sure it is one person. If a "
              "photo shows someone else, leave it out. Photos taken many years apart can "
              "look unlike.",
        "sv": "Likhet {s}; minst {m} krävs för att säkert vara en och samma person. Om ett "
              "foto visar någon annan, hoppa över det. Foton tagna med många års mellanrum "
              "kan se olika ut."},
    "web.reg.pair.confirm": {
        "en": "I confirm that these photos show one and the same person (recorded with my "
              "name, {name}).",
        "sv": "Jag bekräftar att fotona visar en och samma person (sparas med mitt namn, "
              "{name})."},
    "web.reg.pair.not_allowed": {"en": "Only a registrar may confirm that they show one person.",
                                 "sv": "Bara en registrator får bekräfta att de visar en "
                                       "person."},

    # --- after a change ------------------------------------------------------------------
    "web.reg.done.added": {"en": "{name} is registered as no. {id}.",
                           "sv": "{name} är registrerad som nr {id}."},
    "web.reg.done.record": {"en": "Consent {id} recorded: {purpose}.",
                            "sv": "Samtycke {id} registrerat: {purpose}."},
    "web.reg.done.face_used": {
        "en": "{photo}: face {index} of {count} used; the others are ignored.",
        "sv": "{photo}: ansikte {index} av {count} används; de andra används inte."},
    "web.reg.done.confirmed": {
        "en": "{name} confirmed that the photos show one person (recorded in the diarium).",
        "sv": "{name} bekräftade att fotona visar en person (antecknat i diariet)."},
    "web.reg.done.templates": {
        "en": "{count} face template(s) stored, encrypted (model {model}).",
        "sv": "{count} ansiktsmall(ar) sparade, krypterade (modell {model})."},
    "web.reg.done.photos_kept": {"en": "{count} photo(s) kept, encrypted.",
                                 "sv": "{count} foto(n) sparade, krypterade."},
    "web.reg.done.photos_not_kept": {
        "en": "The photos were not kept; you may delete your copies.",
        "sv": "Fotona sparades inte; du kan ta bort dina kopior."},
    "web.reg.done.edited": {"en": "Updated: {fields}.", "sv": "Uppdaterat: {fields}."},
    "web.reg.done.nothing": {"en": "Nothing was changed.", "sv": "Inget ändrades."},
    "web.reg.done.withdrawn": {"en": "Consent withdrawn from {date}: record(s) {ids}.",
                               "sv": "Samtycket återkallat från {date}: post(er) {ids}."},
    "web.reg.done.nothing_to_withdraw": {"en": "There was no consent in force to withdraw.",
                                         "sv": "Det fanns inget gällande samtycke att "
                                               "återkalla."},
    "web.reg.done.erased": {
        "en": "Erased {templates} face template(s) and {photos} kept photo(s).",
        "sv": "Raderade {templates} ansiktsmall(ar) och {photos} sparade foto(n)."},
    "web.reg.done.removed": {
        "en": "Person no. {id} was erased: {consents} consent record(s), {templates} face "
              "template(s), {photos} photo(s). The diarium keeps a note that it happened, "
              "without name or face data.",
        "sv": "Person nr {id} är raderad: {consents} samtyckespost(er), {templates} "
              "ansiktsmall(ar), {photos} foto(n). Diariet behåller en anteckning om att det "
              "skett, utan namn eller ansiktsdata."},
    "web.reg.field.name": {"en": "name", "sv": "namn"},
    "web.reg.field.birth_year": {"en": "birth year", "sv": "födelseår"},
    "web.reg.field.staff": {"en": "staff", "sv": "personal"},
    "web.reg.field.protected": {"en": "protected identity", "sv": "skyddad identitet"},
    "web.reg.field.deceased": {"en": "deceased", "sv": "avliden"},
    "web.reg.field.deceased_may_appear": {"en": "family allows appearing",
                                          "sv": "anhöriga tillåter att personen syns"},

    # --- a person ------------------------------------------------------------------------
    "web.reg.back_list": {"en": "All people", "sv": "Alla personer"},
    "web.reg.back_person": {"en": "Back to {name}", "sv": "Tillbaka till {name}"},
    "web.reg.person.actions": {"en": "What to do", "sv": "Åtgärder"},
    "web.reg.act.edit": {"en": "Edit details", "sv": "Ändra uppgifter"},
    "web.reg.act.consent": {"en": "Add a consent", "sv": "Lägg till samtycke"},
    "web.reg.act.photos": {"en": "Add photos", "sv": "Lägg till foton"},
    "web.reg.act.withdraw": {"en": "Withdraw consent", "sv": "Återkalla samtycke"},
    "web.reg.act.remove": {"en": "Remove from the register", "sv": "Ta bort ur registret"},
    "web.reg.person.today": {"en": "May be shown on {date}?", "sv": "Får synas den {date}?"},
    "web.reg.person.shown": {"en": "may be shown", "sv": "får synas"},
    "web.reg.person.hidden": {"en": "hidden", "sv": "döljs"},
    "web.reg.person.details": {"en": "Details", "sv": "Uppgifter"},
    "web.reg.person.born_unknown": {"en": "unknown (treated as adult)",
                                    "sv": "okänt (behandlas som vuxen)"},
    "web.reg.person.registered": {"en": "Registered", "sv": "Registrerad"},
    "web.reg.person.changed": {"en": "Last changed", "sv": "Senast ändrad"},
    "web.reg.person.records": {"en": "Consent records", "sv": "Samtyckesposter"},
    "web.reg.person.records_help": {
        "en": "A record is never changed, only added: a correction is a withdrawal and a new "
              "record.",
        "sv": "En post ändras aldrig, den läggs bara till: en rättelse är en återkallelse och "
              "en ny post."},
    "web.reg.person.no_records": {"en": "No consent records.", "sv": "Inga samtyckesposter."},
    "web.reg.col.record": {"en": "No.", "sv": "Nr"},
    "web.reg.col.valid_until": {"en": "Valid through", "sv": "Gäller till och med"},
    "web.reg.col.withdrawn": {"en": "Withdrawn", "sv": "Återkallat"},
    "web.reg.col.entered": {"en": "Entered by", "sv": "Registrerat av"},
    "web.reg.no_expiry": {"en": "no end date", "sv": "inget slutdatum"},
    "web.reg.yes": {"en": "yes", "sv": "ja"},
    "web.reg.no": {"en": "no", "sv": "nej"},
    "web.reg.person.templates": {"en": "Face templates", "sv": "Ansiktsmallar"},
    "web.reg.person.templates_help": {
        "en": "Made from the photos; stored encrypted and never shown.",
        "sv": "Gjorda av fotona; sparade krypterade och visas aldrig."},
    "web.reg.person.no_templates": {
        "en": "No face templates: the person cannot be recognised and is hidden everywhere.",
        "sv": "Inga ansiktsmallar: personen kan inte kännas igen och döljs överallt."},
    "web.reg.col.model": {"en": "Model", "sv": "Modell"},
    "web.reg.col.made": {"en": "Made", "sv": "Gjord"},
    "web.reg.person.kept_photos": {"en": "Kept photos", "sv": "Sparade foton"},
    "web.reg.person.kept_alt": {"en": "Kept photo {n}", "sv": "Sparat foto {n}"},
    "web.reg.person.outputs": {"en": "Published files that showed the person ({n})",
                               "sv": "Publicerade filer som visade personen ({n})"},
    "web.reg.person.history": {"en": "Changes (from the diarium)",
                               "sv": "Ändringar (från diariet)"},
    "web.reg.col.what": {"en": "What", "sv": "Vad"},
    "web.reg.col.date": {"en": "Date", "sv": "Datum"},
    "web.reg.col.where": {"en": "Where it was written", "sv": "Var den skrevs"},
    "web.reg.col.entry": {"en": "Diarium no.", "sv": "Diarienr"},

    # --- edit, consent, photos -----------------------------------------------------------
    "web.reg.edit.title": {"en": "Edit {name}", "sv": "Ändra {name}"},
    "web.reg.edit.lead": {
        "en": "Consent records are not changed here: add a new one, or withdraw.",
        "sv": "Samtyckesposter ändras inte här: lägg till en ny, eller återkalla."},
    "web.reg.edit.submit": {"en": "Save", "sv": "Spara"},
    "web.reg.consent.title": {"en": "Add a consent for {name}",
                              "sv": "Lägg till samtycke för {name}"},
    "web.reg.consent.lead": {"en": "Fill in what the new signed form says.",
                             "sv": "Fyll i det som står på den nya undertecknade blanketten."},
    "web.reg.consent.submit": {"en": "Add the consent", "sv": "Lägg till samtycket"},
    "web.reg.photos.title": {"en": "New photos for {name}", "sv": "Nya foton för {name}"},
    "web.reg.photos.lead": {
        "en": "The photos must show the person already registered.",
        "sv": "Fotona måste visa personen som redan är registrerad."},
    "web.reg.photos.submit": {"en": "Check the photos and add them",
                              "sv": "Kontrollera fotona och lägg till dem"},

    # --- withdraw, remove, takedown -------------------------------------------------------
    "web.reg.withdraw.title": {"en": "Withdraw {name}'s consent",
                               "sv": "Återkalla {name}s samtycke"},
    "web.reg.withdraw.what": {"en": "What happens", "sv": "Vad som händer"},
    "web.reg.withdraw.records": {
        "en": "The consent records in force ({n}) are marked withdrawn from the date below. "
              "They stay in the register as documentation.",
        "sv": "De gällande samtyckesposterna ({n}) markeras som återkallade från datumet "
              "nedan. De finns kvar i registret som dokumentation."},
    "web.reg.withdraw.templates": {
        "en": "ALL the person's face templates ({n}) and kept photos ({photos}) are erased now, "
              "whatever purpose you withdraw.",
        "sv": "ALLA personens ansiktsmallar ({n}) och sparade foton ({photos}) raderas nu, "
              "oavsett vilket syfte du återkallar."},
    "web.reg.withdraw.hidden": {
        "en": "From now on the person is hidden in everything processed, until new photos are "
              "added.",
        "sv": "Från och med nu döljs personen i allt som behandlas, tills nya foton läggs "
              "till."},
    "web.reg.withdraw.earlier": {
        "en": "{n} earlier published file(s) showed the person. They are not changed: the "
              "next page lists them, to take down where they were posted.",
        "sv": "{n} tidigare publicerade fil(er) visade personen. De ändras inte: nästa sida "
              "listar dem, så att de kan tas ned där de publicerats."},
    "web.reg.withdraw.kept": {
        "en": "The diarium records the withdrawal with your name.",
        "sv": "Diariet antecknar återkallelsen med ditt namn."},
    "web.reg.withdraw.purpose": {"en": "Withdraw", "sv": "Återkalla"},
    "web.reg.withdraw.all": {"en": "every purpose", "sv": "alla syften"},
    "web.reg.withdraw.date": {"en": "Withdrawal received on", "sv": "Återkallelsen kom in den"},
    "web.reg.withdraw.submit": {"en": "Withdraw and erase the face templates",
                                "sv": "Återkalla och radera ansiktsmallarna"},
    "web.reg.remove.title": {"en": "Remove {name} from the register",
                             "sv": "Ta bort {name} ur registret"},
    "web.reg.remove.erased": {
        "en": "The person is erased with {consents} consent record(s), {templates} face "
              "template(s) and {photos} kept photo(s).",
        "sv": "Personen raderas med {consents} samtyckespost(er), {templates} ansiktsmall(ar) "
              "och {photos} sparade foto(n)."},
    "web.reg.remove.audit": {
        "en": "The diarium keeps that it happened (number and counts, no name).",
        "sv": "Diariet behåller att det skett (nummer och antal, inget namn)."},
    "web.reg.remove.final": {"en": "This cannot be undone.", "sv": "Det går inte att ångra."},
    "web.reg.remove.submit": {"en": "Remove for good", "sv": "Ta bort för gott"},
    "web.reg.takedown.title": {"en": "Files to take down", "sv": "Filer att ta ned"},
    "web.reg.takedown.lead": {
        "en": "{n} earlier published file(s) showed {name} (no. {id}). Take them down where "
              "they were posted.",
        "sv": "{n} tidigare publicerade fil(er) visade {name} (nr {id}). Ta ned dem där de "
              "publicerats."},
    "web.reg.takedown.lead_removed": {
        "en": "{n} earlier published file(s) showed person no. {id}. Take them down where "
              "they were posted.",
        "sv": "{n} tidigare publicerade fil(er) visade person nr {id}. Ta ned dem där de "
              "publicerats."},
    "web.reg.takedown.none": {"en": "No published file showed the person.",
                              "sv": "Ingen publicerad fil visade personen."},

    # --- diarium -------------------------------------------------------------------------
    "web.diar.title": {"en": "Diarium (audit log)", "sv": "Diarium"},
    "web.diar.export": {"en": "Export everything as CSV", "sv": "Exportera allt som CSV"},
    "web.diar.chain_ok": {"en": "The diarium is intact: {n} entries, none changed, removed or "
                                "moved.",
                          "sv": "Diariet är intakt: {n} poster, ingen ändrad, borttagen eller "
                                "flyttad."},
    "web.diar.chain_bad": {"en": "The diarium is NOT intact, from entry {seq}: {problem}",
                           "sv": "Diariet är INTE intakt, från post {seq}: {problem}"},
    "web.diar.head": {"en": "Last checksum:", "sv": "Senaste kontrollsumma:"},
    "web.diar.head_help": {
        "en": "Note the last checksum somewhere outside this computer from time to time: it "
              "proves later that the diarium was not rewritten.",
        "sv": "Anteckna den senaste kontrollsumman någonstans utanför datorn då och då: den "
              "visar senare att diariet inte skrivits om."},
    "web.diar.filter": {"en": "Filter", "sv": "Filtrera"},
    "web.diar.from": {"en": "From", "sv": "Från"},
    "web.diar.to": {"en": "To", "sv": "Till"},
    "web.diar.person": {"en": "Person no.", "sv": "Person nr"},
    "web.diar.operator": {"en": "By", "sv": "Av"},
    "web.diar.kind": {"en": "Kind", "sv": "Typ"},
    "web.diar.any": {"en": "any", "sv": "alla"},
    "web.diar.apply": {"en": "Show", "sv": "Visa"},
    "web.diar.clear": {"en": "Clear the filter", "sv": "Rensa filtret"},
    "web.diar.count": {"en": "{n} entries, newest first (times in UTC).",
                       "sv": "{n} poster, nyaste först (tider i UTC)."},
    "web.diar.none": {"en": "No entries.", "sv": "Inga poster."},
    "web.diar.newer": {"en": "← Newer", "sv": "← Nyare"},
    "web.diar.older": {"en": "Older →", "sv": "Äldre →"},
    "web.diar.col.time": {"en": "Time (UTC)", "sv": "Tid (UTC)"},
    "web.diar.col.what": {"en": "What", "sv": "Vad"},
    "web.diar.failed": {"en": "failed", "sv": "misslyckades"},
    "web.diar.approved": {"en": "approved", "sv": "godkänd"},
    "web.diar.faces": {"en": "{n} face(s), {shown} shown", "sv": "{n} ansikte(n), {shown} visade"},
    "web.diar.review": {"en": "review: {decision} by {by}, {n} correction(s)",
                        "sv": "granskning: {decision} av {by}, {n} rättelse(r)"},
    "web.diar.kind.processed": {"en": "processed", "sv": "behandlat"},
    "web.diar.kind.approved": {"en": "approved", "sv": "godkänt"},
    "web.diar.kind.consent": {"en": "consent change", "sv": "samtyckesändring"},
    "web.diar.kind.erasure": {"en": "erasure", "sv": "radering"},
    "web.diar.kind.retention": {"en": "retention deletion", "sv": "gallring"},
    "web.diar.kind.original": {"en": "original viewed", "sv": "original visat"},
    "web.diar.entry.photo": {"en": "photo", "sv": "foto"},
    "web.diar.entry.video": {"en": "video clip", "sv": "videoklipp"},
    "web.diar.entry.consent-change": {"en": "consent change", "sv": "samtyckesändring"},
    "web.diar.entry.erasure": {"en": "erasure", "sv": "radering"},
    "web.diar.entry.retention-delete": {"en": "retention deletion", "sv": "gallring"},
    "web.diar.entry.original-viewed": {"en": "original viewed", "sv": "original visat"},
    "web.diar.action.person-added": {"en": "person registered", "sv": "person registrerad"},
    "web.diar.action.person-edited": {"en": "details changed", "sv": "uppgifter ändrade"},
    "web.diar.action.consent-added": {"en": "consent added", "sv": "samtycke tillagt"},
    "web.diar.action.templates-added": {"en": "face templates added",
                                        "sv": "ansiktsmallar tillagda"},
    "web.diar.action.photo-kept": {"en": "photo kept", "sv": "foto sparat"},
    "web.diar.action.withdrawn": {"en": "consent withdrawn, face templates erased",
                                  "sv": "samtycke återkallat, ansiktsmallar raderade"},
    "web.diar.action.person-removed": {"en": "person erased", "sv": "person raderad"},
})
