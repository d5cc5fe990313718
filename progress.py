"""Throughput and time-to-finish estimates for the step logs."""

import time


def format_duration(seconds):
  """Formats a number of seconds as H:MM:SS."""
  seconds = int(round(seconds))
  return '%d:%02d:%02d' % (seconds // 3600, seconds // 60 % 60, seconds % 60)


class ProgressMeter(object):
  """Measures images/sec between reports and estimates the time left.

  The first report's window holds graph optimisation and the first input
  fill, so later estimates leave it out.
  """

  def __init__(self, total_steps, batch_size, clock=time.time):
    """Starts the clock.

    Args:
      total_steps: steps the whole run will take.
      batch_size: images per step.
      clock: function returning the time in seconds; replaceable in tests.
    """
    self._total_steps = total_steps
    self._batch_size = batch_size
    self._clock = clock
    self._last_time = clock()
    self._last_step = 0
    self._warm_time = None
    self._warm_step = None

  def report(self, step):
    """Returns throughput since the last report and the estimated time left.

    Args:
      step: steps done so far in the run, counting from 1.

    Returns:
      (images_per_sec, seconds_left), both floats.
    """
    now = self._clock()
    window_steps = step - self._last_step
    window_seconds = max(now - self._last_time, 1e-9)
    images_per_sec = window_steps * self._batch_size / window_seconds

    if self._warm_time is None:
      seconds_per_step = window_seconds / max(window_steps, 1)
      self._warm_time, self._warm_step = now, step
    else:
      seconds_per_step = (now - self._warm_time) / (step - self._warm_step)

    self._last_time, self._last_step = now, step
    return images_per_sec, (self._total_steps - step) * seconds_per_step
