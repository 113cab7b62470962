"""Each person's share of the bot: at most N commands and clicks in any minute."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core.rate_limit import RateLimiter, Verdict, refusal


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_past_the_limit_refused_with_when_to_retry() -> None:
    clock = Clock()
    limiter = RateLimiter(limit=3, clock=clock)
    for _ in range(3):
        assert limiter.admit("U1").admitted
        clock.now += 10  # admitted at 1000, 1010, 1020
    verdict = limiter.admit("U1")  # at 1030: the first leaves the window at 1060
    assert not verdict.admitted and verdict.retry_seconds == 30 and verdict.first_refusal
    assert limiter.admit("U2").admitted  # someone else is not affected
    again = limiter.admit("U1")
    assert not again.admitted and not again.first_refusal  # told once already
    text = str(refusal(again, limit=3))
    assert "[access] user_rate_limit" in text and "Try again in 30 s." in text
    clock.now = 1060  # exactly a minute after the first
    assert limiter.admit("U1").admitted
    clock.now = 1060.5
    verdict = limiter.admit("U1")
    assert not verdict.admitted and verdict.first_refusal  # a new flood is told again
    assert verdict.retry_seconds == 10  # 1070 - 1060.5 rounded up


def test_zero_disables() -> None:
    limiter = RateLimiter(limit=0, clock=Clock())
    assert all(limiter.admit("U1").admitted for _ in range(1000))


def test_refusals_do_not_push_the_retry_time_away() -> None:
    clock = Clock()
    limiter = RateLimiter(limit=1, clock=clock)
    assert limiter.admit("U1").admitted
    for _ in range(50):
        clock.now += 1
        limiter.admit("U1")
    clock.now = 1060
    assert limiter.admit("U1").admitted


def test_idle_people_are_forgotten() -> None:
    clock = Clock()
    limiter = RateLimiter(limit=2, clock=clock)
    for user in range(1000):
        limiter.admit(f"U{user}")
    clock.now += 61
    limiter.admit("U0NEW")
    assert list(limiter._admitted) == ["U0NEW"]


@given(
    limit=st.integers(1, 10),
    steps=st.lists(st.tuples(st.sampled_from(["U1", "U2"]), st.floats(0, 30)), max_size=80),
)
def test_never_more_than_the_limit_in_any_window(
    limit: int, steps: list[tuple[str, float]]
) -> None:
    clock = Clock()
    limiter = RateLimiter(limit=limit, clock=clock)
    admitted: dict[str, list[float]] = {"U1": [], "U2": []}
    for user, pause in steps:
        clock.now += pause
        verdict: Verdict = limiter.admit(user)
        times = admitted[user]
        in_window = [t for t in times if t > clock.now - 60]
        # Admitted exactly when fewer than `limit` were admitted in the last minute...
        assert verdict.admitted == (len(in_window) < limit)
        if verdict.admitted:
            times.append(clock.now)
        else:
            # ...and the retry time is when the oldest of them leaves it.
            assert abs(verdict.retry_after - (in_window[0] + 60 - clock.now)) < 1e-6
            assert verdict.retry_seconds >= 1
