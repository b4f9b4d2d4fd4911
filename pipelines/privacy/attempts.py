"""Failed attempts counted per key (a client, an identifier), in memory: past a limit within a window, the key
waits. Guards the sign-in form, the personal links of the participatory observation and the public form of
the direct welcome against guessing and flooding. One process serves the dashboard, so memory is enough; a
restart forgets the counts, which only ever unblocks."""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class Attempts:
    def __init__(self, limit: int, window_seconds: float):
        self.limit, self.window = limit, window_seconds
        self._times: dict[str, deque] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque:
        times = self._times.get(key) or deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if times:
            self._times[key] = times
        else:
            self._times.pop(key, None)  # a key with nothing recent takes no memory
        return times

    def wait_seconds(self, *keys: str, now: float | None = None) -> int:
        """0 when every key may try again, else how long the first blocked one still waits."""
        now = time.monotonic() if now is None else now
        with self._lock:
            waits = [math.ceil(times[0] + self.window - now) for key in keys
                     if len(times := self._recent(key, now)) >= self.limit]
        return max(waits, default=0)

    def record(self, *keys: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                times.append(now)
                self._times[key] = times

    def clear(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._times.pop(key, None)


def wait_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return (f"Trop d'essais infructueux : réessayez dans {minutes} minute{'s' if minutes > 1 else ''}. "
            "Si le problème continue, contactez l'observatoire.")


SIGN_IN = Attempts(limit=5, window_seconds=15 * 60)  # wrong passwords, per client and per identifier
# Personal links that open nothing, per client. Not for everyone at once: a token holds 192 random bits, so a
# shared counter would only let anyone lock every structure out.
LINKS = Attempts(limit=10, window_seconds=15 * 60)
SUBMISSIONS = Attempts(limit=5, window_seconds=60 * 60)  # direct-welcome forms sent, per client
SUBMISSIONS_ALL = Attempts(limit=100, window_seconds=60 * 60)  # and from everyone: each one is a write
EVERYONE = "tous"
