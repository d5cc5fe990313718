"""What a training run writes beside its checkpoints for people and tools.

  events.out.tfevents.*  TensorBoard scalars: train/loss, train/accuracy,
                         train/learning_rate, train/images_per_sec, and per
                         epoch validation/loss and validation/accuracy;
  metrics.jsonl          one JSON object per finished epoch;
  config.json            the configuration of the latest run.
"""

import json
import os

from tf_compat import tf

METRICS_FILE = 'metrics.jsonl'
CONFIG_FILE = 'config.json'


def write_config(output_path, config):
  """Writes the run's configuration as JSON, replacing the file atomically.

  Args:
    output_path: the run's folder.
    config: a dict of JSON-serialisable values.
  """
  path = os.path.join(output_path, CONFIG_FILE)
  with open(path + '.tmp', 'w') as stream:
    json.dump(config, stream, indent=2, sort_keys=True)
    stream.write('\n')
  os.replace(path + '.tmp', path)


def read_epochs(output_path):
  """Returns the epoch records already in metrics.jsonl, oldest first."""
  path = os.path.join(output_path, METRICS_FILE)
  if not os.path.exists(path):
    return []
  with open(path) as stream:
    return [json.loads(line) for line in stream if line.strip()]


class RunRecorder(object):
  """Writes TensorBoard scalars and metrics.jsonl lines for one run."""

  def __init__(self, output_path):
    self._output_path = output_path
    self._writer = tf.summary.FileWriter(output_path)

  def scalars(self, step, values):
    """Writes TensorBoard scalars.

    Args:
      step: the global step.
      values: dict from tag to number.
    """
    summary = tf.Summary(value=[
        tf.Summary.Value(tag=tag, simple_value=float(value))
        for tag, value in sorted(values.items())])
    self._writer.add_summary(summary, step)

  def epoch(self, record):
    """Appends one epoch's record to metrics.jsonl and flushes everything.

    Args:
      record: dict of JSON-serialisable values; must hold 'global_step'.
    """
    with open(os.path.join(self._output_path, METRICS_FILE), 'a') as stream:
      stream.write(json.dumps(record, sort_keys=True) + '\n')
    self._writer.flush()

  def close(self):
    self._writer.close()
