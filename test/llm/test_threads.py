"""The thread-count tuner follows whichever setting is measured faster."""
from __future__ import annotations

from llm_mars.llm.threads import ThreadTuner


def drive(tuner, cost, steps):
    """Run ``steps`` decode steps whose duration is ``cost(threads, step)``; return the counts used."""
    used = []
    for i in range(steps):
        threads = tuner.threads_for_next_step()
        used.append(threads)
        tuner.record(threads, cost(threads, i))
    return used


def test_starts_with_the_most_threads_and_keeps_them_when_faster():
    applied = []
    tuner = ThreadTuner((1, 2), explore_every=20, trial_steps=3, set_threads=applied.append)
    used = drive(tuner, lambda t, i: 0.02 if t == 2 else 0.035, 60)
    assert used[0] == 2
    assert used.count(1) == 3 * 3  # tried 1 thread at step 3, 20 and 40, 3 steps each
    assert tuner.current == 2 and used[-1] == 2
    assert applied[0] == 2 and set(applied) == {1, 2}


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
    tuner = ThreadTuner((1, 2), explore_every=1000, trial_steps=2, set_threads=applied.append)
    drive(tuner, lambda t, i: 0.01 * t, 10)
    assert applied == [2, 1]  # tried 1 at step 2, kept it
