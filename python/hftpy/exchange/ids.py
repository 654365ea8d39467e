"""Client order ids: uuid4 hex, drawn from a pooled `os.urandom` read.

`uuid.uuid4().hex` costs a syscall and a UUID object per call (~3 µs); slicing a 4 KiB
random pool costs a tenth of that. The pool is discarded in a forked child so two
processes never hand out the same ids.
"""

from __future__ import annotations

import os

_POOL_BYTES = 4096
_pool = bytearray()
_pos = 0


def _reset_pool() -> None:
    global _pool, _pos
    _pool = bytearray()
    _pos = 0


os.register_at_fork(after_in_child=_reset_pool)


def new_client_order_id() -> str:
    """A random RFC 4122 version-4 UUID as 32 lower-case hex digits."""
    global _pool, _pos
    if _pos + 16 > len(_pool):
        _pool = bytearray(os.urandom(_POOL_BYTES))
        _pos = 0
    raw = _pool[_pos : _pos + 16]
    _pos += 16
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return raw.hex()
