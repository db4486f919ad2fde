"""Debouncing, on a clock the test moves by hand: a burst is one batch, a stream of saves is
cut at the longest wait, and a held batch waits one more quiet period."""

from __future__ import annotations

import pytest

from modelops.watch.debounce import Batch, Batcher


def test_nothing_pending_is_never_due():
    assert Batcher(quiet=0.3, longest=2.0).due_in(100.0) is None


def test_a_burst_is_due_once_it_has_been_quiet():
    batcher = Batcher(quiet=0.3, longest=2.0)
    for n in range(50):
        batcher.add(f"models/m{n % 3}.yaml", 10.0 + n * 0.001)
    assert batcher.due_in(10.3) == pytest.approx(0.049)  # 0.3 s after the last save
    assert batcher.due_in(10.35) == 0
    batch = batcher.take()
    assert batch == Batch(frozenset({"models/m0.yaml", "models/m1.yaml", "models/m2.yaml"}), False)
    assert batcher.due_in(10.35) is None


def test_a_stream_of_saves_is_cut_at_the_longest_wait():
    batcher = Batcher(quiet=0.3, longest=2.0)
    now = 0.0
    while now < 1.95:
        batcher.add("models/faq.yaml", now)
        assert batcher.due_in(now) > 0
        now += 0.1
    batcher.add("models/faq.yaml", 2.0)
    assert batcher.due_in(2.0) == 0  # saves every 0.1 s would otherwise wait for ever


def test_anything_may_have_changed_is_kept_with_the_paths():
    batcher = Batcher(quiet=0.3, longest=2.0)
    batcher.add("modelops.yaml", 1.0)
    batcher.add(None, 1.1)
    assert batcher.take() == Batch(frozenset({"modelops.yaml"}), True)


def test_a_held_batch_waits_one_more_quiet_period_from_now():
    batcher = Batcher(quiet=0.3, longest=2.0)
    batcher.add("models/faq.yaml", 0.0)
    batcher.hold(5.0)
    assert batcher.due_in(5.0) == pytest.approx(0.3)
    assert batcher.due_in(5.3) == 0


def test_without_a_quiet_period_every_save_would_be_its_own_batch():
    """The broken case the burst test guards against: no debounce, one batch per save."""
    batcher = Batcher(quiet=0.0, longest=0.0)
    batches = 0
    for n in range(50):
        batcher.add("models/faq.yaml", n * 0.001)
        if batcher.due_in(n * 0.001) == 0:
            batcher.take()
            batches += 1
    assert batches == 50
