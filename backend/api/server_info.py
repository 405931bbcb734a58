"""Public facts about the running service: the apps read them to sync their clocks and versions."""

from __future__ import annotations

import functools
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version

import strawberry

from backend.api.context import Info
from backend.kit import clock


@functools.cache
def _version() -> str:
    try:
        return version("tanpuhui")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


@strawberry.type
class ServerInfo:
    version: str = strawberry.field(description="The service's release.")
    time: datetime = strawberry.field(description="The server's clock, UTC.")
    business_time_zone: str = strawberry.field(
        description="The zone of day boundaries (daily caps, expiry): Asia/Shanghai."
    )
    environment: str


@strawberry.type
class Query:
    @strawberry.field(description="The service's version and clock; needs no sign-in.")
    def server_info(self, info: Info) -> ServerInfo:
        return ServerInfo(
            version=_version(),
            time=clock.now(),
            business_time_zone=str(clock.SHANGHAI),
            environment=info.context.settings.env,
        )
