"""Secrets at rest: key digests for lookup, AES-GCM ciphertexts for display, token digests."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyvend.domain.vault import KeyVault, new_token, same

MASTER = b"m" * 32
KEY = "sk_live_3F2A9C1B-77D0E4A5-0B6C8D9E-1F2A3B4C"


@pytest.fixture(scope="module")
def vault() -> KeyVault:
    return KeyVault(MASTER)


def test_a_key_digest_is_32_bytes_and_stable(vault: KeyVault) -> None:
    digest = vault.key_digest(KEY)
    assert len(digest) == 32
    assert vault.key_digest(KEY) == digest
    assert KeyVault(MASTER).key_digest(KEY) == digest


def test_a_key_digest_ignores_letter_case(vault: KeyVault) -> None:
    assert vault.key_digest(KEY.lower()) == vault.key_digest(KEY.upper())


def test_a_key_digest_keeps_dashes_significant(vault: KeyVault) -> None:
    assert vault.key_digest(KEY) != vault.key_digest(KEY.replace("-", ""))


def test_a_key_digest_is_not_a_plain_hash_of_the_key(vault: KeyVault) -> None:
    import hashlib

    assert vault.key_digest(KEY) != hashlib.sha256(KEY.lower().encode()).digest()


def test_another_master_secret_gives_other_digests(vault: KeyVault) -> None:
    other = KeyVault(b"o" * 32)
    assert other.key_digest(KEY) != vault.key_digest(KEY)
    assert other.token_digest("token") != vault.token_digest("token")


def test_key_digests_and_token_digests_use_separate_subkeys(vault: KeyVault) -> None:
    assert vault.key_digest("abc").hex() != vault.token_digest("abc")


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failure
@given(st.text(min_size=1, max_size=300))
def test_an_encrypted_key_decrypts_to_exactly_the_key(key: str) -> None:
    vault = KeyVault(MASTER)
    assert vault.decrypt_key(vault.encrypt_key(key)) == key


def test_the_ciphertext_does_not_contain_the_key(vault: KeyVault) -> None:
    blob = vault.encrypt_key(KEY)
    assert KEY.encode() not in blob
    assert KEY.lower().encode() not in blob.lower()


def test_encrypting_the_same_key_twice_gives_different_ciphertexts(vault: KeyVault) -> None:
    assert vault.encrypt_key(KEY) != vault.encrypt_key(KEY)


def test_a_tampered_ciphertext_is_refused(vault: KeyVault) -> None:
    blob = bytearray(vault.encrypt_key(KEY))
    blob[-1] ^= 1
    with pytest.raises(ValueError, match="API key ciphertext does not verify"):
        vault.decrypt_key(bytes(blob))


def test_a_tampered_nonce_is_refused(vault: KeyVault) -> None:
    blob = bytearray(vault.encrypt_key(KEY))
    blob[0] ^= 1
    with pytest.raises(ValueError, match="does not verify"):
        vault.decrypt_key(bytes(blob))


def test_a_ciphertext_made_with_another_master_secret_is_refused(vault: KeyVault) -> None:
    with pytest.raises(ValueError, match="does not verify"):
        KeyVault(b"o" * 32).decrypt_key(vault.encrypt_key(KEY))


@pytest.mark.parametrize("blob", [b"", b"short", b"\x00" * 12, b"\x00" * 40])
def test_a_truncated_or_garbage_ciphertext_raises_value_error(vault: KeyVault, blob: bytes) -> None:
    with pytest.raises(ValueError):
        vault.decrypt_key(blob)


def test_a_token_digest_is_64_hex_characters_and_stable(vault: KeyVault) -> None:
    digest = vault.token_digest("some-token")
    assert re.fullmatch("[0-9a-f]{64}", digest)
    assert vault.token_digest("some-token") == digest
    assert vault.token_digest("Some-token") != digest


def test_new_tokens_are_url_safe_256_bit_and_unique() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)


def test_same_compares_bytes_and_text_alike() -> None:
    assert same("abc", "abc")
    assert same(b"abc", "abc")
    assert not same("abc", "abd")
    assert not same(b"abc", b"abcd")


@settings(max_examples=200)
@given(key=st.binary(min_size=0, max_size=200), message=st.binary(max_size=600))
def test_the_precomputed_hmac_equals_the_standard_library_one(key: bytes, message: bytes) -> None:
    import hmac

    from keyvend.domain.vault import _Hmac256

    assert _Hmac256(key).digest(message) == hmac.digest(key, message, "sha256")


def test_key_digests_are_the_hmac_of_the_lookup_subkey() -> None:
    # Digests already stored in databases must keep matching: the lookup digest is exactly
    # HMAC-SHA256(HKDF(master, "keyvend api-key lookup v1"), lowercased key).
    import hmac

    from keyvend.domain.vault import _derive

    subkey = _derive(MASTER, b"keyvend api-key lookup v1")
    expected = hmac.digest(subkey, KEY.lower().encode(), "sha256")
    assert KeyVault(MASTER).key_digest(KEY) == expected


def test_token_digests_are_the_hex_hmac_of_the_token_subkey() -> None:
    # Token and session digests already stored must keep matching, like key digests.
    import hmac

    from keyvend.domain.vault import _derive

    subkey = _derive(MASTER, b"keyvend token digest v1")
    expected = hmac.digest(subkey, b"some-token", "sha256").hex()
    assert KeyVault(MASTER).token_digest("some-token") == expected
