"""The Qt-free live policy: one decode in flight, the newest request wins, a grace period."""
import pytest

from sketchstudio.app.logic.live_policy import LivePolicy, RateMeter


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


@pytest.fixture
def clock():
    return Clock()


def test_a_request_starts_after_the_grace_period(clock):
    p = LivePolicy(grace_s=0.05, clock=clock)
    assert p.due_in() is None and p.take() is None
    assert p.submit("a") is False  # nothing running: nothing to cancel
    assert p.due_in() == pytest.approx(0.05)
    assert p.take() is None
    clock.t += 0.05
    assert p.due_in() == 0.0 and p.take() == "a"
    assert p.busy and p.running == "a" and p.pending is None


def test_quick_requests_coalesce_and_the_newest_wins(clock):
    p = LivePolicy(grace_s=0.05, clock=clock)
    for value in ("a", "b", "c"):
        p.submit(value)
        clock.t += 0.02  # each within the grace period of the one before
    assert p.take() is None  # the grace period restarts with every request
    clock.t += 0.03
    assert p.take() == "c"
    p.done()
    assert p.take() is None and not p.busy


def test_one_in_flight_and_a_new_request_asks_to_cancel_it(clock):
    p = LivePolicy(grace_s=0.0, clock=clock)
    p.submit("a")
    assert p.take() == "a"
    assert p.submit("b") is True  # a is stale now
    assert p.submit("c") is True
    assert p.due_in() is None and p.take() is None  # still one in flight
    p.done()
    assert p.take() == "c"  # b was superseded without ever running


def test_frames_do_not_preempt_and_skip_the_grace_period(clock):
    p = LivePolicy(grace_s=10.0, clock=clock)
    assert p.submit("frame1", preempt=False, wait=False) is False
    assert p.take() == "frame1"
    assert p.submit("frame2", preempt=False, wait=False) is False  # let the running frame finish
    p.submit("frame3", preempt=False, wait=False)  # frame2 is dropped as stale
    p.done()
    assert p.take() == "frame3"


def test_discard_forgets_only_the_pending_request(clock):
    p = LivePolicy(grace_s=0.0, clock=clock)
    p.submit("a")
    p.take()
    p.submit("b")
    p.discard()
    assert p.pending is None and p.running == "a"
    p.done()
    assert p.take() is None


def test_rate_meter(clock):
    m = RateMeter(window_s=2.0, clock=clock)
    assert m.rate() == 0.0
    for _ in range(5):
        m.tick()
        clock.t += 0.25
    assert m.rate() == pytest.approx(4.0)  # 4 intervals in 1 s
    clock.t += 5.0
    assert m.rate() == 0.0  # all outside the window

