"""The service config file (seed 000's second half): parsing, `${VAR}` / `.env` / env files,
and every error naming the file, the key path and the fix. No connection is involved."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from hftpy.common import Exchange
from hftpy.errors import ConfigError
from hftpy.service import ServiceBase, ServiceConfigError, load_config
from hftpy.service.config import expand_variables, member_name, parse_env_text, read_env_file
from hftpy.service.runner import load_modules, resolve_class

KRAKEN_CREDENTIALS = {"api_key": "${KRAKEN_KEY}", "api_secret": "${KRAKEN_SECRET}"}


def write(folder: Path, document: Any, name: str = "config.json") -> Path:
    path = folder / name
    path.write_text(document if isinstance(document, str) else json.dumps(document, indent=2))
    return path


def seed_config(**setting: Any) -> dict[str, Any]:
    """Seed 000's config with `${VAR}` credentials, plus `setting`."""
    return {
        "service.mm_demo": {
            "class_name": "MMDemoService",
            "setting": {
                "apis": [{"exchange": "kraken", **KRAKEN_CREDENTIALS}],
                "ws_apis": [{"exchange": "kraken", **KRAKEN_CREDENTIALS}],
                **setting,
            },
        }
    }


@pytest.fixture
def kraken_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRAKEN_KEY", "key-from-env")
    monkeypatch.setenv("KRAKEN_SECRET", "c2VjcmV0")


@pytest.fixture
def isolated_imports(tmp_path: Path) -> Iterator[None]:
    """`--module` files go on sys.path and into sys.modules: undone after the test."""
    path = list(sys.path)
    yield
    sys.path[:] = path
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


def config_error(path: Path, **kwargs: Any) -> ServiceConfigError:
    with pytest.raises(ServiceConfigError) as caught:
        load_config(path, **kwargs)
    error = caught.value
    assert isinstance(error, ConfigError) and error.file == path
    assert str(path) in str(error)
    return error


# -- the seed's form ----------------------------------------------------------------------------


@pytest.mark.usefixtures("kraken_env")
def test_seed_config_parses(tmp_path: Path) -> None:
    streams = [{"exchange": "kraken", "channels": ["book", "trade"], "symbols": ["BTC/USD"]}]
    path = write(
        tmp_path,
        seed_config(streams=streams, symbol="BTC/USD", spread_bps=10, cancel_on_stop=True),
    )
    (config,) = load_config(path)
    assert (config.name, config.class_name, config.key) == (
        "mm_demo",
        "MMDemoService",
        "service.mm_demo",
    )
    assert config.file == path and config.cancel_on_stop is True
    assert dict(config.setting) == {"symbol": "BTC/USD", "spread_bps": 10}  # the strategy's own
    with pytest.raises(TypeError):
        config.setting["symbol"] = "ETH/USD"  # type: ignore[index]
    (rest,) = config.apis
    (ws,) = config.ws_apis
    assert rest.exchange is ws.exchange is Exchange.KRAKEN
    assert dict(ws.kwargs) == {"api_key": "key-from-env", "api_secret": "c2VjcmV0"}
    assert ws.key == "service.mm_demo.setting.ws_apis[0]" and ws.account == "default"
    (stream,) = config.streams
    assert (stream.channels, stream.symbols) == (("book", "trade"), ("BTC/USD",))
    assert config.venues == [Exchange.KRAKEN]
    assert member_name(Exchange.KRAKEN, "ws_apis") == "kraken_ws_api"


@pytest.mark.usefixtures("kraken_env")
def test_several_services_side_by_side(tmp_path: Path) -> None:
    document = seed_config()
    document["service.other"] = {
        "class_name": "pkg.mod:Other",
        "cancel_on_stop": False,
        "setting": {
            "ws_apis": [{"exchange": "kraken", **KRAKEN_CREDENTIALS}],
            "streams": [{"exchange": "binance", "channels": "quote", "symbols": "BTCUSDT"}],
            "size": "0.001",
        },
    }
    first, second = load_config(write(tmp_path, document))
    assert (first.name, second.name) == ("mm_demo", "other")
    assert second.cancel_on_stop is False and first.cancel_on_stop is None
    assert second.venues == [Exchange.KRAKEN, Exchange.BINANCE]
    assert second.streams[0].channels == ("quote",) and second.streams[0].symbols == ("BTCUSDT",)


def test_a_shared_member_needs_the_same_arguments(tmp_path: Path) -> None:
    document = {
        "service.a": {"class_name": "A", "setting": {"apis": [{"exchange": "upbit"}]}},
        "service.b": {
            "class_name": "B",
            "setting": {"apis": [{"exchange": "upbit", "timeout": 3}]},
        },
    }
    error = config_error(write(tmp_path, document))
    assert error.key == "service.b.setting.apis[0]"
    assert "shared with service.a.setting.apis[0]" in error.problem and "timeout" in error.problem
    assert "same arguments" in error.fix


# -- variables ----------------------------------------------------------------------------------


def test_variables_defaults_and_escapes() -> None:
    env = {"HOST": "127.0.0.1", "EMPTY": ""}
    assert expand_variables("ws://${HOST}:8791/v2", env) == "ws://127.0.0.1:8791/v2"
    assert expand_variables("${PORT:-8791}", env) == "8791"
    assert expand_variables("${EMPTY:-fallback}", env) == "fallback"
    assert expand_variables("${EMPTY}", env) == ""
    assert expand_variables("$${HOST} costs $5", env) == "${HOST} costs $5"
    with pytest.raises(ServiceConfigError, match="PORT is not set") as caught:
        expand_variables("${PORT}", env, file="c.json", key="service.x.setting.port")
    assert caught.value.key == "service.x.setting.port" and "${PORT:-default}" in caught.value.fix
    with pytest.raises(ServiceConfigError, match="bad variable reference"):
        expand_variables("${1PORT}", env)
    with pytest.raises(ServiceConfigError, match="unterminated"):
        expand_variables("${PORT", env)


def test_a_missing_variable_names_file_key_and_fix(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, seed_config()))
    assert error.key == "service.mm_demo.setting.apis[0].api_key"
    assert error.problem == "environment variable KRAKEN_KEY is not set"
    assert "export KRAKEN_KEY=" in error.fix and ".env" in error.fix


def test_variables_expand_in_strategy_settings(
    tmp_path: Path, kraken_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIZE", "0.002")
    path = write(tmp_path, seed_config(size="${SIZE}", levels=["${LEVEL:-1}", 2], tag="$${x}"))
    (config,) = load_config(path)
    assert dict(config.setting) == {"size": "0.002", "levels": ["1", 2], "tag": "${x}"}


def test_dotenv_beside_the_config_never_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KRAKEN_KEY", "from-the-environment")
    monkeypatch.delenv("KRAKEN_SECRET", raising=False)
    (tmp_path / ".env").write_text(
        textwrap.dedent(
            """\
            # credentials for the live run
            export KRAKEN_KEY=from-the-file
            KRAKEN_SECRET='c2Vj cmV0'  # quoted: kept as is
            HFTPY_BINANCE_API_KEY="a\\"b"
            PLAIN=value # comment
            """
        )
    )
    (config,) = load_config(write(tmp_path, seed_config(plain="${PLAIN}")))
    assert config.ws_apis[0].kwargs["api_key"] == "from-the-environment"
    assert config.ws_apis[0].kwargs["api_secret"] == "c2Vj cmV0"
    assert config.setting["plain"] == "value"
    # what the runner sets for the run: only the variables the environment lacks
    assert dict(config.env) == {
        "KRAKEN_SECRET": "c2Vj cmV0",
        "HFTPY_BINANCE_API_KEY": 'a"b',
        "PLAIN": "value",
    }


def test_env_file_replaces_the_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KRAKEN_KEY", "KRAKEN_SECRET"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text("KRAKEN_KEY=beside\nKRAKEN_SECRET=beside\n")
    other = tmp_path / "live.env"
    other.write_text("KRAKEN_KEY=chosen\nKRAKEN_SECRET=chosen\n")
    (config,) = load_config(write(tmp_path, seed_config()), env_file=other)
    assert config.ws_apis[0].kwargs["api_key"] == "chosen"
    with pytest.raises(ServiceConfigError, match="cannot read the env file") as caught:
        load_config(write(tmp_path, seed_config()), env_file=tmp_path / "absent.env")
    assert caught.value.file == tmp_path / "absent.env"


def test_env_file_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.env"
    bad.write_text("GOOD=1\nthis is not an assignment\n")
    with pytest.raises(ServiceConfigError, match="expected NAME=value") as caught:
        read_env_file(bad)
    assert caught.value.key == "line 2" and caught.value.file == bad
    with pytest.raises(ServiceConfigError, match="unterminated"):
        parse_env_text("A='open")
    with pytest.raises(ServiceConfigError, match="after the closing quote"):
        parse_env_text("A='x' y")


# -- credentials --------------------------------------------------------------------------------


def test_a_ws_api_without_credentials(tmp_path: Path) -> None:
    document = {"service.x": {"class_name": "X", "setting": {"ws_apis": [{"exchange": "kraken"}]}}}
    error = config_error(write(tmp_path, document))
    assert error.key == "service.x.setting.ws_apis[0].api_key"
    assert "needs credentials" in error.problem
    assert "HFTPY_KRAKEN_API_KEY" in error.fix and "--sim" in error.fix


def test_credentials_from_the_environment_suffice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HFTPY_UPBIT_API_KEY", "k")
    monkeypatch.setenv("HFTPY_UPBIT_API_SECRET", "s")
    document = {"service.x": {"class_name": "X", "setting": {"ws_apis": [{"exchange": "upbit"}]}}}
    (config,) = load_config(write(tmp_path, document))
    assert dict(config.ws_apis[0].kwargs) == {}  # the factory reads the environment


def test_the_rest_api_a_ws_api_uses_needs_credentials_too(tmp_path: Path, kraken_env: None) -> None:
    document = seed_config()
    document["service.mm_demo"]["setting"]["apis"] = [{"exchange": "kraken"}]
    error = config_error(write(tmp_path, document))
    assert error.key == "service.mm_demo.setting.apis[0].api_key"
    assert "service.mm_demo.setting.ws_apis[0] uses this REST API" in error.problem


def test_binance_secret_alternatives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def binance(**entry: Any) -> Path:
        setting = {"ws_apis": [{"exchange": "binance", **entry}]}
        return write(tmp_path, {"service.b": {"class_name": "B", "setting": setting}})

    error = config_error(binance(api_key="k"))
    assert error.key == "service.b.setting.ws_apis[0].api_secret"
    assert "HFTPY_BINANCE_ED25519_KEY" in error.fix
    load_config(binance(api_key="k", ed25519_key="/keys/ed25519.pem"))
    load_config(binance(public_only=True))
    monkeypatch.setenv("HFTPY_BINANCE_ED25519_KEY", "seed")
    load_config(binance(api_key="k"))


def test_sim_mode_reads_no_credentials_or_urls(tmp_path: Path) -> None:
    document = seed_config()
    document["service.mm_demo"]["setting"]["ws_apis"][0]["url"] = "${LIVE_URL}"
    path = write(tmp_path, document)
    config_error(path)  # live: KRAKEN_KEY is not set
    (config,) = load_config(path, sim=True)
    assert dict(config.ws_apis[0].kwargs) == {} and dict(config.apis[0].kwargs) == {}


# -- every structural error ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "key", "problem", "fix"),
    [
        ("[]", "", "must be a JSON object", "service.<name>"),
        ("{}", "", "no service entry", "class_name"),
        ({"services": {}}, "services", "unknown top-level key", '"service.<name>"'),
        ({"service.": {}}, "service.", "unknown top-level key", "letters"),
        ({"service.a": []}, "service.a", "must be an object", "class_name"),
        (
            {"service.a": {"class_name": "A", "settings": {}}},
            "service.a.settings",
            "unknown key",
            "setting",
        ),
        ({"service.a": {"setting": {}}}, "service.a.class_name", "missing", "ServiceBase subclass"),
        (
            {"service.a": {"class_name": 3}},
            "service.a.class_name",
            "non-empty string",
            "package.module:",
        ),
        (
            {"service.a": {"class_name": "A", "setting": []}},
            "service.a.setting",
            "must be an object",
            "",
        ),
        (
            {"service.a": {"class_name": "A", "cancel_on_stop": "yes"}},
            "service.a.cancel_on_stop",
            "true or false",
            "",
        ),
        (
            {
                "service.a": {
                    "class_name": "A",
                    "cancel_on_stop": True,
                    "setting": {"cancel_on_stop": False},
                }
            },
            "service.a.setting.cancel_on_stop",
            "contradicts service.a.cancel_on_stop",
            "one place",
        ),
        (
            {"service.a": {"class_name": "A", "setting": {"apis": {}}}},
            "service.a.setting.apis",
            "list",
            "",
        ),
        (
            {"service.a": {"class_name": "A", "setting": {"apis": ["kraken"]}}},
            "service.a.setting.apis[0]",
            "must be an object",
            "exchange",
        ),
        (
            {"service.a": {"class_name": "A", "setting": {"apis": [{}]}}},
            "service.a.setting.apis[0].exchange",
            "missing",
            "kraken, binance, backpack, upbit",
        ),
        (
            {"service.a": {"class_name": "A", "setting": {"apis": [{"exchange": "ftx"}]}}},
            "service.a.setting.apis[0].exchange",
            "unknown venue 'ftx'",
            "one of kraken",
        ),
        (
            {"service.a": {"class_name": "A", "setting": {"apis": [{"exchange": 1}]}}},
            "service.a.setting.apis[0].exchange",
            "must be a string",
            "",
        ),
        (
            {
                "service.a": {
                    "class_name": "A",
                    "setting": {"apis": [{"exchange": "kraken", "key": "x"}]},
                }
            },
            "service.a.setting.apis[0].key",
            "unknown key for a kraken REST API",
            "api_key",
        ),
        (
            {
                "service.a": {
                    "class_name": "A",
                    "setting": {"apis": [{"exchange": "kraken", "rest_api": "x"}]},
                }
            },
            "service.a.setting.apis[0].rest_api",
            "unknown key",
            "known keys",
        ),
        (
            {
                "service.a": {
                    "class_name": "A",
                    "setting": {"apis": [{"exchange": "upbit", "api_key": 5}]},
                }
            },
            "service.a.setting.apis[0].api_key",
            "must be a string",
            "",
        ),
        (
            {
                "service.a": {
                    "class_name": "A",
                    "setting": {"apis": [{"exchange": "upbit"}, {"exchange": "UPBIT"}]},
                }
            },
            "service.a.setting.apis[1]",
            "a second upbit entry",
            "self.upbit_api",
        ),
        (
            {
                "service.a": {
                    "class_name": "A",
                    "setting": {"streams": [{"exchange": "kraken", "symbols": ["BTC/USD"]}]},
                }
            },
            "service.a.setting.streams[0].channels",
            "missing",
            '"channels": ["book", "trade"]',
        ),
        (
            {
                "service.a": {
                    "class_name": "A",
                    "setting": {
                        "streams": [
                            {"exchange": "kraken", "channels": ["quote"], "symbols": ["BTC/USD"]}
                        ]
                    },
                }
            },
            "service.a.setting.streams[0].channels[0]",
            "unknown kraken channel 'quote'",
            "book, ticker, trade",
        ),
        (
            {
                "service.a": {
                    "class_name": "A",
                    "setting": {
                        "streams": [{"exchange": "kraken", "channels": ["book"], "symbols": []}]
                    },
                }
            },
            "service.a.setting.streams[0].symbols",
            "non-empty list",
            "",
        ),
        (
            {
                "service.a": {
                    "class_name": "A",
                    "setting": {
                        "streams": [{"exchange": "kraken", "channels": ["book"], "symbols": [""]}]
                    },
                }
            },
            "service.a.setting.streams[0].symbols[0]",
            "non-empty string",
            "",
        ),
        (
            {
                "service.a": {
                    "class_name": "A",
                    "setting": {
                        "streams": [
                            {
                                "exchange": "kraken",
                                "channels": ["book"],
                                "symbols": ["BTC/USD"],
                                "depth_levels": 10,
                            }
                        ]
                    },
                }
            },
            "service.a.setting.streams[0].depth_levels",
            "unknown key for a kraken stream",
            "depth",
        ),
    ],
)
def test_every_structural_error(
    tmp_path: Path, document: Any, key: str, problem: str, fix: str
) -> None:
    error = config_error(write(tmp_path, document))
    assert error.key == key
    assert problem in error.problem
    assert fix in error.fix


def test_json_syntax_and_duplicate_keys(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, '{"service.a": {"class_name": "A",}}'))
    assert error.key == "line 1 column 34" and "not valid JSON" in error.problem
    error = config_error(write(tmp_path, '{"service.a": {}, "service.a": {}}'))
    assert error.key == "service.a" and "twice" in error.problem
    error = config_error(tmp_path / "absent.json")
    assert "cannot read the config" in error.problem


# -- class_name ---------------------------------------------------------------------------------

MODULE = """
from hftpy.service import ServiceBase

class Quoter(ServiceBase):
    pass

class Other(ServiceBase):
    pass

class NotAService:
    pass
"""


@pytest.mark.usefixtures("isolated_imports")
def test_class_name_bare_or_module_path(tmp_path: Path) -> None:
    module_file = tmp_path / "strategies_for_config_test.py"
    module_file.write_text(MODULE)
    modules = load_modules([str(module_file)])
    document = {
        "service.a": {"class_name": "Quoter"},
        "service.b": {"class_name": "strategies_for_config_test:Other"},
        "service.c": {"class_name": "Missing"},
        "service.d": {"class_name": "strategies_for_config_test:NotAService"},
        "service.e": {"class_name": "no_such_package.mod:X"},
        "service.f": {"class_name": "strategies_for_config_test:Nope"},
    }
    path = write(tmp_path, document)
    a, b, c, d, e, f = load_config(path)
    assert resolve_class(a, modules).__name__ == "Quoter"
    assert resolve_class(b, modules).__name__ == "Other"
    for config, problem, fix in (
        (c, "no ServiceBase subclass named 'Missing'", "--module FILE"),
        (d, "is not a ServiceBase subclass", "derive"),
        (e, "cannot import 'no_such_package.mod'", "PYTHONPATH"),
        (f, "has no 'Nope'", "class name"),
    ):
        with pytest.raises(ServiceConfigError) as caught:
            resolve_class(config, modules)
        assert caught.value.key == f"{config.key}.class_name" and caught.value.file == path
        assert problem in caught.value.problem and fix in caught.value.fix
    with pytest.raises(ServiceConfigError, match=r"found: Other, Quoter"):
        resolve_class(c, modules)
    with pytest.raises(ServiceConfigError, match="no --module given"):
        resolve_class(a, [])


@pytest.mark.usefixtures("isolated_imports")
def test_module_errors(tmp_path: Path) -> None:
    with pytest.raises(ServiceConfigError, match="no such file") as caught:
        load_modules([str(tmp_path / "absent.py")])
    assert caught.value.key == f"--module {tmp_path / 'absent.py'}"
    broken = tmp_path / "broken_service_module.py"
    broken.write_text("raise RuntimeError('boom at import')\n")
    with pytest.raises(ServiceConfigError, match="boom at import"):
        load_modules([str(broken)])
    with pytest.raises(ServiceConfigError, match="cannot import it"):
        load_modules(["no_such_module_anywhere"])


# -- the strategy's settings on the service ------------------------------------------------------


class Configured(ServiceBase):
    spread_bps: ClassVar[float] = 5.0  # a class default the config replaces

    @property
    def size(self) -> str:
        return "computed"


def test_identifier_settings_become_attributes_unless_they_clash() -> None:
    setting = {
        "symbol": "BTC/USD",
        "spread_bps": 12,
        "size": "0.1",
        "stop": 1,
        "kraken_ws_api": "x",
        "on_book": 2,
        "my-key": 3,
        "class": 4,
        "_private": 5,
        "name": "other",
    }
    service = Configured("svc", setting)
    assert service.name == "svc" and service.log.name == "hftpy.service.svc"
    assert service.symbol == "BTC/USD" and service.spread_bps == 12
    assert service.size == "computed" and callable(service.stop)
    assert service.setting["stop"] == 1 and service.setting["my-key"] == 3
    assert dict(service.setting) == setting
    with pytest.raises(AttributeError, match="no kraken_ws_api: its config has no kraken entry"):
        Configured("svc", {}).kraken_ws_api  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'whatever'"):
        service.whatever  # noqa: B018
