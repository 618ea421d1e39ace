"""What the page says for the codes that reports, the journal and the audit log keep: each
family of message ids spelled out, code by code (so the catalogue check sees every id, and a
test can check that every code has its words).

Templates call `word(family, code)`; a code a family does not know comes back as it is
(tests/test_web_words.py makes sure every reason code the engine writes has words).
"""

from __future__ import annotations

from blurkit import choices, i18n
from blurkit.usecases.wording import reason_families

FAMILIES: dict[str, dict] = {
    # a face or track in a report: what happened to it
    "action": {"hidden": "web.action.hidden", "shown": "web.action.shown",
               "untouched": "web.action.untouched"},
    # a reviewer's decision (blurkit.engine.revise / revise_video)
    "decision": {"hide_region": "web.decision.hide_region",
                 "hide_candidate": "web.decision.hide_candidate",
                 "unhide": "web.decision.unhide", "hide_face": "web.decision.hide_face",
                 "show": "web.decision.show", "hide_track": "web.decision.hide_track",
                 "show_track": "web.decision.show_track"},
    # an item of the watch folder's journal (blurkit.watch.journal.STATES)
    "state": {"claimed": "web.state.claimed", "queued": "web.state.queued",
              "processing": "web.state.processing", "finishing": "web.state.finishing",
              "review": "web.state.review", "approved": "web.state.approved",
              "rejected": "web.state.rejected", "done": "web.state.done",
              "failed": "web.state.failed", "duplicate": "web.state.duplicate",
              "declined": "web.state.declined"},
    "kind": {"photo": "web.kind.photo", "video": "web.kind.video", "other": "web.kind.other"},
    "role": {"staff": "web.role.staff", "registrar": "web.role.registrar",
             "admin": "web.role.admin", None: "web.role.none"},
    "error_title": {401: "web.err.title_401", 403: "web.err.title_403",
                    404: "web.err.title_404", 409: "web.err.title_409"},
    "disk": {"inbox": "web.status.disk_inbox", "ready": "web.status.disk_ready"},
    # the diarium: kinds of audit entries, the filter's choices, register actions
    "entry": {"photo": "web.diar.entry.photo", "video": "web.diar.entry.video",
              "consent-change": "web.diar.entry.consent-change",
              "erasure": "web.diar.entry.erasure",
              "retention-delete": "web.diar.entry.retention-delete",
              "original-viewed": "web.diar.entry.original-viewed"},
    "entry_filter": {"processed": "web.diar.kind.processed",
                     "approved": "web.diar.kind.approved", "consent": "web.diar.kind.consent",
                     "erasure": "web.diar.kind.erasure", "retention": "web.diar.kind.retention",
                     "original": "web.diar.kind.original"},
    "register_action": {"person-added": "web.diar.action.person-added",
                        "person-edited": "web.diar.action.person-edited",
                        "consent-added": "web.diar.action.consent-added",
                        "templates-added": "web.diar.action.templates-added",
                        "photo-kept": "web.diar.action.photo-kept",
                        "withdrawn": "web.diar.action.withdrawn",
                        "person-removed": "web.diar.action.person-removed"},
    # fields of a person, as named in "changed: ..." notices
    "person_field": {"name": "web.reg.field.name", "birth_year": "web.reg.field.birth_year",
                     "staff": "web.reg.field.staff", "protected": "web.reg.field.protected",
                     "deceased": "web.reg.field.deceased",
                     "deceased_may_appear": "web.reg.field.deceased_may_appear"},
    # why a face was hidden or shown on the page (reviewer decisions; the engine's reasons
    # come from blurkit.engine.vote, blurkit.identify and blurkit.consent.rules: see reason())
    "reason": {"reviewer_hidden_track": "web.reason.reviewer_hidden_track",
               "no_consented_person": "web.reason.no_consented_person",
               "consent_valid": "web.reason.consent_valid",
               "part_of_shown_face": "web.reason.part_of_shown_face",
               "reviewer_not_a_face": "web.reason.reviewer_not_a_face",
               "reviewer_hidden": "web.reason.reviewer_hidden",
               "reviewer_consent_valid": "web.reason.reviewer_consent_valid",
               "consent_not_valid_now": "web.reason.consent_not_valid_now",
               "second_look": "secondlook.reason.hidden"},
}


def word(family: str, code, lang: str) -> str:
    """The words for `code` of `family` in `lang`; an unknown code as it is ("–" for none)."""
    if family == "purpose":
        choice = choices.PURPOSES.get(code)
        return i18n.t(choice.label, lang) if choice is not None else (code or "–")
    key = FAMILIES[family].get(code)
    return i18n.t(key, lang) if key is not None else ("–" if code is None else str(code))


def purpose_long(code: str, lang: str) -> str:
    choice = choices.PURPOSES.get(code)
    return i18n.t(choice.help, lang) if choice is not None and choice.help else code


def reason(code: str | None, lang: str) -> str:
    """Why a face or track is hidden or shown, in words (the report's reason codes: the
    page's own, the video vote's, recognition's, then the consent rules')."""
    if not code:
        return "–"
    for family in (FAMILIES["reason"], *reason_families(), CONSENT_REASONS):
        if code in family:
            return i18n.t(family[code], lang)
    rule = f"consent.reason.{code}"        # blurkit.consent.rules names its reasons so
    return i18n.t(rule, lang) if i18n.known(rule) else code


# The consent rules' reasons as a report keeps them: the code alone (the rule's own words
# name the consent and its dates, which the report does not hold). Reasons without such
# details are worded by the rule's own message.
CONSENT_REASONS = {
    "birth_year_future": "web.reason.consent.birth_year_future",
    "expired": "web.reason.consent.expired",
    "minor_guardian_unstated": "web.reason.consent.minor_guardian_unstated",
    "minor_needs_guardian": "web.reason.consent.minor_needs_guardian",
    "no_form_ref": "web.reason.consent.no_form_ref",
    "not_yet_signed": "web.reason.consent.not_yet_signed",
    "oral_not_staff": "web.reason.consent.oral_not_staff",
    "oral_unrecorded": "web.reason.consent.oral_unrecorded",
    "other_purpose_only": "web.reason.consent.other_purpose_only",
    "unknown_person": "web.reason.consent.unknown_person",
    "unknown_purpose": "web.reason.consent.unknown_purpose",
    "unknown_type": "web.reason.consent.unknown_type",
    "valid": "web.reason.consent.valid",
    "valid_age_unknown": "web.reason.consent.valid_age_unknown",
    "withdrawn": "web.reason.consent.withdrawn",
}
