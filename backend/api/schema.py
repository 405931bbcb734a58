"""The one GraphQL schema, composed from every domain's Query, Mutation and Subscription."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from backend.accounts import privacy_api
from backend.accounts import schema as accounts_schema
from backend.api import server_info
from backend.api.errors import (
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    convert_errors,
)
from backend.api.extensions import schema_extensions
from backend.api.node import NodeQuery
from backend.api.scalars import SCALAR_MAP
from backend.audit import schema as audit_schema
from backend.behaviour import schema as behaviour_schema
from backend.certificates import schema as certificates_schema
from backend.consent import schema as consent_schema
from backend.credits import schema as credits_schema
from backend.kit.errors import DEFAULT_LANGUAGE
from backend.ledger import schema as ledger_schema
from backend.ledger.types import InsufficientPointsError
from backend.market import schema as market_schema
from backend.methodology import schema as methodology_schema
from backend.rewards import schema as rewards_schema
from backend.settings import Settings
from backend.supervision import schema as supervision_schema

Query = merge_types(
    "Query",
    (
        NodeQuery,
        server_info.Query,
        accounts_schema.Query,
        consent_schema.Query,
        ledger_schema.Query,
        methodology_schema.Query,
        behaviour_schema.Query,
        rewards_schema.Query,
        credits_schema.Query,
        credits_schema.IssuanceQuery,
        credits_schema.RegistryQuery,
        market_schema.Query,
        certificates_schema.Query,
        privacy_api.Query,
        supervision_schema.Query,
        audit_schema.Query,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        accounts_schema.Mutation,
        consent_schema.Mutation,
        ledger_schema.Mutation,
        methodology_schema.Mutation,
        behaviour_schema.Mutation,
        rewards_schema.Mutation,
        credits_schema.Mutation,
        credits_schema.IssuanceMutation,
        credits_schema.RegistryMutation,
        market_schema.Mutation,
        certificates_schema.Mutation,
        privacy_api.Mutation,
        supervision_schema.Mutation,
    ),
)
Subscription = merge_types(
    "Subscription", (ledger_schema.Subscription, rewards_schema.Subscription)
)

# Error types listed so the SDL has them before a mutation's union names them.
KIT_ERROR_TYPES = [
    InvalidInputError,
    NotFoundError,
    IdempotencyKeyReusedError,
    InsufficientPointsError,
]


class Schema(strawberry.Schema):
    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        """Apply the error convention; only unexpected errors are logged (by convert_errors)."""
        context = getattr(execution_context, "context", None)
        convert_errors(errors, getattr(context, "language", DEFAULT_LANGUAGE))


def build_schema(settings: Settings) -> strawberry.Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=KIT_ERROR_TYPES,
        extensions=schema_extensions(settings),
        config=StrawberryConfig(
            scalar_map=SCALAR_MAP,
            # "Did you mean ...?" reveals the schema; it goes where introspection goes.
            disable_field_suggestions=not settings.introspection,
        ),
    )
