"""Settings and the data directory.

One data directory holds everything blurkit keeps: `settings.toml`, `models/`, the consent
registry and its key, the audit log and the watch-folder state. It is the platform's user
data folder unless `--data-dir` or `BLURKIT_DATA_DIR` names another. `BLURKIT_MODELS_DIR`
may point the models at a shared folder (the test suite uses this).

`settings.toml` is optional; every key has a default. Example::

    language = "sv"            # "sv" or "en"; default: from the locale
    detector = "centerface"    # see `blurkit process --help`
    mode = "destroy"           # destroy | blur | pixelate | solid | sticker
    mask = "head"              # head | box | ellipse
    margin = 0.2               # fraction of the face box added around it
    jpeg_quality = 92
    workers = 0                # 0 = one per CPU core
    purpose = "public"         # default purpose of outputs: public | internal
    operator = "kim"           # name written into the audit log; default: login name
    review = true              # watch folder: outputs wait for a person's approval before
                               # they go to ready/ (false: straight to ready/)
    max_upload_mb = 4096       # the web page's upload: the largest file it takes
    text = "hide"              # readable text (badges, signs, screens): hide (default) |
                               # review (hide, and the watch folder holds the photo for a
                               # person even with review = false) | off (not looked for)
"""

from __future__ import annotations

import dataclasses
import getpass
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_data_dir

from blurkit import choices, i18n
from blurkit.errors import ConfigError

MODES = choices.names(choices.STYLES)
MASKS = choices.names(choices.MASKS)
PURPOSES = choices.names(choices.PURPOSES)
DETECTORS = choices.names(choices.DETECTORS)
TEXTS = choices.names(choices.TEXT)


def default_data_dir() -> Path:
    env = os.environ.get("BLURKIT_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path(user_data_dir("blurkit", appauthor=False))


def _default_operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers, services)
        return "unknown"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    language: str | None = None
    detector: str = choices.DEFAULT_DETECTOR
    mode: str = choices.DEFAULT_STYLE
    mask: str = choices.DEFAULT_MASK
    margin: float = 0.2
    jpeg_quality: int = 92
    workers: int = 0
    purpose: str = choices.DEFAULT_PURPOSE
    operator: str = field(default_factory=_default_operator)
    review: bool = True
    max_upload_mb: int = 4096        # the web page's upload: the largest file taken
    text: str = choices.DEFAULT_TEXT   # readable text: hide | review | off
    models_dir_override: Path | None = None

    @property
    def models_dir(self) -> Path:
        if self.models_dir_override is not None:
            return self.models_dir_override
        env = os.environ.get("BLURKIT_MODELS_DIR")
        if env:
            return Path(env).expanduser()
        return self.data_dir / "models"

    @property
    def settings_file(self) -> Path:
        return self.data_dir / "settings.toml"

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)


_FILE_KEYS = {"language", "detector", "mode", "mask", "margin", "jpeg_quality", "workers",
              "purpose", "operator", "review", "max_upload_mb",
              "text"}


def _check(key: str, value: object, path: Path) -> object:
    def bad(reason: str) -> ConfigError:
        # (`key` is BlurkitError's own first argument: the setting's name is `setting`)
        return ConfigError("config.bad_value", setting=key, path=path, value=value,
                           reason=reason)

    allowed = {"language": i18n.LANGUAGES, "mode": MODES, "mask": MASKS, "purpose": PURPOSES,
               "detector": DETECTORS, "text": TEXTS}
    if key in allowed:
        if value not in allowed[key]:
            raise bad(" | ".join(allowed[key]))
    elif key == "margin":
        if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 2.0:
            raise bad("0.0 – 2.0")
        value = float(value)
    elif key == "jpeg_quality":
        if not isinstance(value, int) or not 50 <= value <= 100:
            raise bad("50 – 100")
    elif key == "review":
        if not isinstance(value, bool):
            raise bad("true | false")
    elif key == "max_upload_mb":
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1 << 20:
            raise bad("1 – 1048576")
    elif key == "workers":
        if not isinstance(value, int) or value < 0:
            raise bad(">= 0")
    elif not isinstance(value, str) or not value:
        raise bad("text")
    return value


def load_settings(data_dir: Path | None = None) -> Settings:
    """Defaults, overlaid with `settings.toml` from the data directory if it exists."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    path = data_dir / "settings.toml"
    values: dict[str, object] = {}
    if path.is_file():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError("config.bad_toml", path=path, reason=exc) from exc
        for key, value in raw.items():
            if key not in _FILE_KEYS:
                # (`key` is BlurkitError's own first argument: found by fuzzing, an unknown
                # setting raised TypeError instead of this message)
                raise ConfigError("config.unknown_key", setting=key, path=path,
                                  known=", ".join(sorted(_FILE_KEYS)))
            values[key] = _check(key, value, path)
    return Settings(data_dir=data_dir, **values)
