"""Exact evaluation of a checkpoint: every record once, summed on the host."""

import math

from absl import logging
import numpy as np

import checkpoints
import graphs
import progress
from tf_compat import tf

# Batches between progress lines.
LOG_EVERY_BATCHES = 10


class Evaluator(object):
  """Builds the evaluation graph once and evaluates checkpoints with it."""

  def __init__(self, files, image_count, batch_size, depths, ks, class_num,
               normalization, prefix, session_config):
    """Builds the graph and checks that `prefix` fits it.

    Args:
      files: TFRecord paths.
      image_count: the number of records in files.
      batch_size: images per step; the last batch is padded and masked.
      depths: WRN depth.
      ks: widening factor.
      class_num: number of classes.
      normalization: one of data_input.NORMALIZATIONS, as in training.
      prefix: a checkpoint prefix of this network.
      session_config: tf.ConfigProto for the evaluation session.

    Raises:
      ValueError: if the checkpoint lacks a variable or a shape differs.
    """
    self._image_count = image_count
    self._batch_size = batch_size
    self._batch_count = int(math.ceil(image_count / float(batch_size)))
    self._net = graphs.build_eval_graph(
        files, batch_size, depths, ks, class_num, normalization,
        initializable=True)
    with self._net.graph.as_default():
      self._restorer, _ = checkpoints.make_restorer(
          prefix, self._net.model_variables)
    self._net.graph.finalize()
    self._session = tf.Session(graph=self._net.graph, config=session_config)

  def run(self, prefix):
    """Evaluates a checkpoint on every record once.

    Args:
      prefix: checkpoint prefix with the variables of this network.

    Returns:
      A dict with 'loss' (mean cross-entropy), 'accuracy' (top-1 fraction)
      and 'images' (records evaluated), exact over all records.

    Raises:
      ValueError: if the records changed since they were counted.
    """
    net = self._net
    self._restorer.restore(self._session, prefix)
    self._session.run(net.iterator_init)

    # Float64 and integer sums on the host, over real images only.
    loss_sum = 0.0
    correct_count = 0
    seen = 0
    meter = progress.ProgressMeter(self._batch_count, self._batch_size)
    for batch in range(1, self._batch_count + 1):
      losses, correct, real = self._session.run(
          [net.losses, net.correct, net.mask])
      loss_sum += float(np.sum(losses[real], dtype=np.float64))
      correct_count += int(np.count_nonzero(correct[real]))
      seen += int(np.count_nonzero(real))

      if batch % LOG_EVERY_BATCHES == 0 or batch == self._batch_count:
        images_per_sec, seconds_left = meter.report(batch)
        logging.info('Evaluated %d/%d images, %.1f images/sec, ETA %s.',
                     seen, self._image_count, images_per_sec,
                     progress.format_duration(seconds_left))

    if seen != self._image_count:
      raise ValueError('the records changed during evaluation: counted %d, '
                       'evaluated %d.' % (self._image_count, seen))
    return {'loss': loss_sum / seen, 'accuracy': correct_count / float(seen),
            'images': seen}

  def close(self):
    self._session.close()
