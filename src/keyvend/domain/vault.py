"""Secrets at rest: HMAC digests for lookup, AES-GCM for display, hashed tokens."""

from __future__ import annotations

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


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


class KeyVault:
    """Everything derived from the master secret: one subkey per purpose."""

    def __init__(self, master: bytes) -> None:
        self._lookup = _Hmac256(_derive(master, b"keyvend api-key lookup v1"))
        self._tokens = _Hmac256(_derive(master, b"keyvend token digest v1"))
        self._aead = AESGCM(_derive(master, b"keyvend api-key encryption v1"))

    def key_digest(self, key: str) -> bytes:
        """HMAC-SHA256 of the key as looked up (case folded, dashes kept)."""
        return self._lookup.digest(normalize_key(key).encode())

    def encrypt_key(self, key: str) -> bytes:
        """Nonce + AES-GCM ciphertext of the key, for showing it to its owner."""
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, key.encode(), b"apikey")

    def decrypt_key(self, blob: bytes) -> str:
        """The plaintext key; raises ValueError if the blob was tampered with."""
        try:
            return self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], b"apikey").decode()
        except InvalidTag:
            raise ValueError("API key ciphertext does not verify") from None

    def token_digest(self, token: str) -> str:
        """Hex HMAC of an API token or session token (what the database keeps)."""
        return self._tokens.digest(token.encode()).hex()


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
