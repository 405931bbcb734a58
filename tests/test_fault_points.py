"""Every named fault point in the code is one a crash test kills a process at (tests/kill.py's
FAULT_POINTS names the tests), and each test named there exists."""

import re

from backend.settings import ROOT
from tests.kill import FAULT_POINTS


def test_every_fault_point_has_a_crash_test():
    in_code = set()
    for path in (ROOT / "backend").rglob("*.py"):
        in_code |= set(re.findall(r'crash_point\("([a-z_.]+)"\)', path.read_text()))
    assert in_code == set(FAULT_POINTS)
    for point, where in FAULT_POINTS.items():
        for test_file in re.findall(r"tests/[\w/]+\.py", where):
            text = (ROOT / test_file).read_text()
            assert point in text, (point, test_file)
