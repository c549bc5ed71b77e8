"""The wait both controllers share (module_utils/wait.py): how often it polls, and what it tells as it goes."""

from __future__ import annotations

from module_utils.wait import Watcher


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


class Scripted(Watcher):
    """A deployment whose status changes at given seconds; `ending_from`: when its last step is done."""

    def __init__(self, clock: Clock, changes: list[tuple[float, str]], ending_from: float | None = None) -> None:
        super().__init__(clock=clock.monotonic, sleep=clock.sleep)
        self.clock_ = clock
        self.changes = changes
        self.ending_from = ending_from

    def poll(self, force=False):
        self.api_calls += 1
        status = [status for at, status in self.changes if at <= self.clock_.now][-1]
        return {"status": status, "at": self.clock_.now}

    def lines(self, previous, current):
        return [f"deployment {current['status']}"] if previous and previous["status"] != current["status"] else []

    def ending(self, snap):
        return self.ending_from is not None and snap["at"] >= self.ending_from

    def settled(self, snap):
        return snap["status"] == "Succeeded"


def test_polls_back_off_to_two_seconds_while_nothing_changes() -> None:
    clock = Clock()
    Scripted(clock, [(0, "InProgress"), (30, "Succeeded")]).wait(lambda s, t: False, 60)
    assert clock.sleeps[:5] == [0.75, 1.125, 1.688, 2.0, 2.0]
    assert max(clock.sleeps) == 2.0


def test_once_the_deployment_is_ending_it_is_polled_every_second_and_its_end_seen_within_one() -> None:
    clock = Clock()
    snap, _timeline, _reached, _timed_out = Scripted(
        clock, [(0, "InProgress"), (20.3, "Succeeded")], ending_from=10
    ).wait(lambda s, t: False, 60)
    late = clock.sleeps[-5:]
    assert max(late) <= 1.0
    assert snap["status"] == "Succeeded"
    assert clock.now - 20.3 <= 1.0


def test_tell_hears_each_change_as_it_is_seen_and_says_when_nothing_changed_for_a_while() -> None:
    clock = Clock()
    told: list[tuple[list[str], str]] = []
    Scripted(clock, [(0, "InProgress"), (3, "Baking"), (20, "Succeeded")]).wait(
        lambda s, t: False,
        60,
        previous={"status": "Created", "at": -1},
        tell=lambda entries, snap: told.append(([e["message"] for e in entries], snap["status"])),
        quiet_every=5,
    )
    changes = [entries for entries, _status in told if entries]
    assert changes == [["deployment InProgress"], ["deployment Baking"], ["deployment Succeeded"]]
    quiet = [status for entries, status in told if not entries]
    assert quiet, "a quiet stretch longer than quiet_every is told"
    assert set(quiet) <= {"InProgress", "Baking"}
