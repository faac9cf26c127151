"""samples/s is samples processed ÷ wall time while training (aetui/speed.py), one way."""

import time

import numpy as np
import pytest

from aetui.config import Settings
from aetui.speed import SpeedMeter
from aetui.training.trainer import Trainer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_overall_is_samples_over_running_time_pauses_excluded():
    clock = FakeClock()
    meter = SpeedMeter(clock)
    meter.resume()
    clock.now += 1.0
    meter.add(1000)
    meter.pause()
    clock.now += 50.0  # paused: not counted
    meter.add(0)
    meter.resume()
    clock.now += 3.0
    meter.add(3000)
    assert meter.seconds() == pytest.approx(4.0)
    assert meter.overall() == pytest.approx(4000 / 4.0)


def test_time_between_chunks_counts():
    # Evaluation and drawing between chunks are wall time too: a mean of per-chunk
    # rates would say 10,000/s here, where 1,000 samples/s were processed.
    clock = FakeClock()
    meter = SpeedMeter(clock, window=100.0)
    meter.resume()
    for _ in range(10):
        clock.now += 0.01  # a chunk of 100 samples in 10 ms
        meter.add(100)
        clock.now += 0.09  # held-out loss, snapshots
    assert meter.overall() == pytest.approx(1000.0)
    assert meter.recent() == pytest.approx(1000.0)


def test_slow_chunks_under_load_weigh_by_their_time():
    # Chunk times swing under load; the rate is total samples ÷ total time, not a
    # mean of rates (which the fast chunks would dominate).
    clock = FakeClock()
    meter = SpeedMeter(clock, window=100.0)
    meter.resume()
    for seconds in (0.01, 1.0, 0.01, 1.0):
        clock.now += seconds
        meter.add(500)
    assert meter.recent() == pytest.approx(2000 / 2.02)
    assert meter.overall() == pytest.approx(2000 / 2.02)


def test_recent_follows_the_last_window():
    clock = FakeClock()
    meter = SpeedMeter(clock, window=2.0)
    meter.resume()
    for _ in range(10):  # 10 s at 10,000/s
        clock.now += 1.0
        meter.add(10_000)
    for _ in range(4):  # then 4 s at 1,000/s
        clock.now += 1.0
        meter.add(1_000)
    assert meter.recent() == pytest.approx(1000.0)
    assert meter.overall() == pytest.approx(104_000 / 14.0)


def test_nothing_counted_is_zero_and_reset_forgets():
    clock = FakeClock()
    meter = SpeedMeter(clock)
    assert meter.recent() == 0.0 and meter.overall() == 0.0
    meter.resume()
    clock.now += 1.0
    meter.add(10)
    meter.reset()
    assert meter.samples == 0 and meter.overall() == 0.0
    assert meter.running  # a new epoch keeps the clock running
    clock.now += 2.0
    meter.add(40)
    assert meter.overall() == pytest.approx(20.0)


def test_trainer_epoch_speed_is_samples_over_wall_time():
    # The real trainer: the epoch record's samples/s against samples ÷ the wall time of
    # run() (compiling done before), within 10 %; with a short last batch.
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (1010, 64), dtype=np.uint8)
    records = []
    trainer = Trainer(Settings(hidden=16, batch=20), images, images[:100],
                      on_epoch=records.append, val_count=100, display_count=4)
    trainer.warm_up()
    started = time.perf_counter()
    trainer.run(max_epochs=2)
    wall = time.perf_counter() - started
    assert [r["step"] for r in records] == [51, 102]
    true_rate = 2 * 1010 / wall
    measured = sum(r["seconds"] for r in records)
    assert measured <= wall
    rates = [r["samples_per_s"] for r in records]
    assert 2 * 1010 / sum(1010 / r for r in rates) == pytest.approx(true_rate, rel=0.10)
