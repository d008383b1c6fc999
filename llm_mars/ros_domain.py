"""Claim a ROS 2 domain id that no other process on this machine is using.

Tests, the demo and replays each run their own ROS graph; two of them running at once must not
see each other's messages. A domain id is claimed by holding an exclusive lock on a file per id
for the life of the process, so the claim is released even if the process dies.
"""
from __future__ import annotations

import fcntl
import os
import tempfile
from dataclasses import dataclass
from typing import IO

# Domain ids 1..101 are safe on Linux with default ports (0 is the shared default).
_FIRST, _LAST = 1, 101


@dataclass
class DomainClaim:
    domain_id: int
    _handle: IO[str]

    def release(self) -> None:
        self._handle.close()


def claim_domain_id(lock_dir: str | None = None) -> DomainClaim:
    """Lock and return the lowest free domain id (raises RuntimeError if all are taken)."""
    lock_dir = lock_dir or os.path.join(tempfile.gettempdir(), "llm_mars_ros_domains")
    os.makedirs(lock_dir, exist_ok=True)
    start = _FIRST + os.getpid() % (_LAST - _FIRST + 1)  # spread claims, fewer collisions
    for offset in range(_LAST - _FIRST + 1):
        domain_id = _FIRST + (start - _FIRST + offset) % (_LAST - _FIRST + 1)
        handle = open(os.path.join(lock_dir, f"{domain_id}.lock"), "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        handle.write(str(os.getpid()))
        handle.flush()
        return DomainClaim(domain_id, handle)
    raise RuntimeError(f"no free ROS domain id in {_FIRST}..{_LAST}")
