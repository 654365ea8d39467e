"""Client order ids, generated in Rust without a syscall or a UUID object per call.

`new_client_order_id()` gives 32 lower-case hex digits shaped like a version-4 UUID (the
form Kraken's `cl_ord_id`, Binance's `newClientOrderId` and Upbit's `identifier` accept): 74
bits drawn at random once per process, and again in a forked child, then a 48-bit counter,
so ids never repeat within a process and two processes share one by chance of 2^-74.
`uuid.uuid4().hex` cost ~3 µs (a syscall and an object); this costs ~60 ns.
"""

from __future__ import annotations

from hftpy._core import new_client_id_u32, new_client_order_id

__all__ = ["new_client_id_u32", "new_client_order_id"]
