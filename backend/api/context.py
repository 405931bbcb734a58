"""The typed context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import FieldNode
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from backend.kit.actor import ANONYMOUS, Actor
from backend.settings import Settings


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    settings: Settings
    language: str
    request_id: str | None
    actor: Actor = ANONYMOUS
    # graphql-transport-ws connection_init payload (strawberry fills it in)
    connection_params: dict[str, Any] | None = None
    # per-request DataLoaders, created on first use by the domain's loaders module
    loaders: dict[str, Any] = field(default_factory=dict)

    def loader(self, name: str, factory: Any) -> Any:
        """The request's DataLoader called `name`, made by `factory()` on first use."""
        if name not in self.loaders:
            self.loaders[name] = factory()
        return self.loaders[name]


Info = StrawberryInfo[Context, None]


def selects_any(info: Any, names: frozenset[str]) -> bool:
    """Whether the field being resolved selects one of `names` directly on its result (fields
    inside fragments are not looked at: a caller must still serve them without this hint)."""
    for node in info._raw_info.field_nodes:
        if node.selection_set is None:
            continue
        for selection in node.selection_set.selections:
            if isinstance(selection, FieldNode) and selection.name.value in names:
                return True
    return False


def client_address(request: Any) -> str:
    """The caller's address as the server saw it (uvicorn's proxy_headers resolve
    X-Forwarded-For from the proxies named in FORWARDED_ALLOW_IPS)."""
    client = getattr(request, "client", None)
    return client.host if client and client.host else "unknown"
