"""Password rules and argon2id hashing."""

from __future__ import annotations

import pytest

from keyvend.domain.errors import InvalidInput
from keyvend.domain.passwords import (
    check_strength,
    hash_password,
    random_password,
    verify_password,
)

RULE = "password must be 8 to 256 characters long"


@pytest.mark.parametrize("password", ["", "a", "seven77"])
def test_a_password_shorter_than_8_characters_is_refused_with_the_rule(password: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_strength(password)
    assert caught.value.message == RULE


def test_a_password_longer_than_256_characters_is_refused_with_the_rule() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_strength("p" * 257)
    assert caught.value.message == RULE


@pytest.mark.parametrize("password", ["eight888", "p" * 256, "pässwörd"])
def test_passwords_of_8_to_256_characters_are_accepted(password: str) -> None:
    check_strength(password)  # raises if refused


def test_a_hash_is_argon2id_and_does_not_contain_the_password() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored


def test_hashing_the_same_password_twice_gives_different_salted_hashes() -> None:
    assert hash_password("correct horse") != hash_password("correct horse")


def test_the_right_password_verifies_and_a_wrong_one_does_not() -> None:
    stored = hash_password("correct horse")
    assert verify_password(stored, "correct horse") is True
    assert verify_password(stored, "Correct horse") is False
    assert verify_password(stored, "") is False


def test_no_account_never_verifies_even_with_the_dummy_password() -> None:
    assert verify_password(None, "keyvend-dummy-password") is False
    assert verify_password(None, "anything") is False


@pytest.mark.parametrize("stored", ["", "plain-text", "$argon2id$garbage"])
def test_a_stored_value_that_is_not_a_hash_never_verifies(stored: str) -> None:
    assert verify_password(stored, stored) is False


def test_a_random_password_passes_the_rules_and_differs_each_time() -> None:
    first, second = random_password(), random_password()
    check_strength(first)
    assert first != second
    assert len(first) >= 16
