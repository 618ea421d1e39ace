import importlib
import os
import pkgutil
import subprocess
import sys

import pytest

import blurkit
from blurkit import i18n


def _import_all():
    for mod in pkgutil.walk_packages(blurkit.__path__, "blurkit."):
        if mod.name in ("blurkit.__main__",):
            continue
        importlib.import_module(mod.name)


def test_every_message_has_both_languages_and_same_placeholders():
    import string

    _import_all()
    cat = i18n.catalog()
    assert len(cat) > 10
    fmt = string.Formatter()
    for key, texts in cat.items():
        names = {lang: {f for _, f, _, _ in fmt.parse(texts[lang]) if f} for lang in i18n.LANGUAGES}
        assert names["en"] == names["sv"], key
        assert texts["en"] != texts["sv"] or len(texts["en"]) < 4, f"{key} is not translated"


def test_language_choice(monkeypatch):
    i18n.register({"test.hello": {"en": "Hello {name}", "sv": "Hej {name}"}})
    i18n.set_language(None)
    monkeypatch.delenv("BLURKIT_LANG", raising=False)
    monkeypatch.setenv("LC_ALL", "")
    monkeypatch.setenv("LC_MESSAGES", "")
    monkeypatch.setenv("LANG", "sv_SE.UTF-8")
    assert i18n.t("test.hello", name="Ada") == "Hej Ada"
    monkeypatch.setenv("BLURKIT_LANG", "en")
    assert i18n.t("test.hello", name="Ada") == "Hello Ada"
    i18n.set_language("sv")
    try:
        assert i18n.t("test.hello", name="Ada") == "Hej Ada"
    finally:
        i18n.set_language(None)
    with pytest.raises(ValueError):
        i18n.register({"test.bad": {"en": "only english"}})


def _help(args: list[str], env_lang: str, data_dir) -> str:
    env = {**os.environ, "BLURKIT_LANG": env_lang, "BLURKIT_DATA_DIR": str(data_dir)}
    proc = subprocess.run([sys.executable, "-m", "blurkit", *args], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return " ".join(proc.stdout.split())     # click wraps lines


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_help_follows_lang_option_and_settings_file(tmp_path):
    """Help texts are written at import time in the environment's language; --lang and the
    settings file still choose the language of --help."""
    _import_all()
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


def test_early_language_reads_only_the_group_options(tmp_path):
    from blurkit.cli import early_language

    assert early_language(["--lang", "sv", "process", "x"]) == "sv"
    assert early_language(["--data-dir", str(tmp_path), "--lang=en", "process"]) == "en"
    # a sub-command's own argument named like the option is not the group's option
    (tmp_path / "settings.toml").write_text('language = "sv"\n', encoding="utf-8")
    assert early_language(["--data-dir", str(tmp_path), "process", "--lang", "en"]) == "sv"
    (tmp_path / "settings.toml").write_text("language = [\n", encoding="utf-8")
    assert early_language(["--data-dir", str(tmp_path), "process"]) is None
