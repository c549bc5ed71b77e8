"""The blast radius of a bad canary (sandbox/drivers/observe.py::BlastRadius), from samples and listener weights."""

from __future__ import annotations

import pytest

from sandbox.drivers.observe import BlastRadius, Sample


def test_bad_requests_against_rate_share_fault_and_the_time_from_the_first_bad_one_to_100_percent_back():
    changes = [
        (100.0, {"blue": 100}),
        (110.0, {"blue": 90, "green": 10}),
        (114.0, {"blue": 100, "green": 0}),
    ]
    ok = [Sample(100.0 + i / 10, 0.005, 200, None) for i in range(200)]
    bad = [Sample(111.0 + i, 0.004, 500, None) for i in range(3)]
    radius = BlastRadius(ok + bad, changes, "green", fault_share=0.3, rate=60.0, alarm_at=113.0)
    assert radius.canary_share == 0.1
    assert radius.exposure == (110.0, 114.0)
    assert radius.exposed_seconds == 3.0  # from the first bad request (111) to the weights back (114)
    assert radius.predicted == pytest.approx(60 * 0.1 * 0.3 * 3.0)
    assert radius.lines() == [
        "  3 of 203 requests failed; predicted 5.4 = 60/s x canary 10% x fault 30% x 3.0 s from the first bad "
        "request to 100 % back",
        "  first bad request -> alarm in ALARM: 2.0 s",
        "  first bad request -> 100 % back on the original: 3.0 s",
    ]
    slow = BlastRadius([*ok, Sample(112.5, 1.6, 200, None)], changes, "green", 1.0, 60.0, slow_seconds=1.5)
    assert [s.at for s in slow.bad_samples] == [112.5]
    assert slow.exposed_seconds == pytest.approx(114.0 - (112.5 - 1.5))  # sent 1.5 s before it ended
