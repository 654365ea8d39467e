from __future__ import annotations

import json
import logging
import pickle

import pytest

from hftpy.exchange.codec import ENCODER
from hftpy.redact import Secret


def test_secret_prints_masked_everywhere() -> None:
    token = Secret("nlFbymk2AVKtMpXTyq7eMDadYkTdyzeOK71oSfmKoDA")
    request = {"token": token, "order_qty": 0.001}
    shown = [repr(token), str(token), f"{token}", f"{token:>10}", "%s" % token, repr(request)]  # noqa: UP031
    shown.append(str(request))
    for text in shown:
        assert "nlFbymk2" not in text
    assert repr(request) == "{'token': '***', 'order_qty': 0.001}"


def test_encoders_send_the_real_value() -> None:
    token = Secret("abc123")
    assert ENCODER.encode({"token": token}) == b'{"token":"abc123"}'
    assert json.dumps({"token": token}) == '{"token": "abc123"}'
    assert token.reveal() == "abc123" and type(token.reveal()) is str
    assert token == "abc123"


def test_logging_a_request_does_not_leak(caplog: pytest.LogCaptureFixture) -> None:
    token = Secret("supersecret-token")
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("request %s / %r", {"token": token}, token)
    assert "supersecret" not in caplog.text


def test_secrets_refuse_to_pickle() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Secret("x"))
