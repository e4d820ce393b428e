"""The in-memory timer index: due order across partitions, cancel/re-arm, partition hand-over."""
from switchboard.sla.timerheap import TimerHeap


def test_pops_due_timers_in_due_order_across_partitions():
    heap = TimerHeap()
    heap.load(0, [(30, "a"), (10, "b")])
    heap.load(1, [(20, "c"), (99, "d")])
    assert heap.next_due() == 10
    assert heap.pop_due(now_ts=30, limit=10) == [(10, "b", 0), (20, "c", 1), (30, "a", 0)]
    assert heap.next_due() == 99 and len(heap) == 1


def test_cancelled_and_rearmed_timers_fire_once_at_their_latest_time():
    heap = TimerHeap()
    heap.own(3)
    heap.arm(3, "t1", 10)
    heap.arm(3, "t2", 11)
    heap.cancel(3, "t2")
    heap.arm(3, "t1", 50)            # re-applied: later deadline
    assert heap.pop_due(now_ts=40, limit=10) == []
    assert heap.pop_due(now_ts=60, limit=10) == [(50, "t1", 3)]
    assert len(heap) == 0


def test_limit_bounds_one_round():
    heap = TimerHeap()
    heap.load(0, [(i, f"t{i}") for i in range(10)])
    assert [tid for _, tid, _ in heap.pop_due(now_ts=100, limit=4)] == ["t0", "t1", "t2", "t3"]
    assert len(heap) == 6


def test_timers_of_partitions_not_owned_are_refused_and_revoked_ones_dropped():
    heap = TimerHeap()
    heap.load(0, [(5, "mine")])
    assert heap.arm(7, "not-mine", 1) is False
    heap.drop(0)
    assert heap.next_due() is None and len(heap) == 0


def test_stale_entries_are_compacted():
    heap = TimerHeap()
    heap.own(0)
    for i in range(5000):
        heap.arm(0, f"t{i}", i)
    for i in range(5000):
        heap.cancel(0, f"t{i}")
    assert len(heap._heaps[0]) <= 2048   # rebuilt instead of keeping 5,000 dead entries
    assert heap.next_due() is None
