"""Stopping a training loop cleanly on SIGINT or SIGTERM."""

import signal
import threading

from absl import logging


class StopSignals(object):
  """Records SIGINT and SIGTERM instead of dying, while in a `with` block.

  The loop checks `received` after every step, saves and stops. A second
  SIGINT (Ctrl-C twice) raises KeyboardInterrupt at once.
  """

  SIGNALS = (signal.SIGINT, signal.SIGTERM)

  def __init__(self):
    self.received = None
    self._previous = {}

  def _handle(self, signum, frame):
    del frame  # Unused.
    if self.received == signal.SIGINT and signum == signal.SIGINT:
      raise KeyboardInterrupt
    self.received = signum
    logging.warning('Received %s: stopping after this step.',
                    signal.Signals(signum).name)

  def __enter__(self):
    # Python lets only the main thread install handlers.
    if threading.current_thread() is threading.main_thread():
      for signum in self.SIGNALS:
        self._previous[signum] = signal.signal(signum, self._handle)
    return self

  def __exit__(self, *exc_info):
    for signum, handler in self._previous.items():
      signal.signal(signum, handler)
    self._previous = {}
