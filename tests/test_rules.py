"""The consent rules (pure functions): who may be shown, and what the registry accepts."""

from datetime import date

import pytest

from blurkit.consent.rules import (
    Consent,
    ConsentError,
    Person,
    check_new_consent,
    consent_for,
    youngest_age,
)

TODAY = date(2025, 6, 1)
SIGNED = date(2025, 1, 10)


def person(**kw) -> Person:
    return Person(id=kw.pop("id", 1), name=kw.pop("name", "Anna"), **kw)


def consent(**kw) -> Consent:
    base = dict(id=10, person_id=1, purpose="public", kind="written", signed=SIGNED,
                form_ref="F-1")
    base.update(kw)
    return Consent(**base)


def decide(p, cs, purpose="public", today=TODAY):
    return consent_for(p, cs, purpose, today)


def test_valid_written_consent_names_its_record():
    d = decide(person(birth_year=1980), [consent()])
    assert (d.valid, d.consent_id, d.reason_key) == (True, 10, "consent.reason.valid")
    assert "10" in d.message("en") and "10" in d.message("sv")


def test_purpose_must_match_exactly_both_ways():
    p = person(birth_year=1980)
    public_only = [consent(purpose="public")]
    internal_only = [consent(purpose="internal")]
    assert decide(p, public_only, "public").valid
    d = decide(p, public_only, "internal")
    assert not d.valid and d.consent_id is None
    assert d.reason_key == "consent.reason.other_purpose_only"
    assert not decide(p, internal_only, "public").valid
    both = [consent(id=1, purpose="public"), consent(id=2, purpose="internal")]
    assert decide(p, both, "public").consent_id == 1
    assert decide(p, both, "internal").consent_id == 2
    assert decide(p, [], "public").reason_key == "consent.reason.no_consent"
    assert decide(p, both, "everyone").reason_key == "consent.reason.unknown_purpose"


def test_other_peoples_records_do_not_count():
    d = decide(person(id=1, birth_year=1980), [consent(person_id=2)])
    assert not d.valid and d.reason_key == "consent.reason.no_consent"


def test_signed_in_the_future_is_not_valid_yet():
    d = decide(person(birth_year=1980), [consent(signed=date(2025, 6, 2))])
    assert not d.valid and d.reason_key == "consent.reason.not_yet_signed"
    assert decide(person(birth_year=1980), [consent(signed=TODAY)]).valid


def test_expiry_date_is_exclusive():
    p = person(birth_year=1980)
    c = [consent(expires=date(2025, 6, 2))]
    assert decide(p, c, today=date(2025, 6, 1)).valid          # the day before: still valid
    d = decide(p, c, today=date(2025, 6, 2))                    # the expiry date itself: not
    assert not d.valid and d.reason_key == "consent.reason.expired"
    assert "2025-06-02" in d.message("sv")
    assert not decide(p, c, today=date(2026, 1, 1)).valid


def test_withdrawn_from_the_withdrawal_date_on():
    p = person(birth_year=1980)
    c = [consent(withdrawn=date(2025, 3, 1))]
    assert decide(p, c, today=date(2025, 2, 28)).valid
    d = decide(p, c, today=date(2025, 3, 1))
    assert not d.valid and d.reason_key == "consent.reason.withdrawn"
    assert not decide(p, c, today=TODAY).valid


def test_a_newer_valid_record_wins_over_a_withdrawn_one():
    p = person(birth_year=1980)
    cs = [consent(id=1, signed=date(2024, 1, 1), withdrawn=date(2024, 6, 1)),
          consent(id=2, signed=date(2025, 1, 1))]
    assert decide(p, cs).consent_id == 2
    # when none holds, the newest record's problem is reported
    cs = [consent(id=1, signed=date(2024, 1, 1), expires=date(2024, 6, 1)),
          consent(id=2, signed=date(2025, 1, 1), withdrawn=date(2025, 2, 1))]
    d = decide(p, cs)
    assert not d.valid and d.reason_key == "consent.reason.withdrawn"


def test_protected_identity_overrides_any_consent():
    p = person(birth_year=1980, protected=True, staff=True)
    cs = [consent(), consent(id=11, kind="oral", recorded_by="Kim", form_ref=None)]
    for purpose in ("public", "internal"):
        d = decide(p, cs + [consent(id=12, purpose="internal")], purpose)
        assert not d.valid and d.reason_key == "consent.reason.protected"


def test_deceased_hidden_unless_family_asked_and_consent_still_valid():
    cs = [consent()]
    d = decide(person(birth_year=1950, deceased=True), cs)
    assert not d.valid and d.reason_key == "consent.reason.deceased"
    assert decide(person(birth_year=1950, deceased=True, deceased_may_appear=True), cs).valid
    # the family's wish does not replace the person's own consent
    d = decide(person(birth_year=1950, deceased=True, deceased_may_appear=True),
               [consent(withdrawn=date(2025, 2, 1))])
    assert not d.valid
    # the flag alone (person alive) changes nothing
    assert decide(person(birth_year=1950, deceased_may_appear=True), cs).valid


def test_oral_consent_only_for_staff_and_must_name_who_heard_it():
    oral = consent(kind="oral", form_ref=None, recorded_by="Kim")
    d = decide(person(birth_year=1980), [oral])
    assert not d.valid and d.reason_key == "consent.reason.oral_not_staff"
    assert decide(person(birth_year=1980, staff=True), [oral]).valid
    d = decide(person(staff=True), [consent(kind="oral", form_ref=None, recorded_by=" ")])
    assert not d.valid and d.reason_key == "consent.reason.oral_unrecorded"


def test_written_consent_needs_its_form_reference():
    d = decide(person(birth_year=1980), [consent(form_ref="")])
    assert not d.valid and d.reason_key == "consent.reason.no_form_ref"


def test_youngest_possible_age():
    assert youngest_age(2012, date(2025, 12, 31)) == 12
    assert youngest_age(2012, date(2025, 1, 1)) == 12
    assert youngest_age(2025, date(2025, 6, 1)) == -1


@pytest.mark.parametrize("birth_year, guardian, valid, reason", [
    # born 2012: 12 or 13 in 2025 -> taken as 12 -> guardian consent required
    (2012, None, False, "consent.reason.minor_needs_guardian"),
    (2012, False, False, "consent.reason.minor_needs_guardian"),
    (2012, True, True, "consent.reason.valid"),
    # born 2011: 13 or 14 -> taken as 13 -> may consent, but yes/no must be stated
    (2011, None, False, "consent.reason.minor_guardian_unstated"),
    (2011, False, True, "consent.reason.valid"),
    (2011, True, True, "consent.reason.valid"),
    # born 2007: 17 or 18 -> taken as 17 -> still a minor
    (2007, None, False, "consent.reason.minor_guardian_unstated"),
    (2007, False, True, "consent.reason.valid"),
    # born 2006: at least 18
    (2006, None, True, "consent.reason.valid"),
    # unknown birth year: treated as an adult, and the decision says so
    (None, None, True, "consent.reason.valid_age_unknown"),
])
def test_minors_at_the_birth_year_boundary(birth_year, guardian, valid, reason):
    d = decide(person(birth_year=birth_year), [consent(guardian_consent=guardian)])
    assert (d.valid, d.reason_key) == (valid, reason)


def test_under_13_without_guardian_never_becomes_valid_with_age():
    c = [consent(signed=date(2020, 5, 1), guardian_consent=False)]  # born 2010: 9 at signing
    assert not decide(person(birth_year=2010), c, today=date(2030, 1, 1)).valid


def test_birth_year_after_signing_is_not_valid():
    d = decide(person(birth_year=2025), [consent(signed=date(2024, 5, 1), guardian_consent=True)])
    assert not d.valid and d.reason_key == "consent.reason.birth_year_future"


def test_unknown_type_is_not_valid():
    assert not decide(person(), [consent(kind="nod")]).valid


def test_every_reason_renders_in_both_languages():
    cases = [decide(person(protected=True), [consent()]),
             decide(person(), [consent(expires=date(2025, 2, 1))]),
             decide(person(birth_year=2012), [consent()]),
             decide(person(), [consent(signed=date(2030, 1, 1))])]
    for d in cases:
        assert d.message("en") != d.message("sv")


# --- what the registry accepts --------------------------------------------------------------

def check(p, **kw):
    args = dict(purpose="public", kind="written", signed=SIGNED, form_ref="F-1",
                recorded_by=None, expires=None, guardian_consent=None, today=TODAY)
    args.update(kw)
    return check_new_consent(p, **args)


def refused(p, **kw) -> str:
    with pytest.raises(ConsentError) as err:
        check(p, **kw)
    assert err.value.message("sv") != err.value.message("en")
    return err.value.key


def test_entry_13_to_17_requires_the_guardian_yes_or_no():
    assert refused(person(birth_year=2011)) == "consent.err.guardian_unstated"
    assert check(person(birth_year=2011), guardian_consent=False) == []
    assert check(person(birth_year=2011), guardian_consent=True) == []


def test_entry_under_13_without_guardian_is_stored_with_a_warning():
    warnings = check(person(birth_year=2014))
    assert ("consent.warn.minor_no_guardian", {"birth_year": 2014}) in warnings
    assert check(person(birth_year=2014), guardian_consent=True) == []


def test_entry_refusals():
    adult = person(birth_year=1980)
    assert refused(adult, form_ref=None) == "consent.err.form_ref_required"
    assert refused(adult, kind="oral", form_ref=None, recorded_by="Kim") == \
        "consent.err.oral_staff_only"
    assert refused(person(birth_year=1980, staff=True), kind="oral", form_ref=None) == \
        "consent.err.oral_recorded_by"
    assert refused(adult, signed=date(2025, 6, 2)) == "consent.err.signed_future"
    assert refused(adult, expires=SIGNED) == "consent.err.expires_before_signed"
    assert refused(adult, purpose="everyone") == "consent.err.bad_purpose"
    assert refused(adult, kind="nod") == "consent.err.bad_kind"
    assert refused(person(birth_year=2025), signed=date(2024, 1, 1)) == \
        "consent.err.signed_before_birth"


def test_entry_warnings():
    keys = [k for k, _ in check(person(protected=True, deceased=True),
                                expires=date(2025, 3, 1))]
    assert keys == ["consent.warn.age_unknown", "consent.warn.already_expired",
                    "consent.warn.protected", "consent.warn.deceased"]
    assert check(person(birth_year=1980, staff=True), kind="oral", form_ref=None,
                 recorded_by="Kim") == []
