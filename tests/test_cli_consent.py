"""`blurkit consent ...` end to end through click, in English and Swedish.

Face recognition (blurkit.identify) is built in parallel by another part of the project, so
these tests replace `blurkit.identify.enrol_photos` with a fake (fixture `fake_enrol`) that
returns synthetic float32 vectors derived from each photo's file name, and raises InputError
for a photo whose name contains "noface" — the contract the real module keeps:
`enrol_photos(paths, settings, faces, registered=, person_id=, confirmed_same_person_by=)
-> EnrolResult(templates=[np.ndarray float32], model=str)`. The real module behind it (face
picking, same-person check) is tested in test_enrol.py.
"""

import importlib
import os
import subprocess
import sys
import types
import zlib
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

import blurkit.cli.audit  # noqa: F401  (registers `blurkit audit`)
import blurkit.cli.consent  # noqa: F401  (registers `blurkit consent`)
from blurkit import i18n
from blurkit.audit import AuditLog
from blurkit.cli import cli
from blurkit.config import load_settings
from blurkit.consent.crypto import KEY_ENV
from blurkit.consent.registry import Registry
from blurkit.consent.rules import ConsentError
from blurkit.errors import InputError

MODEL = "fake-model"
SIGNED = (date.today() - timedelta(days=10)).isoformat()
ROOT = Path(__file__).resolve().parent.parent



def template_for(path: Path) -> np.ndarray:
    rng = np.random.default_rng(zlib.crc32(Path(path).name.encode()))
    return rng.normal(size=128).astype(np.float32)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    monkeypatch.setenv("BLURKIT_LANG", "en")
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv("BLURKIT_DATA_DIR", raising=False)
    yield
    i18n.set_language(None)  # --lang sv sets it for the process


@pytest.fixture()
def fake_enrol(monkeypatch):
    try:
        identify = importlib.import_module("blurkit.identify")
    except ImportError:  # not written yet
        identify = types.ModuleType("blurkit.identify")
        monkeypatch.setitem(sys.modules, "blurkit.identify", identify)
    calls: list[list[Path]] = []

    def enrol_photos(paths, settings, faces=None, **options):
        calls.append(list(paths))
        for p in paths:
            if "noface" in p.name:
                raise InputError("identify.enrol.no_face", photo=p.name)
        return SimpleNamespace(templates=[template_for(p) for p in paths], model=MODEL)

    monkeypatch.setattr(identify, "enrol_photos", enrol_photos, raising=False)
    return calls


@pytest.fixture()
def photos(tmp_path):
    out = {}
    for name in ("anna1.jpg", "anna2.jpg", "bo.jpg", "noface.jpg"):
        out[name] = tmp_path / name
        out[name].write_bytes(b"\xff\xd8 photo of " + name.encode() + os.urandom(64))
    return out


class Run:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.runner = CliRunner()

    def __call__(self, *args, lang=None, input=None):
        base = ["--data-dir", str(self.data_dir)] + (["--lang", lang] if lang else [])
        result = self.runner.invoke(cli, base + [str(a) for a in args], input=input)
        i18n.set_language(None)
        return result


@pytest.fixture()
def run(data_dir):
    return Run(data_dir)


def registry(data_dir) -> Registry:
    return Registry.open(load_settings(data_dir))


def add_anna(run, photos, *extra, lang=None):
    return run("consent", "add", "Anna Svensson", "--photo", photos["anna1.jpg"],
               "--photo", photos["anna2.jpg"], "--purpose", "public", "--purpose", "internal",
               "--signed", SIGNED, "--form-ref", "SAM-2025-014", "--birth-year", "1990",
               *extra, lang=lang)


def assert_no_template_printed(output: str, *paths: Path) -> None:
    for p in paths:
        v = template_for(p)
        for x in v[:8]:
            assert f"{x:.4f}" not in output and repr(float(x))[:8] not in output


def test_add_list_show_in_english(run, photos, fake_enrol, data_dir):
    out = add_anna(run, photos)
    assert out.exit_code == 0, out.output
    assert "Registered Anna Svensson as person 1." in out.output
    assert "Consent 1 recorded: public, written (form SAM-2025-014)." in out.output
    assert "Consent 2 recorded: internal" in out.output
    assert "2 face template(s) stored, encrypted (model fake-model)." in out.output
    assert "reference photos were not kept" in out.output
    assert "public: may be shown (consent 1)" in out.output
    assert fake_enrol == [[photos["anna1.jpg"], photos["anna2.jpg"]]]
    with registry(data_dir) as reg:
        got = reg.templates(MODEL)
        assert [pid for pid, _ in got] == [1, 1]
        assert np.array_equal(got[0][1], template_for(photos["anna1.jpg"]))
        assert reg.photo_count(1) == 0

    out = run("consent", "list")
    assert out.exit_code == 0
    assert "Anna Svensson" in out.output and "born 1990" in out.output
    assert "face templates: 2" in out.output and "1 person(s)." in out.output
    out = run("consent", "show", "1")
    assert out.exit_code == 0
    for text in ("Person 1: Anna Svensson", "Face templates: 2 (fake-model: 2)",
                 "#1 public, written (form SAM-2025-014)", "no expiry date",
                 "guardian consent: not stated", "internal: may be shown (consent 2)"):
        assert text in out.output, text
    assert_no_template_printed(out.output, photos["anna1.jpg"], photos["anna2.jpg"])


def test_add_list_show_in_swedish(run, photos, fake_enrol):
    out = add_anna(run, photos, "--expires", "2099-01-01", lang="sv")
    assert out.exit_code == 0, out.output
    assert "Anna Svensson är registrerad som person 1." in out.output
    assert "skriftligt (blankett SAM-2025-014)" in out.output
    assert "2 ansiktsmall(ar) sparade, krypterade" in out.output
    out = run("consent", "list", lang="sv")
    assert "född 1990" in out.output and "public: får visas (samtycke 1)" in out.output
    out = run("consent", "show", "1", lang="sv")
    assert "gäller till och med 2098-12-31 (upphör 2099-01-01)" in out.output
    assert "Ansiktsmallar: 2" in out.output
    out = run("consent", "list", "--on", "2099-01-01", lang="sv")
    assert "döljs - samtycke 1 upphörde att gälla 2099-01-01" in out.output


def test_keep_photos_stores_them_encrypted(run, photos, fake_enrol, data_dir):
    out = add_anna(run, photos, "--keep-photos")
    assert out.exit_code == 0 and "2 reference photo(s) kept, encrypted." in out.output
    with registry(data_dir) as reg:
        kept = reg.photos(1)
    assert [data for _, _, data in kept] == [photos["anna1.jpg"].read_bytes(),
                                            photos["anna2.jpg"].read_bytes()]
    disk = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.is_file())
    assert photos["anna1.jpg"].read_bytes() not in disk


@pytest.mark.parametrize("lang, text", [
    ("en", "'2025-02-30' is not a date: write it as YYYY-MM-DD"),
    ("sv", "'2025-02-30' är inget datum: skriv det som ÅÅÅÅ-MM-DD"),
])
def test_bad_date_is_a_clear_error_in_both_languages(run, photos, fake_enrol, lang, text):
    out = run("consent", "add", "Bo", "--purpose", "public", "--signed", "2025-02-30",
              "--form-ref", "F", lang=lang)
    assert out.exit_code == 2 and text in out.output
    out = run("consent", "withdraw", "1", "--date", "1/2/2025", lang=lang)
    assert out.exit_code == 2 and "1/2/2025" in out.output
    assert fake_enrol == []


def test_refused_consent_writes_nothing_and_enrols_nothing(run, photos, fake_enrol, data_dir):
    year = date.today().year
    out = run("consent", "add", "Teen", "--photo", photos["bo.jpg"], "--purpose", "public",
              "--signed", SIGNED, "--form-ref", "F", "--birth-year", str(year - 15))
    assert out.exit_code != 0
    assert isinstance(out.exception, ConsentError)
    assert out.exception.key == "consent.err.guardian_unstated"
    assert "--no-guardian-consent" in out.exception.message("sv")
    out = run("consent", "add", "Visitor", "--photo", photos["bo.jpg"], "--purpose", "public",
              "--signed", SIGNED, "--oral", "--recorded-by", "Kim")
    assert out.exception.key == "consent.err.oral_staff_only"
    out = run("consent", "add", "NoRef", "--purpose", "public", "--signed", SIGNED)
    assert out.exception.key == "consent.err.form_ref_required"
    assert fake_enrol == []
    with registry(data_dir) as reg:
        assert reg.persons() == []


def test_photo_without_a_usable_face_is_refused_with_its_reason(run, photos, fake_enrol,
                                                                 data_dir):
    out = run("consent", "add", "Anna", "--photo", photos["anna1.jpg"], "--photo",
              photos["noface.jpg"], "--purpose", "public", "--signed", SIGNED, "--form-ref", "F")
    assert isinstance(out.exception, InputError)
    assert out.exception.message("sv").startswith("noface.jpg: inget ansikte hittades")
    with registry(data_dir) as reg:
        assert reg.persons() == [] and reg.template_counts() == {}


def test_minor_warnings_and_staff_oral_consent(run, photos, fake_enrol):
    year = date.today().year
    out = run("consent", "add", "Child", "--photo", photos["bo.jpg"], "--purpose", "public",
              "--signed", SIGNED, "--form-ref", "F", "--birth-year", str(year - 8))
    assert out.exit_code == 0
    assert "will NEVER be valid" in out.output
    assert "public: hidden - consent 1: the person may have been under 13" in out.output
    out = run("consent", "add", "Teen", "--photo", photos["bo.jpg"], "--purpose", "public",
              "--signed", SIGNED, "--form-ref", "F", "--birth-year", str(year - 16),
              "--no-guardian-consent")
    assert out.exit_code == 0 and "public: may be shown (consent 2)" in out.output
    out = run("consent", "add", "Kim", "--staff", "--oral", "--recorded-by", "Unit manager",
              "--purpose", "internal", "--signed", SIGNED, lang="sv")
    assert out.exit_code == 0
    assert "muntligt (mottaget av Unit manager)" in out.output
    assert "internal: får visas (samtycke 3)" in out.output
    assert "Inget födelseår angivet" in out.output      # the unknown-age warning
    assert "inga referensfoton" in out.output           # cannot be recognised yet


def test_edit_person_flags_and_add_a_record_and_photos(run, photos, fake_enrol, data_dir):
    assert add_anna(run, photos).exit_code == 0
    out = run("consent", "edit", "1", "--protected")
    assert out.exit_code == 0 and "Person 1 updated: protected identity." in out.output
    assert "public: hidden - protected identity" in out.output
    out = run("consent", "edit", "1", "--no-protected", "--deceased", lang="sv")
    assert "skyddad identitet, avliden" in out.output
    assert "public: döljs - avliden" in out.output
    out = run("consent", "edit", "1", "--family-allows")
    assert "public: may be shown" in out.output
    out = run("consent", "edit", "1")
    assert out.exit_code == 0 and "Nothing to change." in out.output
    out = run("consent", "edit", "1", "--purpose", "public")
    assert out.exit_code == 2 and "--signed" in out.output
    out = run("consent", "edit", "1", "--purpose", "public", "--signed", SIGNED,
              "--form-ref", "SAM-2", "--photo", photos["bo.jpg"])
    assert out.exit_code == 0, out.output
    assert "Consent 3 recorded: public" in out.output
    assert "1 face template(s) stored" in out.output
    with registry(data_dir) as reg:
        assert reg.template_counts(1) == {MODEL: 3}
        assert len(reg.consents(1)) == 3
    out = run("consent", "show", "99", lang="sv")
    assert out.exception.key == "consent.err.not_found"


def test_withdraw_erases_templates_and_points_to_the_takedown_list(run, photos, fake_enrol,
                                                                   data_dir):
    assert add_anna(run, photos).exit_code == 0
    settings = load_settings(data_dir)
    with AuditLog.open(settings) as log:
        for i in range(3):
            log.append({"kind": "photo", "purpose": "public", "output_path": f"/out/{i}.jpg",
                        "shown": [(1, 1)]})
    out = run("consent", "withdraw", "1", "--purpose", "public")
    assert out.exit_code == 0, out.output
    assert "Consent withdrawn for person 1 as of" in out.output and "record(s) 1." in out.output
    assert "Erased 2 face template(s) and 0 kept photo(s)." in out.output
    assert "3 earlier output(s) showed this person" in out.output
    assert "blurkit audit find --person 1" in out.output
    assert "consent for internal remains" in out.output
    with registry(data_dir) as reg:
        assert reg.template_counts(1) == {}
        assert not reg.decide(1, "public").valid
    out = run("audit", "find", "--person", "1")
    assert out.exit_code == 0 and "3 output(s) showed person 1." in out.output
    out = run("consent", "withdraw", "1", lang="sv")
    assert "Samtycket återkallat för person 1" in out.output and "post(er) 2." in out.output
    assert "Raderade 0 ansiktsmall(ar)" in out.output
    assert "3 tidigare utdata visade personen" in out.output
    out = run("consent", "withdraw", "1")
    assert "had no consent in force" in out.output
    future = (date.today() + timedelta(days=3)).isoformat()
    out = run("consent", "withdraw", "1", "--date", future)
    assert out.exception.key == "consent.err.withdraw_future"


def test_remove_asks_first_then_erases(run, photos, fake_enrol, data_dir):
    assert add_anna(run, photos, "--keep-photos").exit_code == 0
    out = run("consent", "remove", "1", input="n\n")
    assert out.exit_code == 1 and "Erase person 1 (Anna Svensson)" in out.output
    with registry(data_dir) as reg:
        assert reg.person(1).name == "Anna Svensson"
    out = run("consent", "remove", "1", "--yes", lang="sv")
    assert out.exit_code == 0, out.output
    assert "Person 1 är raderad: 2 samtyckespost(er), 2 ansiktsmall(ar), 2 foto(n)." \
        in out.output
    assert "0 tidigare utdata visade personen" in out.output
    with registry(data_dir) as reg:
        assert reg.persons() == [] and reg.template_counts() == {}
    out = run("audit", "find", "--person", "1", "--history")
    assert "erasure by" in out.output and "person-removed" in out.output
    assert "Anna" not in out.output
    out = run("audit", "verify")
    assert out.exit_code == 0


def test_missing_key_stops_enrolment_before_photos_are_analysed(run, photos, fake_enrol,
                                                               data_dir):
    assert add_anna(run, photos).exit_code == 0
    (data_dir / "registry.key").unlink()
    out = run("consent", "add", "Bo", "--photo", photos["bo.jpg"], "--purpose", "public",
              "--signed", SIGNED, "--form-ref", "F")
    assert out.exception.key == "consent.key.missing"
    assert len(fake_enrol) == 1  # only Anna's enrolment ran
    assert run("consent", "list").exit_code == 0  # names and consents stay readable


def test_installed_command_registers_consent_and_audit_and_shows_bilingual_errors(data_dir):
    """The real `blurkit` entry point (a subprocess): commands are registered in main() and a
    BlurkitError reaches the person as a translated message with exit code 2."""
    env = {**os.environ, "BLURKIT_DATA_DIR": str(data_dir), "BLURKIT_LANG": "sv"}
    env.pop(KEY_ENV, None)
    cmd = [sys.executable, "-m", "blurkit"]
    out = subprocess.run(cmd + ["consent", "show", "7"], env=env, capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 2
    assert "Fel: Det finns ingen person med id 7 i registret." in out.stderr
    out = subprocess.run(cmd + ["--lang", "en", "audit", "verify"], env=env,
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and "The diarium is intact: 0 entries" in out.stdout


def test_the_takedown_list_is_one_list(run, photos, fake_enrol, data_dir):
    """`consent withdraw`, `consent remove`, `audit find` and the register page all read the
    one takedown list (usecases.people.takedown_rows): the same outputs, in local time."""
    import re

    from blurkit.usecases.people import PeopleService

    assert add_anna(run, photos).exit_code == 0
    settings = load_settings(data_dir)
    with AuditLog.open(settings) as log:
        log.append({"kind": "photo", "purpose": "public", "output_path": "/out/a.jpg",
                    "shown": [(1, 1)]})
        log.append({"kind": "photo", "purpose": "public", "output_path": "/out/b.jpg",
                    "shown": [(2, 5)]})                                  # someone else
        log.append({"kind": "photo", "status": "failed", "purpose": "public",
                    "reason": "review.rejected", "shown": []})            # nothing published
        log.append({"kind": "video", "purpose": "internal", "output_path": "/out/c.mp4",
                    "shown": [(2, 5), (1, 2)]})
    rows = PeopleService(settings).takedown(1).rows
    assert [(r.file, r.consent_ids) for r in rows] == [("a.jpg", (1,)), ("c.mp4", (2,))]
    out = run("audit", "find", "--person", "1")
    assert out.exit_code == 0
    found = re.findall(r"#(\d+) (\S+) \w+: (\S+)", out.output)
    assert [(int(seq), path) for seq, _, path in found] == [(r.seq, r.path) for r in rows]
    for _, moment, _ in found:                       # local time, its offset stated
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", moment), moment
    out = run("consent", "withdraw", "1")
    assert "2 earlier output(s) showed this person" in out.output
    out = run("consent", "remove", "1", "--yes")
    assert "2 earlier output(s) showed this person" in out.output
    assert [r.seq for r in PeopleService(settings).takedown(1).rows] == [r.seq for r in rows]
