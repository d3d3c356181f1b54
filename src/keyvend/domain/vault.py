"""Secrets at rest: HMAC digests for lookup, AES-GCM for display, hashed tokens."""

from __future__ import annotations

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
        self._lookup = _derive(master, b"keyvend api-key lookup v1")
        self._tokens = _derive(master, b"keyvend token digest v1")
        self._aead = AESGCM(_derive(master, b"keyvend api-key encryption v1"))

    def key_digest(self, key: str) -> bytes:
        """HMAC-SHA256 of the key as looked up (case folded, dashes kept)."""
        return hmac.digest(self._lookup, normalize_key(key).encode(), "sha256")

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
        return hmac.digest(self._tokens, token.encode(), "sha256").hex()


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
