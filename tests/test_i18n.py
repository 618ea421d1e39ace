"""The words a person reads: gettext catalogues in Swedish and English, complete and used."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from blurkit import i18n

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import messages  # noqa: E402  (scripts/messages.py: Babel extraction and the checks)


def test_catalogues_complete_used_and_consistent():
    """Every message id used in the code or the templates is in both catalogues, none of
    the catalogues' ids is unused, placeholders agree between the languages, and every word
    of Click has its Swedish text (scripts/messages.py check says the same)."""
    assert messages.problems() == []


def test_the_check_finds_a_missing_and_an_unused_message(tmp_path):
    """The check itself can fail: an id used in a template but missing from the catalogues,
    and an id in the catalogues that nothing uses."""
    pkg = tmp_path / "blurkit"
    (pkg / "web" / "templates").mkdir(parents=True)
    (pkg / "web" / "templates" / "x.html").write_text("{{ t('web.queue.title') }} "
                                                      "{{ t('web.photo.nonexistent') }}")
    (pkg / "x.py").write_text('KEY = "web.queue.start"\nOTHER = "audit.sqlite3"\n')
    found = messages.uses(pkg, ids={"web.queue.title", "web.queue.start", "web.queue.keys"})
    assert set(found) == {"web.queue.title", "web.photo.nonexistent", "web.queue.start"}


def test_every_message_translated():
    cat = i18n.catalog()
    assert len(cat) > 500
    for key, texts in cat.items():
        assert set(texts) == set(i18n.LANGUAGES), key
        same = texts["en"] == texts["sv"]
        # command lines are the same in both languages (examples with nothing to translate)
        assert not same or len(texts["en"]) < 4 or key.startswith("cli.examples."), \
            f"{key} is not translated"


def test_compiled_catalogues_match_their_sources(tmp_path):
    for lang in i18n.LANGUAGES:
        mo = tmp_path / f"{lang}.mo"
        source = i18n.read_po(i18n.po_path(lang))
        i18n.write_mo(source, mo)
        import gettext

        with mo.open("rb") as f:
            compiled = {k: v for k, v in gettext.GNUTranslations(f)._catalog.items() if k}
        source.pop("", None)
        assert compiled == source


def test_language_choice(monkeypatch):
    i18n.set_language(None)
    monkeypatch.delenv("BLURKIT_LANG", raising=False)
    monkeypatch.setenv("LC_ALL", "")
    monkeypatch.setenv("LC_MESSAGES", "")
    monkeypatch.setenv("LANG", "sv_SE.UTF-8")
    assert i18n.t("cli.error", message="x") == "Fel: x"
    monkeypatch.setenv("BLURKIT_LANG", "en")
    assert i18n.t("cli.error", message="x") == "Error: x"
    i18n.set_language("sv")
    try:
        assert i18n.t("cli.error", message="x") == "Fel: x"
    finally:
        i18n.set_language(None)
    with pytest.raises(KeyError):
        i18n.t("cli.no_such_message")


def test_a_translator_edits_the_po_file_and_sees_it(tmp_path, monkeypatch):
    """A `.po` newer than its `.mo` is read directly: an edit shows without a build."""
    locale = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, locale)
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale)
    i18n.compile_catalogues()
    i18n.reload()
    try:
        assert i18n.t("web.queue.title", "sv") == "Granska före publicering"
        po = i18n.po_path("sv")
        text = po.read_text(encoding="utf-8").replace(
            'msgstr "Granska före publicering"', 'msgstr "Titta igenom före publicering"')
        time.sleep(0.01)
        po.write_text(text, encoding="utf-8")
        os.utime(po, (time.time() + 5, time.time() + 5))      # newer than the .mo
        i18n.reload()
        assert i18n.t("web.queue.title", "sv") == "Titta igenom före publicering"
    finally:
        monkeypatch.undo()
        i18n.reload()


def _run(args: list[str], env_lang: str, data_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "BLURKIT_LANG": env_lang, "BLURKIT_DATA_DIR": str(data_dir)}
    env.pop("LANGUAGE", None)
    return subprocess.run([sys.executable, "-m", "blurkit", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def _help(args: list[str], env_lang: str, data_dir) -> str:
    proc = _run(args, env_lang, data_dir)
    assert proc.returncode == 0, proc.stderr
    return " ".join(proc.stdout.split())     # click wraps lines


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_help_follows_lang_option_and_settings_file(tmp_path):
    sv_help = _flat(i18n.t("cli.process.opt.output", "sv"))
    en_help = _flat(i18n.t("cli.process.opt.output", "en"))
    out = _help(["--lang", "sv", "process", "--help"], "en", tmp_path)
    assert sv_help in out and en_help not in out
    out = _help(["--lang=en", "process", "--help"], "sv", tmp_path)
    assert en_help in out and sv_help not in out
    (tmp_path / "settings.toml").write_text('language = "sv"\n', encoding="utf-8")
    out = _help(["process", "--help"], "en", tmp_path)
    assert sv_help in out
    top = _help(["--help"], "en", tmp_path)          # group and command summaries too
    assert _flat(i18n.t("cli.help", "sv")) in top


def test_lang_and_data_dir_work_after_the_command_too(tmp_path):
    """`blurkit process ... --lang sv` (as the README shows it) is not "No such option"."""
    out = _help(["process", "--help", "--lang", "sv"], "en", tmp_path)
    assert _flat(i18n.t("cli.process.opt.output", "sv")) in out
    proc = _run(["status", "--lang", "sv", "--data-dir", str(tmp_path / "other")], "en", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Ingen bevakad mapp" in proc.stdout


def test_clicks_own_words_are_swedish_under_sv(tmp_path):
    out = _help(["--lang", "sv", "process", "--help"], "en", tmp_path)
    assert out.startswith("Användning: ") and "process [FLAGGOR] INPUTS" in out
    assert "Visa den här hjälpen och avsluta." in out and "Flaggor:" in out
    assert "Usage:" not in out and "Show this message" not in out
    proc = _run(["--lang", "sv", "process"], "en", tmp_path)     # a usage error
    assert proc.returncode == 2
    assert "Fel: Argument saknas" in proc.stderr and "Missing argument" not in proc.stderr
    proc = _run(["process"], "en", tmp_path)                       # English stays English
    assert "Missing argument" in proc.stderr


def test_early_language_reads_lang_and_data_dir_before_and_after_the_command(tmp_path):
    from blurkit.cli import early_language

    assert early_language(["--lang", "sv", "process", "x"]) == "sv"
    assert early_language(["--data-dir", str(tmp_path), "--lang=en", "process"]) == "en"
    (tmp_path / "settings.toml").write_text('language = "sv"\n', encoding="utf-8")
    assert early_language(["process", "--data-dir", str(tmp_path), "x"]) == "sv"
    assert early_language(["--data-dir", str(tmp_path), "process", "--lang", "en"]) == "en"
    assert early_language(["--data-dir", str(tmp_path), "process", "--", "--lang", "en"]) == "sv"
    (tmp_path / "settings.toml").write_text("language = [\n", encoding="utf-8")
    assert early_language(["--data-dir", str(tmp_path), "process"]) is None
