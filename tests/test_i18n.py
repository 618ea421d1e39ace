import importlib
import pkgutil

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
