"""Signers through their Python face, checked against the references' vectors, and the
limiter under many threads."""

from __future__ import annotations

import threading

import pytest

from hftpy import _core
from hftpy.errors import ConfigError, UnknownLimitError

BINANCE_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
BINANCE_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"


def test_binance_hmac_official_session_logon_vector() -> None:
    signer = _core.HmacSha256Signer(BINANCE_SECRET)
    payload = f"apiKey={BINANCE_KEY}&timestamp=1649729878532".encode()
    assert signer.sign(payload) == (
        "1cf54395b336b0a9727ef27d5d98987962bc47aca6e13fe978612d0adee066ed"
    )
    assert BINANCE_SECRET not in repr(signer)


def test_ed25519_from_pem_seed_and_backpack_secret() -> None:
    pem = (
        "-----BEGIN PRIVATE KEY-----\n"
        "MC4CAQAwBQYDK2VwBCIEIPQmzwVKJETqVd7L9E/DFbkvrOigy1tLL+9QF0mSn6dV\n"
        "-----END PRIVATE KEY-----\n"
    )
    payload = b"price=50000&quantity=1&side=BUY&symbol=BTCUSDT&timestamp=1631234567890&type=LIMIT"
    expected = (
        "a4Pm3p02D2HXtNfo3DBaVCe9Ov7kledewgYtGjekotFmZ5wXa3mC5AtLB7CpAphyNjeyovIuDP+9fyjYmsojCw=="
    )
    assert _core.Ed25519Signer(pem).sign(payload) == expected
    backpack = _core.Ed25519Signer("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")
    assert backpack.public_key == "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
    assert backpack.sign(b"instruction=subscribe&timestamp=1614550000000&window=5000") == (
        "nnH9lOoIF3v72vbmeopqLLUggbPuhAuXgYbQc6qJnYSsFW0ZM3hUVK4feOAmIHQA02vH16oz+C3+6HQmPkggDA=="
    )
    assert repr(backpack) == "Ed25519Signer(***)"
    with pytest.raises(ConfigError, match="Ed25519 key"):
        _core.Ed25519Signer("not-a-key")


def test_upbit_jwt_vectors() -> None:
    signer = _core.UpbitSigner("test-access-key", "test-secret-key")
    nonce = "00000000-0000-4000-8000-000000000000"
    query = "market=KRW-BTC&side=bid&volume=0.01&price=100000000&ord_type=limit"
    assert signer.token(nonce, query).endswith(
        ".aVoy6HoFYDipG1OnDxqyjCKbAVWxTSlUCUqNxuybIj29k8DnHONMpGAfVHeDwlykAqgzbU0AejRuIDEvaSYomw"
    )
    hs256 = _core.UpbitSigner("test-access-key", "test-secret-key", alg="HS256")
    assert hs256.token(nonce).endswith(".w0bu7uhA5yasCpFIvMLgED2INHqSEGJqCQ4UuVC4JOw")
    assert _core.sha512_hex(b"abc").startswith("ddaf35a1")
    with pytest.raises(ConfigError):
        _core.UpbitSigner("k", "s", alg="RS256")


def test_limiter_under_many_threads_grants_exactly_the_budget() -> None:
    # Refill so slow that only the initial budget can be granted during the test.
    limiter = _core.RateLimiter(
        [("bucket", "slow", 500, 0.001), ("window", "orders", 400, 3600.0, 120)]
    )
    slow, orders = limiter.index("slow"), limiter.index("orders")
    granted = 0
    lock = threading.Lock()

    def hammer() -> None:
        nonlocal granted
        mine = sum(1 for _ in range(2000) if limiter.try_acquire([(slow, 1), (orders, 1)]) == 0)
        with lock:
            granted += mine

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert granted == 120  # the window's burst, never more
    assert limiter.available(slow) == 500 - 120  # refusals gave back what they took
    assert limiter.try_acquire([(orders, 1)]) > 0


def test_limiter_feedback_and_errors() -> None:
    limiter = _core.RateLimiter([("bucket", "weight", 100, 10.0)])
    limiter.resync(0, 90)
    assert limiter.available(0) == 10
    limiter.block_for(0, 5.0)
    assert limiter.available(0) == 0
    wait_ns = limiter.try_acquire([(0, 1)])
    assert 4_000_000_000 < wait_ns <= 6_000_000_000
    with pytest.raises(UnknownLimitError):
        limiter.try_acquire([(3, 1)])
    with pytest.raises(ConfigError):
        _core.RateLimiter([("leaky", "x", 1, 1.0)])
