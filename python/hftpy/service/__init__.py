"""Strategies as services: a `ServiceBase` subclass, a JSON config naming its venues, one
command to run it (`hftpy run CONFIG --module FILE [--sim]`).

    from hftpy.service import ServiceBase

    class MMDemoService(ServiceBase):
        async def on_start(self): ...                 # self.kraken_ws_api etc. are ready here
        def on_book(self, venue, event, book): ...

`load_config(path)` reads and checks the config (`ServiceConfigError` naming the file, the
key path and the fix); `run_services(configs, ...)` runs them side by side and returns the
exit code. See `hftpy.service.config` for the file format and `hftpy.service.runner` for the
run's life and exit codes.
"""

from hftpy.service.base import ServiceBase, current_service
from hftpy.service.config import (
    ApiConfig,
    ServiceConfig,
    ServiceConfigError,
    StreamConfig,
    load_config,
    parse_config,
)
from hftpy.service.runner import ServiceRunner, run_services

__all__ = [
    "ApiConfig",
    "ServiceBase",
    "ServiceConfig",
    "ServiceConfigError",
    "ServiceRunner",
    "StreamConfig",
    "current_service",
    "load_config",
    "parse_config",
    "run_services",
]
