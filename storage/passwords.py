"""Password hashing with Argon2id (memory-hard), the only form in which passwords are ever stored.

The parameters are argon2-cffi's RFC 9106 "low memory" profile (64 MiB, 3 passes): strong against GPU
guessing while a login stays well under a tenth of a second on the 2-core machines we run on.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

MIN_LENGTH = 12
_HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)


class WeakPassword(ValueError):
    """The password does not meet the policy; the message says what is needed."""


def check_policy(password: str, email: str = "") -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password needs at least {MIN_LENGTH} characters")
    if email and password.casefold() == email.casefold():
        raise WeakPassword("the password must not be the e-mail address")
    if len(set(password)) < 4:
        raise WeakPassword("the password needs more than three different characters")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)
