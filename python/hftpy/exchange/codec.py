"""JSON encoder/decoder shared by every venue's request path.

Secrets are sent as their real value (they print as *** everywhere else) and `Decimal`s as
JSON numbers, so an exact price given as `Decimal("80000.1")` never passes through float.
"""

from __future__ import annotations

from typing import Any

import msgspec

from hftpy.redact import Secret


def _reveal(obj: Any) -> Any:
    if isinstance(obj, Secret):
        return obj.reveal()
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


ENCODER = msgspec.json.Encoder(enc_hook=_reveal, decimal_format="number")
DECODER = msgspec.json.Decoder()
