from __future__ import annotations

import os
import uuid

from hftpy.exchange.ids import new_client_order_id


def test_client_order_ids_are_unique_uuid4_hex() -> None:
    ids = [new_client_order_id() for _ in range(2000)]  # crosses several pool refills
    assert len(set(ids)) == len(ids)
    for text in ids[:300]:
        parsed = uuid.UUID(hex=text)
        assert parsed.version == 4 and parsed.hex == text and len(text) == 32


def test_forked_child_draws_fresh_ids() -> None:
    new_client_order_id()  # make sure the parent holds a pool
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report its next id and exit without running pytest teardown
        os.write(write, new_client_order_id().encode())
        os._exit(0)
    os.close(write)
    child_id = os.read(read, 64).decode()
    os.waitpid(pid, 0)
    assert child_id != new_client_order_id()
    assert uuid.UUID(hex=child_id).version == 4
