"""The vault's part in secret rotation: check values, successors and the wrapped token key."""

from __future__ import annotations

import pytest

from keyvend.domain.vault import KeyVault, UndecryptableKey

OLD = b"o" * 32
NEW = b"n" * 32
KEY = "sk_live_3F2A9C1B-77D0E4A5-0B6C8D9E-1F2A3B4C"


def test_the_check_value_tells_secrets_apart_and_is_not_a_subkey_or_the_secret() -> None:
    old, new = KeyVault(OLD), KeyVault(NEW)
    assert old.check_value == KeyVault(OLD).check_value
    assert old.check_value != new.check_value
    assert len(bytes.fromhex(old.check_value)) == 32
    assert OLD.hex() not in old.check_value
    assert old.check_value not in (
        old.key_digest("keyvend secret check").hex(),
        old.token_digest(""),
    )


def test_a_successor_moves_key_digests_and_encryption_but_keeps_token_digests() -> None:
    old = KeyVault(OLD)
    new = old.successor(NEW)
    assert new.key_digest(KEY) == KeyVault(NEW).key_digest(KEY) != old.key_digest(KEY)
    assert new.token_digest("token") == old.token_digest("token")
    assert new.check_value == KeyVault(NEW).check_value
    with pytest.raises(UndecryptableKey):
        old.decrypt_key(new.encrypt_key(KEY))


def test_a_wrapped_token_key_unwraps_only_under_the_secret_that_wrapped_it() -> None:
    kept = KeyVault(OLD).successor(NEW)
    wrapped = kept.wrapped_token_key()
    opened = KeyVault(NEW).with_wrapped_token_key(wrapped)
    assert opened.token_digest("token") == KeyVault(OLD).token_digest("token")
    assert opened.key_digest(KEY) == KeyVault(NEW).key_digest(KEY)
    with pytest.raises(ValueError, match="does not unwrap"):
        KeyVault(OLD).with_wrapped_token_key(wrapped)
    with pytest.raises(ValueError, match="does not unwrap"):
        KeyVault(NEW).with_wrapped_token_key(wrapped[:-1] + bytes([wrapped[-1] ^ 1]))


def test_the_wrapped_token_key_does_not_contain_the_key() -> None:
    vault = KeyVault(OLD)
    token_key = vault._token_key
    assert token_key not in vault.wrapped_token_key()
    assert vault.wrapped_token_key() != vault.wrapped_token_key()  # a fresh nonce each time


def test_a_chain_of_rotations_keeps_the_first_token_key() -> None:
    vault = KeyVault(OLD)
    for master in (b"a" * 32, b"b" * 32, NEW):
        vault = KeyVault(master).with_wrapped_token_key(vault.successor(master).wrapped_token_key())
    assert vault.token_digest("token") == KeyVault(OLD).token_digest("token")


def test_an_undecryptable_key_is_a_value_error() -> None:
    assert issubclass(UndecryptableKey, ValueError)
    with pytest.raises(UndecryptableKey):
        KeyVault(NEW).decrypt_key(KeyVault(OLD).encrypt_key(KEY))
