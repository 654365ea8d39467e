"""Service configuration: the JSON file of seed 000's second half, read and checked.

    {
      "service.mm_demo": {
        "class_name": "MMDemoService",            # or "package.module:Class"
        "cancel_on_stop": true,                   # optional (also accepted inside "setting")
        "setting": {
          "apis":    [{"exchange": "kraken", "api_key": "${KRAKEN_KEY}", "api_secret": "..."}],
          "ws_apis": [{"exchange": "kraken", "api_key": "${KRAKEN_KEY}", "api_secret": "..."}],
          "streams": [{"exchange": "kraken", "channels": ["book", "trade"],
                       "symbols": ["BTC/USD"]}],
          "symbol": "BTC/USD", "spread_bps": 10    # the strategy's own keys
        }
      }
    }

`apis` / `ws_apis` / `streams` entries take `exchange` plus the keyword arguments of that
venue's REST API, WS API or stream constructor (`api_key`, `api_secret`, `ed25519_key`,
`account`, `url`, `rest_url`, `request_timeout`, `depth`, ...); the runner passes them to the
factories of `hftpy.exchange`, so `get_exchange_ws_api()` anywhere returns the same objects.
Credentials and URLs left out (or empty) come from the `HFTPY_*` environment, as everywhere.

String values may hold `${VAR}` or `${VAR:-default}` (the default when VAR is unset or
empty); `$${` writes a literal `${`. Variables come from the environment, then from a `.env`
file beside the config (or the `env_file` given), which never overrides a variable already
set. Every problem is a `ServiceConfigError` (a `ConfigError`) naming the file, the key path
and the fix, raised before anything connects.
"""

from __future__ import annotations

import inspect
import json
import keyword
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, NoReturn

from hftpy.common import Exchange
from hftpy.errors import ConfigError
from hftpy.exchange import (
    BackpackRestApi,
    BackpackStream,
    BackpackWsApi,
    BinanceRestApi,
    BinanceStream,
    BinanceWsApi,
    KrakenRestApi,
    KrakenStream,
    KrakenWsApi,
    UpbitRestApi,
    UpbitStream,
    UpbitWsApi,
)
from hftpy.exchange.endpoints import ALTERNATIVE_SECRETS, CREDENTIALS

__all__ = [
    "ApiConfig",
    "ServiceConfig",
    "ServiceConfigError",
    "StreamConfig",
    "expand_variables",
    "load_config",
    "member_name",
    "parse_config",
    "parse_env_text",
    "read_env_file",
]

#: The keys of a `service.<name>` entry.
SERVICE_KEYS: Final = frozenset({"class_name", "setting", "cancel_on_stop"})
#: Keys under `setting` that belong to the runner, not to the strategy.
RUNNER_SETTING_KEYS: Final = frozenset({"apis", "ws_apis", "streams", "cancel_on_stop"})
#: Entry keys that `--sim` replaces by the simulator's (never read, so a paper run cannot
#: reach a live venue and needs none of the live secrets).
SIM_REPLACED_KEYS: Final = frozenset(
    {"api_key", "api_secret", "ed25519_key", "url", "rest_url", "testnet"}
)
#: Constructor arguments a JSON file cannot give (Python objects).
_OBJECT_ARGUMENTS: Final = frozenset({"rest_api", "rate_limiter", "reconnect"})
_TEXT_ARGUMENTS: Final = frozenset(
    {"api_key", "api_secret", "ed25519_key", "url", "rest_url", "account"}
)

_CLASSES: Final[dict[str, dict[Exchange, type[Any]]]] = {
    "apis": {
        Exchange.KRAKEN: KrakenRestApi,
        Exchange.BINANCE: BinanceRestApi,
        Exchange.BACKPACK: BackpackRestApi,
        Exchange.UPBIT: UpbitRestApi,
    },
    "ws_apis": {
        Exchange.KRAKEN: KrakenWsApi,
        Exchange.BINANCE: BinanceWsApi,
        Exchange.BACKPACK: BackpackWsApi,
        Exchange.UPBIT: UpbitWsApi,
    },
    "streams": {
        Exchange.KRAKEN: KrakenStream,
        Exchange.BINANCE: BinanceStream,
        Exchange.BACKPACK: BackpackStream,
        Exchange.UPBIT: UpbitStream,
    },
}
_WHAT: Final = {"apis": "REST API", "ws_apis": "WS API", "streams": "stream"}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SERVICE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_REFERENCE = re.compile(r"(\$?)\$\{([^}]*)(\}?)")


class ServiceConfigError(ConfigError):
    """A service configuration problem: `file` (None for a config given as a dict), `key` (the
    key path, e.g. `service.mm.setting.ws_apis[0].api_key`; empty for the file as a whole),
    `problem` and `fix`."""

    def __init__(self, file: Path | str | None, key: str, problem: str, fix: str = "") -> None:
        self.file = None if file is None else Path(file)
        self.key = key
        self.problem = problem
        self.fix = fix
        where = ": ".join(part for part in (str(file) if file else "", key) if part)
        text = f"{where}: {problem}" if where else problem
        super().__init__(f"{text}; {fix}" if fix else text)


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """One `apis` or `ws_apis` entry: the factory arguments of one venue's API object."""

    #: `"apis"` (REST) or `"ws_apis"`.
    kind: str
    #: The venue.
    exchange: Exchange
    #: Keyword arguments for `create_exchange_api` / `create_exchange_ws_api` (`account`
    #: included when given), after `${VAR}` expansion; empty credentials and URLs left out.
    kwargs: Mapping[str, Any]
    #: The entry's key path, e.g. `service.mm.setting.ws_apis[0]`.
    key: str

    @property
    def account(self) -> str:
        """The account label (`"default"` unless the entry names one)."""
        return str(self.kwargs.get("account", "default"))


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """One `streams` entry: a venue's stream, the channels and symbols to subscribe."""

    #: The venue.
    exchange: Exchange
    #: Channel names as the stream accepts them (`book`, `trade`, `ticker`, `quote`).
    channels: tuple[str, ...]
    #: Symbols in the venue's spelling (`BTC/USD`, `BTCUSDT`, `SOL_USDC`, `KRW-BTC`).
    symbols: tuple[str, ...]
    #: Keyword arguments for `create_exchange_stream` (`depth`, `account`, `url`, ...).
    kwargs: Mapping[str, Any]
    #: The entry's key path, e.g. `service.mm.setting.streams[0]`.
    key: str

    @property
    def account(self) -> str:
        """The account label (`"default"` unless the entry names one)."""
        return str(self.kwargs.get("account", "default"))


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """One `service.<name>` entry, checked and expanded."""

    #: The `<name>` of `service.<name>`.
    name: str
    #: A class name found among the `ServiceBase` subclasses of the modules given to the
    #: runner, or `package.module:Class`.
    class_name: str
    #: The strategy's own keys of `setting` (everything but apis, ws_apis, streams and
    #: cancel_on_stop), read-only.
    setting: Mapping[str, Any]
    #: REST API entries.
    apis: tuple[ApiConfig, ...] = ()
    #: WS API entries.
    ws_apis: tuple[ApiConfig, ...] = ()
    #: Stream entries.
    streams: tuple[StreamConfig, ...] = ()
    #: Whether to cancel the orders the service opened when it stops (None: not set).
    cancel_on_stop: bool | None = None
    #: The file it was read from (None when given as a dict).
    file: Path | None = None
    #: Variables of the `.env` file that the environment did not already set: the runner
    #: sets them for the run (never overriding), so the factories find them too.
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """`service.<name>`, the entry's key in the file."""
        return f"service.{self.name}"

    @property
    def venues(self) -> list[Exchange]:
        """Every venue the service uses (REST, WS API or stream), in config order."""
        seen: dict[Exchange, None] = {}
        entries: tuple[ApiConfig | StreamConfig, ...] = (*self.apis, *self.ws_apis, *self.streams)
        for entry in entries:
            seen[entry.exchange] = None
        return list(seen)


# -- variables -----------------------------------------------------------------------------


def read_env_file(path: Path | str) -> dict[str, str]:
    """Reads a `.env` file: `NAME=value` lines (`export ` before the name allowed, `#`
    comments, values in single quotes literal, in double quotes with `\\n` `\\"` `\\\\`
    escapes, unquoted ones up to a ` #` comment). Raises `ServiceConfigError` naming the line."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ServiceConfigError(
            file, "", f"cannot read the env file: {exc.strerror or exc}", "check the path"
        ) from None
    return parse_env_text(text, file)


def parse_env_text(text: str, file: Path | str | None = None) -> dict[str, str]:
    """The variables of a `.env` text (see `read_env_file`); `file` names it in errors."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :].lstrip()
        name, sep, raw = stripped.partition("=")
        name = name.strip()
        if not sep or not _NAME.fullmatch(name):
            raise ServiceConfigError(
                file, f"line {number}", f"expected NAME=value, got {line.strip()!r}"
            )
        values[name] = _env_value(file, number, raw.strip())
    return values


def _env_value(file: Path | str | None, number: int, raw: str) -> str:
    if raw[:1] not in ("'", '"'):
        comment = raw.find(" #")
        return (raw[:comment] if comment >= 0 else raw).rstrip()
    quote = raw[0]
    out: list[str] = []
    index = 1
    while index < len(raw):
        char = raw[index]
        if char == quote:
            rest = raw[index + 1 :].strip()
            if rest and not rest.startswith("#"):
                raise ServiceConfigError(
                    file, f"line {number}", f"text after the closing quote: {rest!r}"
                )
            return "".join(out)
        if quote == '"' and char == "\\" and index + 1 < len(raw):
            following = raw[index + 1]
            out.append({"n": "\n", "t": "\t"}.get(following, following))
            index += 2
            continue
        out.append(char)
        index += 1
    raise ServiceConfigError(file, f"line {number}", f"unterminated {quote} quote")


def expand_variables(
    text: str, lookup: Mapping[str, str], *, file: Path | str | None = None, key: str = ""
) -> str:
    """`text` with each `${VAR}` / `${VAR:-default}` replaced from `lookup`; `$${` is a
    literal `${`. A variable that is unset (and has no default) or a malformed reference is
    a `ServiceConfigError` for `file` and `key`."""
    if "${" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        escaped, body, closed = match.groups()
        if escaped:
            return "${" + body + closed
        if not closed:
            raise ServiceConfigError(
                file, key, f"unterminated variable reference ${{{body}", "close it with }"
            )
        name, has_default, default = body.partition(":-")
        if not _NAME.fullmatch(name):
            raise ServiceConfigError(
                file,
                key,
                f"bad variable reference ${{{body}}}",
                "write ${NAME} or ${NAME:-default} (letters, digits, _); $${ for a literal ${",
            )
        value = lookup.get(name)
        if value:
            return value
        if has_default:
            return default
        if value is not None:
            return value  # set, empty, no default: empty
        raise ServiceConfigError(
            file,
            key,
            f"environment variable {name} is not set",
            f"export {name}=..., put {name}=... in the .env file beside the config "
            f"(or --env-file), or write ${{{name}:-default}}",
        )

    return _REFERENCE.sub(replace, text)


class _Variables(Mapping[str, str]):
    """The environment, then the `.env` values."""

    def __init__(self, environ: Mapping[str, str], dotenv: Mapping[str, str]) -> None:
        self._environ = environ
        self._dotenv = dotenv

    def __getitem__(self, name: str) -> str:
        if name in self._environ:
            return self._environ[name]
        return self._dotenv[name]

    def __iter__(self) -> Any:
        return iter({**self._dotenv, **self._environ})

    def __len__(self) -> int:
        return len({**self._dotenv, **self._environ})


# -- loading -------------------------------------------------------------------------------


def load_config(
    path: Path | str,
    env_file: Path | str | None = None,
    *,
    sim: bool = False,
    environ: Mapping[str, str] | None = None,
) -> list[ServiceConfig]:
    """Reads and checks a service config file: one `ServiceConfig` per `service.*` entry, in
    file order. Variables come from `environ` (default `os.environ`), then from `env_file`
    (default: a `.env` beside the config, when there is one).

    `sim=True` (`hftpy run --sim`): credentials and URLs are the simulator's, so the config's
    `api_key`, `api_secret`, `ed25519_key`, `url`, `rest_url` and `testnet` are neither
    expanded nor checked (and the runner drops them). Raises `ServiceConfigError`."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ServiceConfigError(
            file, "", f"cannot read the config: {exc.strerror or exc}", "check the path"
        ) from None
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        raise ServiceConfigError(
            file, exc.key, "the key appears twice", "keep one (JSON keeps only the last)"
        ) from None
    except json.JSONDecodeError as exc:
        raise ServiceConfigError(
            file,
            f"line {exc.lineno} column {exc.colno}",
            f"not valid JSON: {exc.msg}",
            "fix the JSON syntax (no comments or trailing commas)",
        ) from None
    if env_file is not None:
        dotenv = read_env_file(env_file)
    else:
        beside = file.with_name(".env")
        dotenv = read_env_file(beside) if beside.is_file() else {}
    return parse_config(document, file=file, dotenv=dotenv, sim=sim, environ=environ)


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def parse_config(
    document: Any,
    *,
    file: Path | str | None = None,
    dotenv: Mapping[str, str] | None = None,
    sim: bool = False,
    environ: Mapping[str, str] | None = None,
) -> list[ServiceConfig]:
    """`load_config` for a config already read (`document`: the JSON object as a dict)."""
    source = None if file is None else Path(file)
    env = os.environ if environ is None else environ
    extra = {k: v for k, v in (dotenv or {}).items() if k not in env}
    parser = _Parser(source, _Variables(env, extra), sim)
    if not isinstance(document, dict):
        parser.fail("", "the config must be a JSON object", 'write {"service.<name>": {...}}')
    if not document:
        parser.fail("", "no service entry", 'add {"service.<name>": {"class_name": ...}}')
    configs = []
    for key, entry in document.items():
        name = key.removeprefix("service.")
        if not key.startswith("service.") or not _SERVICE_NAME.fullmatch(name):
            parser.fail(
                key,
                "unknown top-level key",
                'every top-level key is "service.<name>" (letters, digits, _ . -)',
            )
        configs.append(parser.service(name, entry, MappingProxyType(extra)))
    _check_shared_members(source, configs)
    return configs


class _Parser:
    def __init__(self, file: Path | None, variables: Mapping[str, str], sim: bool) -> None:
        self.file = file
        self.variables = variables
        self.sim = sim

    def fail(self, key: str, problem: str, fix: str = "") -> NoReturn:
        raise ServiceConfigError(self.file, key, problem, fix)

    def expand(self, value: Any, key: str) -> Any:
        if isinstance(value, str):
            return expand_variables(value, self.variables, file=self.file, key=key)
        if isinstance(value, list):
            return [self.expand(item, f"{key}[{i}]") for i, item in enumerate(value)]
        if isinstance(value, dict):
            return {k: self.expand(v, f"{key}.{k}") for k, v in value.items()}
        return value

    def service(self, name: str, entry: Any, dotenv: Mapping[str, str]) -> ServiceConfig:
        key = f"service.{name}"
        if not isinstance(entry, dict):
            self.fail(key, "must be an object", 'write {"class_name": ..., "setting": {...}}')
        for unknown in entry.keys() - SERVICE_KEYS:
            self.fail(
                f"{key}.{unknown}",
                "unknown key",
                f"a service entry takes {', '.join(sorted(SERVICE_KEYS))}; "
                "the strategy's own keys go under setting",
            )
        class_name = self.expand(entry.get("class_name"), f"{key}.class_name")
        if not isinstance(class_name, str) or not class_name.strip():
            self.fail(
                f"{key}.class_name",
                "missing or not a string" if class_name is None else "must be a non-empty string",
                'name the ServiceBase subclass: "MMDemoService" (found in the --module '
                'files) or "package.module:MMDemoService"',
            )
        setting = entry.get("setting", {})
        if not isinstance(setting, dict):
            self.fail(f"{key}.setting", "must be an object", 'write "setting": {...}')
        cancel = self.flag(entry, "cancel_on_stop", key)
        inner = self.flag(setting, "cancel_on_stop", f"{key}.setting")
        if cancel is not None and inner is not None and cancel != inner:
            self.fail(
                f"{key}.setting.cancel_on_stop",
                f"contradicts {key}.cancel_on_stop",
                "set cancel_on_stop in one place",
            )
        apis = self.api_entries(setting, "apis", key)
        ws_apis = self.api_entries(setting, "ws_apis", key)
        streams = self.stream_entries(setting, key)
        own = {
            k: self.expand(v, f"{key}.setting.{k}")
            for k, v in setting.items()
            if k not in RUNNER_SETTING_KEYS
        }
        config = ServiceConfig(
            name=name,
            class_name=class_name.strip(),
            setting=MappingProxyType(own),
            apis=apis,
            ws_apis=ws_apis,
            streams=streams,
            cancel_on_stop=cancel if cancel is not None else inner,
            file=self.file,
            env=dotenv,
        )
        if not self.sim:
            self.check_credentials(config)
        return config

    def flag(self, mapping: dict[str, Any], name: str, key: str) -> bool | None:
        value = mapping.get(name)
        if value is not None and not isinstance(value, bool):
            self.fail(f"{key}.{name}", f"must be true or false, not {value!r}")
        return value

    def entries(self, setting: dict[str, Any], kind: str, key: str) -> list[tuple[str, Any]]:
        value = setting.get(kind, [])
        path = f"{key}.setting.{kind}"
        if not isinstance(value, list):
            self.fail(path, "must be a list of objects", f'write "{kind}": [{{"exchange": ...}}]')
        return [(f"{path}[{i}]", item) for i, item in enumerate(value)]

    def exchange_of(self, entry: Any, key: str) -> Exchange:
        if not isinstance(entry, dict):
            self.fail(key, "must be an object", 'write {"exchange": "kraken", ...}')
        raw = self.expand(entry.get("exchange"), f"{key}.exchange")
        names = ", ".join(e.value for e in Exchange)
        if raw is None:
            self.fail(f"{key}.exchange", "missing", f"name the venue: one of {names}")
        if not isinstance(raw, str):
            self.fail(f"{key}.exchange", f"must be a string, not {raw!r}", f"one of {names}")
        try:
            return Exchange.parse(raw)
        except ConfigError:
            self.fail(f"{key}.exchange", f"unknown venue {raw!r}", f"one of {names}")

    def arguments(
        self, entry: dict[str, Any], kind: str, exchange: Exchange, key: str, skip: Iterable[str]
    ) -> dict[str, Any]:
        allowed = constructor_arguments(_CLASSES[kind][exchange])
        kwargs: dict[str, Any] = {}
        for name, value in entry.items():
            if name == "exchange" or name in skip:
                continue
            path = f"{key}.{name}"
            if name not in allowed:
                self.fail(
                    path,
                    f"unknown key for a {exchange.value} {_WHAT[kind]}",
                    f"known keys: exchange, {', '.join(sorted(allowed))}",
                )
            if self.sim and name in SIM_REPLACED_KEYS:
                continue  # the simulator's, never read
            value = self.expand(value, path)
            if name in _TEXT_ARGUMENTS:
                if value is None or value == "":
                    continue  # not given: the environment's
                if not isinstance(value, str):
                    self.fail(path, f"must be a string, not {value!r}")
            kwargs[name] = value
        return kwargs

    def api_entries(self, setting: dict[str, Any], kind: str, key: str) -> tuple[ApiConfig, ...]:
        out: list[ApiConfig] = []
        seen: dict[Exchange, str] = {}
        for path, entry in self.entries(setting, kind, key):
            exchange = self.exchange_of(entry, path)
            if exchange in seen:
                self.fail(
                    path,
                    f"a second {exchange.value} entry (the first is {seen[exchange]})",
                    f"one {_WHAT[kind]} per venue per service (its member is "
                    f"self.{member_name(exchange, kind)}); use another service entry for "
                    "another account",
                )
            seen[exchange] = path
            kwargs = self.arguments(entry, kind, exchange, path, ())
            out.append(ApiConfig(kind, exchange, kwargs, path))
        return tuple(out)

    def stream_entries(self, setting: dict[str, Any], key: str) -> tuple[StreamConfig, ...]:
        out: list[StreamConfig] = []
        seen: dict[Exchange, str] = {}
        for path, entry in self.entries(setting, "streams", key):
            exchange = self.exchange_of(entry, path)
            if exchange in seen:
                self.fail(
                    path,
                    f"a second {exchange.value} stream (the first is {seen[exchange]})",
                    "list every channel and symbol of a venue in one entry",
                )
            seen[exchange] = path
            cls = _CLASSES["streams"][exchange]
            channels = self.names(entry, "channels", path)
            aliases: Mapping[str, str] = cls.channel_aliases
            for i, channel in enumerate(channels):
                if channel not in aliases:
                    self.fail(
                        f"{path}.channels[{i}]",
                        f"unknown {exchange.value} channel {channel!r}",
                        f"{exchange.value} channels: {', '.join(sorted(aliases))}",
                    )
            symbols = self.names(entry, "symbols", path)
            kwargs = self.arguments(entry, "streams", exchange, path, ("channels", "symbols"))
            out.append(StreamConfig(exchange, channels, symbols, kwargs, path))
        return tuple(out)

    def names(self, entry: dict[str, Any], name: str, key: str) -> tuple[str, ...]:
        value = self.expand(entry.get(name), f"{key}.{name}")
        if isinstance(value, str):
            value = [value]
        example = '["book", "trade"]' if name == "channels" else '["BTC/USD"]'
        if not isinstance(value, list) or not value:
            self.fail(
                f"{key}.{name}",
                "missing" if value is None else "must be a non-empty list of strings",
                f'write "{name}": {example}',
            )
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item:
                self.fail(f"{key}.{name}[{i}]", f"must be a non-empty string, not {item!r}")
        return tuple(dict.fromkeys(value))

    def check_credentials(self, config: ServiceConfig) -> None:
        """Every WS API trades, so it needs a key and a secret (Binance: or an Ed25519 key;
        none with public_only); so does the REST API of the same account, which the WS API
        uses (for Kraken's token, Backpack's and Upbit's orders)."""
        rest = {(api.exchange, api.account): api for api in config.apis}
        for ws in config.ws_apis:
            if ws.exchange is Exchange.BINANCE and ws.kwargs.get("public_only") is True:
                continue
            shared = rest.get((ws.exchange, ws.account))
            for entry in (ws,) if shared is None else (ws, shared):
                self.require_credentials(entry, ws)

    def require_credentials(self, entry: ApiConfig, ws: ApiConfig) -> None:
        key_var, secret_var = CREDENTIALS[entry.exchange]
        alternative = ALTERNATIVE_SECRETS.get(entry.exchange)

        def given(argument: str, variable: str) -> bool:
            return bool(entry.kwargs.get(argument) or self.variables.get(variable))

        missing = []
        if not given("api_key", key_var):
            missing.append(("api_key", key_var))
        secret = given("api_secret", secret_var)
        if not secret and alternative is not None:
            secret = given(*alternative)
        if not secret:
            missing.append(("api_secret", secret_var))
        if not missing:
            return
        argument, variable = missing[0]
        if alternative is not None and argument == "api_secret":
            variable = f"{variable} (or {alternative[1]})"
        used_by = "" if entry is ws else f" (the WS API of {ws.key} uses this REST API)"
        self.fail(
            f"{entry.key}.{argument}",
            f"the {entry.exchange.value} {_WHAT[entry.kind]} needs credentials and has no "
            f"{argument}{used_by}",
            f"export {variable} (or give {argument!r} in the entry, e.g. "
            f'"${{MY_{entry.exchange.value.upper()}_{argument.upper()}}}"), put it in the .env '
            "file beside the config, or run on the simulator with --sim",
        )


_MEMBER_SUFFIX: Final = {"apis": "api", "ws_apis": "ws_api", "streams": "stream"}


def member_name(exchange: Exchange, kind: str) -> str:
    """The service attribute of a venue's member: `kraken_api`, `kraken_ws_api`,
    `kraken_stream` (`kind`: `apis`, `ws_apis` or `streams`)."""
    return f"{exchange.value}_{_MEMBER_SUFFIX[kind]}"


def constructor_arguments(cls: type[Any]) -> frozenset[str]:
    """The keyword arguments a JSON entry may give `cls` (its constructor's, through every
    `**kwargs` up the class hierarchy, less the Python-object ones)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names.update(
            p.name
            for p in params
            if p.name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        )
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return frozenset(names - _OBJECT_ARGUMENTS)


def _check_shared_members(file: Path | None, configs: list[ServiceConfig]) -> None:
    """Services side by side share one object per venue, kind and account: their entries must
    give it the same arguments (the factories refuse a second, different one)."""
    first: dict[tuple[str, Exchange, str], tuple[str, Mapping[str, Any]]] = {}
    for config in configs:
        entries: list[ApiConfig | StreamConfig] = [*config.apis, *config.ws_apis, *config.streams]
        for entry in entries:
            kind = entry.kind if isinstance(entry, ApiConfig) else "streams"
            slot = (kind, entry.exchange, entry.account)
            kwargs = dict(entry.kwargs)
            if slot not in first:
                first[slot] = (entry.key, kwargs)
                continue
            key, other = first[slot]
            if other != kwargs:
                changed = sorted(
                    k for k in other.keys() | kwargs.keys() if other.get(k) != kwargs.get(k)
                )
                raise ServiceConfigError(
                    file,
                    entry.key,
                    f"the {entry.exchange.value} {_WHAT[kind]} (account {entry.account!r}) is "
                    f"shared with {key}, which gives it other arguments ({', '.join(changed)})",
                    "give both entries the same arguments, or another account label",
                )


def is_identifier(key: str) -> bool:
    """Whether a setting key can be an attribute (`symbol`, `spread_bps`)."""
    return key.isidentifier() and not keyword.iskeyword(key) and not key.startswith("_")
