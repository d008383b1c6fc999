"""The thread-count tuner follows whichever setting is measured faster."""
from __future__ import annotations

import pytest

from llm_mars.llm.threads import StepThreads, ThreadTuner


def drive(tuner, cost, steps):
    """Run ``steps`` decode steps whose duration is ``cost(threads, step)``; return the counts used."""
    used = []
    for i in range(steps):
        threads = tuner.threads_for_next_step()
        used.append(threads)
        tuner.record(threads, cost(threads, i))
    return used


def test_starts_with_the_most_threads_and_keeps_them_when_faster():
    tuner = ThreadTuner((1, 2), explore_every=20, trial_steps=3)
    used = drive(tuner, lambda t, i: 0.02 if t == 2 else 0.035, 60)
    assert used[0] == 2
    assert used.count(1) == 3 * 3  # tried 1 thread at step 3, 20 and 40, 3 steps each
    assert tuner.current == 2 and used[-1] == 2


def test_switches_to_fewer_threads_when_the_cpu_becomes_contended():
    tuner = ThreadTuner((1, 2), explore_every=20, trial_steps=3)
    # idle until step 25, then another process takes a core: 2-thread steps stall
    used = drive(tuner, lambda t, i: (0.02 if t == 2 else 0.035) if i < 25 else
                 (0.30 if t == 2 else 0.05), 80)
    assert used[10:20] == [2] * 10
    assert used[-10:] == [1] * 10
    assert tuner.current == 1


def test_set_threads_is_called_only_on_changes():
    applied = []
    threads = StepThreads((1, 2), set_threads=applied.append, decode_tuning=(1000, 2))
    for _ in range(10):
        tuner, n = threads.begin(1, 1)
        threads.end(tuner, n, 0.01 * n, 1)
    assert applied == [2, 1]  # tried 1 at step 2, kept it


def test_decode_and_big_prefill_steps_are_tuned_apart():
    # decode steps are faster with 1 thread (memory bound on a shared CPU), big prefill steps
    # faster per row with 2 (compute bound): each kind keeps its own winner, and the count
    # applied follows the kind of each step
    applied = []
    threads = StepThreads((1, 2), set_threads=applied.append, big_rows=64, decode_tuning=(20, 3),
                          prefill_tuning=(20, 3), prefill_warmup=0)
    used = {"decode": [], "prefill": [], "small": []}
    for i in range(120):
        kind = ("decode", "prefill", "small")[i % 3]
        rows, decode = {"decode": (4, 4), "prefill": (200, 4), "small": (20, 4)}[kind]
        tuner, n = threads.begin(rows, decode)
        assert applied[-1] == n  # what was applied last is what this step runs with
        used[kind].append(n)
        seconds = {("decode", 1): 0.02, ("decode", 2): 0.03,
                   ("prefill", 1): 0.004 * rows, ("prefill", 2): 0.0025 * rows}.get((kind, n), 0.05)
        threads.end(tuner, n, seconds, rows)
    assert threads.decode.current == 1 and threads.prefill.current == 2
    assert used["decode"][-5:] == [1] * 5 and used["prefill"][-5:] == [2] * 5
    assert used["small"][-5:] == [1] * 5  # small mixed steps take the decode setting, untuned
    assert all(a != b for a, b in zip(applied, applied[1:]))  # applied only on a change


def test_prefill_steps_are_judged_by_time_per_row():
    # 2-thread steps of 256 rows take longer than the 1-thread trial steps of 64 rows, but are
    # faster per row: the prefill tuner keeps 2 threads (by step time it would take 1)
    threads = StepThreads((1, 2), big_rows=64, prefill_tuning=(1000, 2), prefill_warmup=0)
    used = []
    for rows in (256, 256, 64, 64, 256, 256):
        tuner, n = threads.begin(rows, 0)
        used.append(n)
        threads.end(tuner, n, (0.002 if n == 2 else 0.003) * rows, rows)
    assert used[:4] == [2, 2, 1, 1]  # the trials fell on the small steps
    assert threads.prefill.current == 2 and used[-1] == 2


def test_settings_that_could_not_measure_are_refused():
    with pytest.raises(ValueError):
        StepThreads((1, 2), prefill_tuning=(48, 0))
    with pytest.raises(ValueError):
        ThreadTuner((1, 2), explore_every=0)


def test_the_first_big_prefill_steps_are_not_measured():
    # the first steps pay one-time costs (kernels built per shape, a grammar compiling beside
    # them): a slow start with 2 threads must not hand the choice to 1 thread
    threads = StepThreads((1, 2), big_rows=64, prefill_tuning=(1000, 2), prefill_warmup=2)
    used = []
    for i in range(8):
        tuner, n = threads.begin(256, 0)
        used.append(n)
        cold = i < 2
        threads.end(tuner, n, 256 * (0.010 if cold else 0.002 if n == 2 else 0.003), 256)
    assert used[:4] == [2, 2, 2, 2] and used[4:6] == [1, 1]  # trials after 2 measured steps
    assert threads.prefill.current == 2 and used[-1] == 2
