"""Each API key's rate limit: GCRA (a token bucket kept as one number per key), in process.

A key may send ``burst`` requests at once, then one every ``60 / per_minute`` seconds (default:
600 a minute with bursts of 60). The state is the key's *theoretical arrival time* (TAT): when
its bucket would be full again. A request moves it one interval on; one that would move it
further than the bucket holds is refused, with the time until it would not be.

Why in process rather than in PostgreSQL: the check costs a dictionary look-up and no I/O, where
a shared counter would be a row write on every API request (WAL, a row lock that serializes a
key's concurrent requests). The price: each process counts on its own. With N replicas behind a
balancer a key gets up to N times its limit, unless ``DOORSTEP_API_KEY_RATE_LIMIT_REPLICAS=N``
makes each enforce its 1/N share (see docs/integration.md, "Rate limits").

Headers (draft-ietf-httpapi-ratelimit-headers): ``RateLimit-Policy: "default";q=600;w=60`` (plus
the vendor parameter ``doorstep-burst``) and ``RateLimit: "default";r=<requests that may be sent
now>;t=<seconds until the full burst is back>``; a refusal adds ``Retry-After``.

Pure: the clock (monotonic seconds) is a parameter.
"""

import math
import uuid
from dataclasses import dataclass
from typing import Final

POLICY_NAME: Final = "default"
WINDOW_S: Final = 60
DEFAULT_PER_MINUTE: Final = 600
DEFAULT_BURST: Final = 60
# Float slack: 60 intervals of 0.1 s must fit a bucket of 6.0 s.
_EPSILON: Final = 1e-9


@dataclass(frozen=True, slots=True)
class Policy:
    per_minute: int
    burst: int

    @classmethod
    def share(cls, per_minute: int, burst: int, replicas: int) -> "Policy":
        """This process's share of a key's limit when ``replicas`` processes share it."""
        return cls(max(1, math.ceil(per_minute / replicas)), max(1, math.ceil(burst / replicas)))

    @property
    def interval_s(self) -> float:
        return WINDOW_S / self.per_minute

    @property
    def capacity_s(self) -> float:
        return self.burst * self.interval_s

    def header(self) -> str:
        return f'"{POLICY_NAME}";q={self.per_minute};w={WINDOW_S};doorstep-burst={self.burst}'


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    remaining: int
    reset_after_s: float  # until the bucket is full again
    retry_after_s: float  # 0 when allowed

    def headers(self, policy: Policy) -> dict[str, str]:
        headers = {
            "RateLimit-Policy": policy.header(),
            "RateLimit": f'"{POLICY_NAME}";r={self.remaining};t={_whole_s(self.reset_after_s)}',
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, _whole_s(self.retry_after_s)))
        return headers


def _whole_s(seconds: float) -> int:
    return max(0, math.ceil(seconds - _EPSILON))


class Limiter:
    """The TAT of every key this process has seen lately. Single-threaded (one event loop), so a
    check and its update cannot interleave with another request's."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._tat: dict[uuid.UUID, float] = {}
        self._max_entries = max_entries

    def __len__(self) -> int:
        """How many keys it keeps a state for."""
        return len(self._tat)

    def admit(self, key_id: uuid.UUID, policy: Policy, now: float) -> Decision:
        tat = max(self._tat.get(key_id, now), now)
        new_tat = tat + policy.interval_s
        if new_tat - now > policy.capacity_s + _EPSILON:
            retry_after = new_tat - now - policy.capacity_s
            return Decision(False, 0, tat - now, retry_after)
        self._remember(key_id, new_tat, now)
        remaining = math.floor((policy.capacity_s - (new_tat - now)) / policy.interval_s + _EPSILON)
        return Decision(True, max(0, remaining), new_tat - now, 0.0)

    def _remember(self, key_id: uuid.UUID, tat: float, now: float) -> None:
        self._tat[key_id] = tat
        if len(self._tat) > self._max_entries:
            # A key whose bucket is full again is the same as one never seen: forget it.
            self._tat = {k: v for k, v in self._tat.items() if v > now}
