"""A bounded operator load: many utterances (commands, questions, stops, malformed messages;
both robots) sent to a running system, with the accounting the reliability suite and the soak
benchmark need.

Every utterance must get exactly one final response: :class:`LoadReport` counts the lost and
the duplicated ones, the latency from publish to final response, and the process memory.
"""
from __future__ import annotations

import ctypes
import gc
import random
import time
from dataclasses import dataclass, field

import psutil


COMMANDS = (
    "robot one go to plate {p}", "robot two go to holder {h}", "robot 1 take the {c} cake "
    "from quadrant {q}", "robot two collect cherries from holder {h}", "both robots go home",
    "robot 2 drop the cherries in the basket", "then robot one go to plate {p}",
    "robot 1 put the cakes on plate {p}", "robot two do the funny action",
    "robot 1 fly to the moon", "robot three go home", "robot 1 go to quadrant -1",
    "robot one hundred go home", "robot 2 take -3 cherries from holder {h}",
)
QUESTIONS = (
    "where is robot one", "what is robot two doing?", "what is the score", "how many cherries "
    "are in the basket", "what does robot 1 carry", "how much time is left",
    "what has robot two done", "did anything fail?",
)
STOPS = ("robot 2 stop", "robot one stop", "everyone stop", "stop")
MALFORMED = (  # /operator/command messages that do not decode; each names its id
    '{{"id": "{id}", "text": "robot 1 go home", "confidence": ' + "1" * 5000 + "}}",
    '{{"id": "{id}", "text": "robot 2 go home", "confidence": NaN}}',
    '{{"id": "{id}", "text": ""}}', '{{"id": "{id}", "text": 5}}',
    '{{"id": "{id}", "text": "robot 1 go\\u0000 home"}}',
    '{{"id": "{id}", "text": "go", "source": "telepathy"}}',
)
COLORS = ("brown", "yellow", "pink")


def utterances(count: int, seed: int = 0) -> list[tuple[str, str]]:
    """``count`` (id, text) pairs: about 42 % commands, 38 % questions, 13 % stops and 7 %
    malformed messages (the text is then the whole message, sent as it is)."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        uid, roll = f"load{seed}-{i:04d}", rng.random()
        pool = (COMMANDS if roll < 0.42 else QUESTIONS if roll < 0.80 else STOPS if roll < 0.93
                else MALFORMED)
        text = rng.choice(pool).format(p=rng.randint(1, 5), h=rng.randint(1, 4),
                                       q=rng.randint(1, 4), c=rng.choice(COLORS), id=uid)
        out.append((uid, text))
    return out


def live_rss_mb() -> float:
    """Resident memory after garbage collection and after glibc returns its free heap pages to
    the system, so that the figure tracks live memory, not the allocator's cached arenas."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:  # not glibc: the plain RSS
        pass
    return psutil.Process().memory_info().rss / 2**20


@dataclass
class LoadReport:
    sent: int = 0
    answered: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0

    def percentile(self, q: float) -> float:
        values = sorted(self.latencies_s)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]

    @property
    def throughput(self) -> float:
        return self.answered / self.wall_s if self.wall_s else 0.0

    def summary(self) -> str:
        return (f"{self.sent} sent, {self.answered} answered, {len(self.lost)} lost, "
                f"{len(self.duplicated)} duplicated; latency p50 {self.percentile(50):.2f} s, "
                f"p95 {self.percentile(95):.2f} s; {self.throughput:.2f} responses/s over "
                f"{self.wall_s:.0f} s; RSS {self.rss_start_mb:.0f} -> {self.rss_end_mb:.0f} MB; "
                f"kinds {dict(sorted(self.kinds.items()))}")


def run_load(operator, items: list[tuple[str, str]], rate_hz: float | None,
             settle_s: float = 180.0) -> LoadReport:
    """Send ``items`` at ``rate_hz`` (None: one at a time, each after the previous answer)
    through a :class:`llm_mars.system.Operator`, then wait for every final response."""
    report = LoadReport(rss_start_mb=live_rss_mb())
    sent_at: dict[str, float] = {}
    start = time.monotonic()
    for i, (uid, text) in enumerate(items):
        if rate_hz is not None:
            delay = start + i / rate_hz - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        sent_at[uid] = time.monotonic()
        if text.startswith("{"):
            operator.send_raw(text)
        else:
            operator.send(text, uid)
        report.sent += 1
        if rate_hz is None:
            operator.wait_until(lambda u=uid: operator.final(u) is not None, settle_s)
    operator.wait_until(lambda: all(operator.final(u) is not None for u in sent_at), settle_s)
    report.wall_s = time.monotonic() - start
    finals: dict[str, list] = {}
    for response in list(operator.responses):
        if response.final and response.id in sent_at:
            finals.setdefault(response.id, []).append(response)
    for uid in sent_at:
        got = finals.get(uid, [])
        if not got:
            report.lost.append(uid)
            continue
        report.answered += 1
        if len(got) > 1:
            report.duplicated.append(uid)
        report.kinds[got[0].kind] = report.kinds.get(got[0].kind, 0) + 1
        report.latencies_s.append(operator.final_at[uid] - sent_at[uid])
    report.rss_end_mb = live_rss_mb()
    return report
