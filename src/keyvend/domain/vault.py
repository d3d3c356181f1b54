"""Secrets at rest: HMAC digests for lookup, AES-GCM for display, hashed tokens.

Every key comes from the master secret by HKDF, one per purpose, except the token-digest key
after a rotation: API tokens and session tokens are stored only as `HMAC(token_key, token)`,
which cannot be recomputed under a new key without the tokens themselves, so rotation keeps the
token key and stores it wrapped (AES-GCM) under a key derived from the new master
(`wrapped_token_key`, `with_wrapped_token_key`). Key digests and ciphertexts can be recomputed
(the keys decrypt), so they move to the new master's subkeys.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from keyvend.domain.keygen import normalize_key

_NONCE = 12
_TOKEN_KEY_LABEL = b"keyvend token digest v1"
_CHECK_LABEL = b"keyvend secret check v1"


class UndecryptableKey(ValueError):
    """A key ciphertext does not verify: tampered with, or made under another secret."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


class KeyVault:
    """Everything derived from the master secret: one subkey per purpose.

    `token_key` is the token-digest key kept across rotations; by default (an install never
    rotated) it is derived from the master like the other subkeys.
    """

    def __init__(self, master: bytes, *, token_key: bytes | None = None) -> None:
        self._lookup = _Hmac256(_derive(master, b"keyvend api-key lookup v1"))
        self._token_key = _derive(master, _TOKEN_KEY_LABEL) if token_key is None else token_key
        self._tokens = _Hmac256(self._token_key)
        self._aead = AESGCM(_derive(master, b"keyvend api-key encryption v1"))
        self._wrapping = AESGCM(_derive(master, b"keyvend token key wrapping v1"))
        # Tells whether a secret is the database's without revealing anything of it.
        self.check_value = (
            _Hmac256(_derive(master, _CHECK_LABEL)).digest(b"keyvend secret check").hex()
        )

    def key_digest(self, key: str) -> bytes:
        """HMAC-SHA256 of the key as looked up (case folded, dashes kept)."""
        return self._lookup.digest(normalize_key(key).encode())

    def encrypt_key(self, key: str) -> bytes:
        """Nonce + AES-GCM ciphertext of the key, for showing it to its owner."""
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, key.encode(), b"apikey")

    def decrypt_key(self, blob: bytes) -> str:
        """The plaintext key; raises UndecryptableKey (a ValueError) if it does not verify."""
        try:
            return self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], b"apikey").decode()
        except (InvalidTag, ValueError):  # ValueError: a blob too short to hold a tag
            raise UndecryptableKey("API key ciphertext does not verify") from None

    def token_digest(self, token: str) -> str:
        """Hex HMAC of an API token or session token (what the database keeps)."""
        return self._tokens.digest(token.encode()).hex()

    def wrapped_token_key(self) -> bytes:
        """Nonce + the token-digest key encrypted under this master's wrapping subkey."""
        nonce = os.urandom(_NONCE)
        return nonce + self._wrapping.encrypt(nonce, self._token_key, b"token key")

    def with_wrapped_token_key(self, wrapped: bytes) -> KeyVault:
        """This vault with the token key stored wrapped; ValueError if it does not unwrap."""
        try:
            token_key = self._wrapping.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], b"token key")
        except (InvalidTag, ValueError):
            raise ValueError("The stored token key does not unwrap with this secret") from None
        vault = copy.copy(self)
        vault._token_key = token_key
        vault._tokens = _Hmac256(token_key)
        return vault

    def successor(self, new_master: bytes) -> KeyVault:
        """The vault of `new_master` that keeps this vault's token key (a rotation)."""
        return KeyVault(new_master, token_key=self._token_key)


class _Hmac256:
    """HMAC-SHA256 under one fixed key, its padded key blocks hashed once (RFC 2104).

    Same output as `hmac.digest(key, message, "sha256")`, in about half the time: the key
    check (and every token-authenticated call) computes one digest, and the one-shot function
    sets up OpenSSL's HMAC context from scratch every time.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:  # longer than SHA-256's block: the key is hashed first
            key = hashlib.sha256(key).digest()
        block = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def new_token() -> str:
    """A fresh 256-bit URL-safe token for API tokens, sessions and CSRF."""
    return secrets.token_urlsafe(32)


def same(a: bytes | str, b: bytes | str) -> bool:
    """Constant-time comparison."""
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    return hmac.compare_digest(a, b)
