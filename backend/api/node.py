"""Relay `node(id:)`: global ids are base64 of "Type:public UUID", never of a sequential key.

Each Node type's `resolve_nodes` applies the caller's permissions, so an object the caller may not
see is reported exactly like one that does not exist: null.
"""

from __future__ import annotations

import inspect
from typing import Any

import strawberry
from strawberry import relay
from strawberry.relay import GlobalID, GlobalIDValueError

from backend.api.context import Info
from backend.kit.ids import parse_public_id


def decode_global_id(value: str) -> GlobalID | None:
    """The GlobalID in `value` when it is well formed and names a UUID, else None."""
    if not isinstance(value, str) or len(value) > 200:
        return None
    try:
        gid = GlobalID.from_id(value)
    except (GlobalIDValueError, ValueError, TypeError, UnicodeDecodeError):
        return None
    if parse_public_id(gid.node_id) is None:
        return None
    return gid


async def resolve_node(info: Info, id: str) -> relay.Node | None:
    gid = decode_global_id(id)
    if gid is None:
        return None
    type_def = info.schema.get_type_by_name(gid.type_name)
    origin: Any = getattr(type_def, "origin", None)
    if not (inspect.isclass(origin) and issubclass(origin, relay.Node)):
        return None
    result = origin.resolve_nodes(info=info, node_ids=[gid.node_id], required=False)
    if inspect.isawaitable(result):
        result = await result
    nodes = list(result)
    return nodes[0] if nodes else None


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id; null when missing or not yours.")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        return await resolve_node(info, id)


def public_id_of(value: str, type_name: str, *, field: str) -> str:
    """The public UUID inside a global id of `type_name`; InvalidInput for anything else."""
    from backend.kit.errors import InvalidInput

    gid = decode_global_id(value)
    if gid is None or gid.type_name != type_name:
        raise InvalidInput(
            field=field,
            reason=f"not the id of a {type_name}",
            reason_zh=f"不是有效的 {type_name} 标识",
        )
    return gid.node_id


def optional_organisation_id(value: str | None, *, field: str) -> str | None:
    """The public UUID of an optional Organisation id argument (a household, a business)."""
    return public_id_of(value, "Organisation", field=field) if value is not None else None
