"""Parsing and validation are cached across requests (PERFORMANCE-NOTES.md 1)."""

from backend.api import extensions
from backend.api.schema import build_schema
from tests.conftest import make_context


async def test_a_repeated_document_is_parsed_and_validated_once(settings):
    schema = build_schema(settings)
    query = "query CacheProbe { serverInfo { version environment } }"
    await schema.execute(query, context_value=make_context(settings))
    parsed = extensions._parse.cache_info()
    validated = extensions._validate.cache_info()
    for _ in range(3):
        result = await schema.execute(query, context_value=make_context(settings))
        assert result.errors is None
    assert extensions._parse.cache_info().hits == parsed.hits + 3
    # The limit rules are made once per schema, so the validation cache's key stays the same.
    assert extensions._validate.cache_info().hits == validated.hits + 3
    assert extensions._validate.cache_info().misses == validated.misses
