"""Encryption at rest of face templates and kept reference photos (GDPR art. 9 biometric data).

AES-256-GCM (`cryptography`), a fresh random 96-bit nonce per item, and associated data that
binds each ciphertext to its row: a template decrypts only as the template id it was stored
under, for the same person and embedding model (a row copied to another person fails).

The key is 32 random bytes, from (in order):
  1. `BLURKIT_REGISTRY_KEY` in the environment (base64 of 32 bytes), or
  2. `<data_dir>/registry.key` (the raw 32 bytes), owner-only (0600). It is written to a
     private temporary file (mkstemp: O_EXCL, mode 0600), fsynced, then linked into place
     without overwriting, so two processes can never each create a different key and no
     reader ever sees a half-written one.
A new key file is made only when the registry has never held encrypted data. The registry
stores a "key check" (a small known value encrypted with the key) so a missing or wrong key
is a clear error — never silently a new key that would orphan the stored templates.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from blurkit.consent.rules import ConsentError
from blurkit.fsutil import commit

KEY_FILE = "registry.key"
KEY_ENV = "BLURKIT_REGISTRY_KEY"
KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_CHECK_PLAINTEXT = b"blurkit registry key check v1"


_DECRYPT_FAILED = {"template": "consent.key.decrypt_failed.template",
                   "photo": "consent.key.decrypt_failed.photo"}

class RegistryKeyError(ConsentError):
    """The registry key is missing, wrong or unusable."""


def key_path(data_dir: Path) -> Path:
    return Path(data_dir) / KEY_FILE


def _key_from_env() -> bytes | None:
    value = os.environ.get(KEY_ENV)
    if value is None or not value.strip():
        return None
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise RegistryKeyError("consent.key.bad_env", env=KEY_ENV)
    return key


def _key_from_file(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if os.name == "posix" and st.st_mode & 0o077:
            raise RegistryKeyError("consent.key.too_open", path=path,
                                   mode=oct(stat.S_IMODE(st.st_mode)))
        key = fh.read(KEY_BYTES + 1)
    if len(key) != KEY_BYTES:
        raise RegistryKeyError("consent.key.bad_file", path=path)
    return key


def _create_key_file(path: Path) -> bytes:
    """Write a new random key to `path` unless one appeared meanwhile; return the key in force."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(KEY_BYTES)
    # mkstemp opens with O_CREAT | O_EXCL and mode 0600
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.write(fd, key)
    finally:
        os.close(fd)
    try:
        commit(Path(tmp), path, overwrite=False)  # fsync, link without overwriting
    except FileExistsError:
        os.unlink(tmp)
        existing = _key_from_file(path)
        assert existing is not None
        return existing
    return key


def load_key(data_dir: Path, *, may_create: bool) -> tuple[bytes, str] | None:
    """(key, where it came from) or None when there is none and `may_create` is False."""
    key = _key_from_env()
    if key is not None:
        return key, KEY_ENV
    path = key_path(data_dir)
    key = _key_from_file(path)
    if key is None and may_create:
        key = _create_key_file(path)
    return (key, str(path)) if key is not None else None


def missing_key_error(data_dir: Path) -> RegistryKeyError:
    return RegistryKeyError("consent.key.missing", path=key_path(data_dir), env=KEY_ENV)


def _aad(*parts: object) -> bytes:
    return json.dumps(["blurkit/v1", *parts], separators=(",", ":")).encode("utf-8")


def template_aad(person_id: int, template_id: int, model: str) -> bytes:
    return _aad("template", int(person_id), int(template_id), str(model))


def photo_aad(person_id: int, photo_id: int) -> bytes:
    return _aad("photo", int(person_id), int(photo_id))


KEY_CHECK_AAD = _aad("key-check")


class Cipher:
    """AES-256-GCM with a random nonce per message. Holds the key; never prints it."""

    def __init__(self, key: bytes, source: str) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("AES-256 needs a 32-byte key")
        self._aes = AESGCM(key)
        self.source = source

    def __repr__(self) -> str:
        return f"Cipher(source={self.source!r})"

    def encrypt(self, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        return nonce, self._aes.encrypt(nonce, plaintext, aad)

    def decrypt(self, nonce: bytes, ciphertext: bytes, aad: bytes, *, what: str,
                item_id: object) -> bytes:
        """`what`: "template" or "photo" (names the error message)."""
        try:
            return self._aes.decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise RegistryKeyError(_DECRYPT_FAILED[what], item_id=item_id) from None

    def key_check(self) -> tuple[bytes, bytes]:
        return self.encrypt(_KEY_CHECK_PLAINTEXT, KEY_CHECK_AAD)

    def matches(self, nonce: bytes, ciphertext: bytes) -> bool:
        try:
            return self._aes.decrypt(nonce, ciphertext, KEY_CHECK_AAD) == _KEY_CHECK_PLAINTEXT
        except InvalidTag:
            return False


def wrong_key_error(source: str) -> RegistryKeyError:
    return RegistryKeyError("consent.key.wrong", source=source, env=KEY_ENV)
