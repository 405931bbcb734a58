"""JSON logs carry the request id and never a full phone number."""

import json
import logging

from backend.kit.logging import (
    JsonFormatter,
    acceptable_request_id,
    mask_phone,
    reset_request_id,
    set_request_id,
)


def test_phone_numbers_are_masked():
    assert mask_phone("code sent to 13812345678") == "code sent to 138****5678"
    assert mask_phone("+8613812345678") == "+86138****5678"
    # Longer digit runs (ids, amounts) are not phone numbers.
    assert mask_phone("order 213812345678901") == "order 213812345678901"


def test_log_lines_are_json_with_the_request_id_and_masked_numbers():
    token = set_request_id("req-12345678")
    try:
        record = logging.LogRecord(
            "t", logging.INFO, __file__, 1, "login %s", ("13912345678",), None
        )
        line = json.loads(JsonFormatter().format(record))
    finally:
        reset_request_id(token)
    assert line["request_id"] == "req-12345678"
    assert line["msg"] == "login 139****5678"
    assert line["level"] == "INFO"


def test_only_plain_request_ids_are_taken_from_callers():
    assert acceptable_request_id("abc-123_XYZ.9")
    assert not acceptable_request_id("short")
    assert not acceptable_request_id("has space and\nnewline")
    assert not acceptable_request_id("x" * 65)
    assert not acceptable_request_id(None)
