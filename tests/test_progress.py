"""Images/sec and the time left, on a fake clock."""

import progress


class FakeClock(object):

  def __init__(self):
    self.now = 100.0

  def __call__(self):
    return self.now


def test_first_window_sets_the_pace_then_warm_windows_take_over():
  clock = FakeClock()
  meter = progress.ProgressMeter(total_steps=100, batch_size=32, clock=clock)

  clock.now += 20.0  # 10 steps, slowed by warm-up.
  images_per_sec, seconds_left = meter.report(10)
  assert images_per_sec == 16.0
  assert seconds_left == 90 * 2.0

  clock.now += 5.0
  images_per_sec, seconds_left = meter.report(20)
  assert images_per_sec == 64.0
  assert seconds_left == 80 * 0.5

  clock.now += 15.0
  images_per_sec, seconds_left = meter.report(30)
  assert images_per_sec == 32.0 * 10 / 15.0
  assert seconds_left == 70 * 1.0


def test_format_duration():
  assert progress.format_duration(0) == '0:00:00'
  assert progress.format_duration(3725.4) == '1:02:05'
  assert progress.format_duration(36000) == '10:00:00'
