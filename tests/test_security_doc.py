"""SECURITY.md names the tests that prove each promise: every file and test it names exists."""

import re

from backend.settings import ROOT


def test_every_test_security_md_names_exists():
    text = (ROOT / "SECURITY.md").read_text()
    named = re.findall(r"`(tests/[\w/]+\.py)((?:::\w+)?)`", text)
    assert len(named) > 20
    # "`::name`" right after a file names another test of that file
    for path, test in named:
        source = (ROOT / path).read_text()
        if test:
            assert f"def {test[2:]}(" in source, f"{path}{test} is not a test"
    for file_and_tests in re.findall(r"`(tests/[\w/]+\.py)::\w+`((?:, `::\w+`)+)", text):
        path, more = file_and_tests
        source = (ROOT / path).read_text()
        for name in re.findall(r"`::(\w+)`", more):
            assert f"def {name}(" in source, f"{path}::{name} is not a test"
