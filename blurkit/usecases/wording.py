"""Words as data: what a use case says is a message id with parameters, and a parameter may
itself be words (a purpose's name, a field's name, a list of them). Whoever shows it words
it in the reader's language with `say`, the same way on the page and on the command line.

    Notice("ok", "web.reg.done.record", {"id": 3, "purpose": purpose("public")})
    say(notice, "sv")  ->  "Samtycke 3 registrerat: offentligt."
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from blurkit import choices, i18n


@dataclass(frozen=True)
class Ref:
    """Words to be put in a sentence: a message id and its parameters. `lenient`: the id
    was kept without its parameters (an old log entry's reason), so missing ones read "…"."""
    key: str
    params: dict = field(default_factory=dict)
    lenient: bool = False


def purpose(code: str | None) -> Ref | str:
    """A purpose by its name in the catalogue (an unknown code as it is)."""
    choice = choices.PURPOSES.get(code) if code else None
    return Ref(choice.label) if choice is not None and choice.label else (code or "–")


def value(v: object, lang: str, rename: dict | None = None) -> object:
    """A parameter as it goes into a sentence: words worded, lists joined, dates written
    out; numbers stay numbers (their format is the message's)."""
    if isinstance(v, Ref):
        return text(v.key, v.params, lang, rename, lenient=v.lenient)
    if isinstance(v, (list, tuple, set, frozenset)):
        return ", ".join(str(value(x, lang, rename)) for x in v)
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, date):
        return v.isoformat()
    return v


def text(key: str, params: dict | None, lang: str, rename: dict | None = None,
         lenient: bool = False) -> str:
    """The sentence of message `key` in `lang`. `rename` maps ids to others (a page that
    says in its own words what a library message says in command-line terms). `lenient`:
    placeholders without a value (an old log entry kept the id, not its parameters) read
    "…" instead of failing."""
    key = (rename or {}).get(key, key)
    values = {k: value(v, lang, rename) for k, v in (params or {}).items()}
    if not lenient:
        return i18n.t(key, lang, **values)
    if not i18n.known(key):
        return key
    for _ in range(20):                  # a placeholder nobody filled reads "…"
        try:
            return i18n.t(key, lang, **values)
        except KeyError as exc:
            if exc.args[0] in values:
                raise
            values[exc.args[0]] = "…"
        except (ValueError, IndexError):     # "…" where a number was expected
            return key
    return key


def say(item, lang: str, rename: dict | None = None) -> str:
    """Anything that carries words (a Notice, a Ref, a BlurkitError, a consent Decision:
    `key`/`params`, or `reason_key`/`params`) as a sentence in `lang`; a plain string as it
    is; None as ""."""
    if item is None:
        return ""
    if isinstance(item, str):
        return item
    key = getattr(item, "key", None) or getattr(item, "reason_key", None)
    if key is None:
        return str(item)
    return text(key, getattr(item, "params", None), lang, rename,
                lenient=getattr(item, "lenient", False))


def say_all(items, lang: str, sep: str = " · ", rename: dict | None = None) -> str:
    """Several pieces of words as one line."""
    return sep.join(s for s in (say(i, lang, rename) for i in items or ()) if s)


# ------------------------------------------------------------------ the engine's own codes
# Reports and results carry codes (a track's reason, a suggestion's why, how a registration
# face was chosen); their words live beside the code that writes them. The page reads them
# here, so that it never reaches past the use cases.

def reason_families() -> tuple[dict[str, str], ...]:
    """Why the engine hid or showed a face: the video vote's codes, then recognition's."""
    from blurkit.engine.vote import REASON_WORDS as VIDEO
    from blurkit.identify import REASON_WORDS as IDENTIFY
    return VIDEO, IDENTIFY


def suggestion_why(code: str, lang: str) -> str:
    """Why a face was held back as a suggestion (`suggestion.why`), in words."""
    from blurkit.identify.bars import why_text
    return why_text(code, lang)


def chosen_face(how: str) -> str:
    """The message id of how a registration photo's face was chosen."""
    from blurkit.identify.enrol import CHOSEN_WORDS
    return CHOSEN_WORDS[how]
