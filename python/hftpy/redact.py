"""`Secret`: a `str` that prints as `***`.

API secrets, WS tokens, signatures and JWTs are wrapped in it so any dict holding them (the
`request` handed to a callback, a log line, an exception) can be printed without leaking,
while JSON encoders and HTTP clients, which read the characters, still send the real value.
"""

from __future__ import annotations

from typing import Any

MASK = "***"


class Secret(str):
    """A secret (API secret, token, signature, JWT): `repr` and `str` print `***`, while
    encoders and `reveal()` see the real text, so request dicts can be logged safely."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"'{MASK}'"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK.__format__(spec)

    def reveal(self) -> str:
        """The real value as a plain `str` (for code that must send it)."""
        return str.__str__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickling would write the secret to disk or another process: refuse loudly.
        raise TypeError("Secret values cannot be pickled")


def secret_or_none(value: str | None) -> Secret | None:
    """`value` as a `Secret` (unchanged when it already is one); None for None or empty text."""
    if value is None or value == "":
        return None
    return value if isinstance(value, Secret) else Secret(value)
