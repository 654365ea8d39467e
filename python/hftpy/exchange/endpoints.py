"""Endpoint URLs and credentials: constructor argument, else environment variable, else the
real venue. The variable names are a public contract (DESIGN.md, `hftpy sim --print-env`)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Final

from hftpy.common import Exchange
from hftpy.errors import ConfigError
from hftpy.redact import Secret

#: (environment variable, the real venue's URL) per endpoint role.
ENDPOINTS: Final[dict[Exchange, dict[str, tuple[str, str]]]] = {
    Exchange.KRAKEN: {
        "rest": ("HFTPY_KRAKEN_REST_URL", "https://api.kraken.com"),
        "ws": ("HFTPY_KRAKEN_WS_URL", "wss://ws.kraken.com/v2"),
        "ws_auth": ("HFTPY_KRAKEN_WS_AUTH_URL", "wss://ws-auth.kraken.com/v2"),
    },
    Exchange.BINANCE: {
        "rest": ("HFTPY_BINANCE_REST_URL", "https://api.binance.com"),
        "stream": ("HFTPY_BINANCE_STREAM_URL", "wss://stream.binance.com:9443/stream"),
        "ws_api": ("HFTPY_BINANCE_WS_API_URL", "wss://ws-api.binance.com:443/ws-api/v3"),
    },
    Exchange.BACKPACK: {
        "rest": ("HFTPY_BACKPACK_REST_URL", "https://api.backpack.exchange"),
        "ws": ("HFTPY_BACKPACK_WS_URL", "wss://ws.backpack.exchange"),
    },
    Exchange.UPBIT: {
        "rest": ("HFTPY_UPBIT_REST_URL", "https://api.upbit.com"),
        "ws": ("HFTPY_UPBIT_WS_URL", "wss://api.upbit.com/websocket/v1"),
        "ws_private": ("HFTPY_UPBIT_WS_PRIVATE_URL", "wss://api.upbit.com/websocket/v1/private"),
    },
}

#: Credential variables per exchange: (key variable, secret variable).
CREDENTIALS: Final[dict[Exchange, tuple[str, str]]] = {
    Exchange.KRAKEN: ("HFTPY_KRAKEN_API_KEY", "HFTPY_KRAKEN_API_SECRET"),
    Exchange.BINANCE: ("HFTPY_BINANCE_API_KEY", "HFTPY_BINANCE_API_SECRET"),
    Exchange.BACKPACK: ("HFTPY_BACKPACK_API_KEY", "HFTPY_BACKPACK_API_SECRET"),
    Exchange.UPBIT: ("HFTPY_UPBIT_API_KEY", "HFTPY_UPBIT_API_SECRET"),
}
#: A secret that may stand in for `api_secret`: (argument, environment variable).
ALTERNATIVE_SECRETS: Final[dict[Exchange, tuple[str, str]]] = {
    Exchange.BINANCE: ("ed25519_key", "HFTPY_BINANCE_ED25519_KEY"),
}


def endpoint(exchange: Exchange, role: str, given: str | None = None) -> str:
    """`given`, else the role's environment variable, else the venue's own URL."""
    if given:
        return given
    try:
        variable, default = ENDPOINTS[exchange][role]
    except KeyError:
        raise ConfigError(f"{exchange.value} has no {role!r} endpoint") from None
    return os.environ.get(variable) or default


def credentials(
    exchange: Exchange, api_key: str | None, api_secret: str | None
) -> tuple[Secret | None, Secret | None]:
    """Key and secret from the arguments, else the environment; both wrapped as `Secret`."""
    key_var, secret_var = CREDENTIALS[exchange]
    key = api_key if api_key is not None else os.environ.get(key_var)
    secret = api_secret if api_secret is not None else os.environ.get(secret_var)
    return (Secret(key) if key else None, Secret(secret) if secret else None)


def credentials_error(
    exchange: Exchange, missing: Iterable[str], what: str = "WS API", note: str = ""
) -> ConfigError:
    """The `ConfigError` for credentials that neither the arguments nor the environment
    gave: names the variables to set and the arguments to pass. `missing` holds argument
    names (`api_key`, `api_secret`)."""
    key_var, secret_var = CREDENTIALS[exchange]
    alternative = ALTERNATIVE_SECRETS.get(exchange)
    variables = f"{key_var} and {secret_var}"
    arguments = "api_key= and api_secret="
    if alternative is not None:
        variables += f" (or {alternative[1]})"
        arguments += f" (or {alternative[0]}=)"
    message = (
        f"{exchange.value} {what} needs credentials: set {variables}, or pass {arguments} "
        f"(missing: {', '.join(missing)})"
    )
    return ConfigError(f"{message}; {note}" if note else message)
