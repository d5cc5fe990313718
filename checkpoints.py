"""Finding checkpoints and restoring exactly the variables a graph needs.

A checkpoint written by the original Ascend port holds the network's
variables and their `MomentumW` slots, and no global step. Restoring
compares names and shapes first, so a checkpoint of another depth or width
fails with a readable list instead of a TensorFlow traceback, and a missing
variable is never silently left at its initial value.
"""

import os
import time

from tf_compat import tf

# How many names an error message lists before summarising the rest.
_NAMES_SHOWN = 8

CHECKPOINT_NAME = 'wideresnet.ckpt'


def resolve_checkpoint(model_path):
  """Turns --model_path into a checkpoint prefix.

  Args:
    model_path: a checkpoint prefix (e.g. ./model/wideresnet.ckpt, whose
      files are wideresnet.ckpt.index and wideresnet.ckpt.data-*); a prefix
      without its step suffix (./model_save/wideresnet.ckpt for
      ./model_save/wideresnet.ckpt-1563), meaning the newest such
      checkpoint; or a folder with a `checkpoint` state file, meaning its
      newest checkpoint.

  Returns:
    The checkpoint prefix, a string.

  Raises:
    ValueError: if no checkpoint is found there.
  """
  if os.path.isdir(model_path):
    prefix = tf.train.latest_checkpoint(model_path)
    if prefix is None:
      raise ValueError(
          'model_path %r is a folder without a checkpoint state file; pass '
          'a checkpoint prefix such as %s.'
          % (model_path, os.path.join(model_path, CHECKPOINT_NAME)))
    return prefix

  if os.path.isfile(model_path + '.index'):
    return model_path

  # Training saves wideresnet.ckpt-<step>; the name without the step means
  # the newest of them.
  latest = tf.train.latest_checkpoint(os.path.dirname(model_path) or '.')
  if latest and os.path.basename(latest).startswith(
      os.path.basename(model_path) + '-'):
    return latest
  raise ValueError(
      'no checkpoint at model_path %r (%s.index does not exist); pass the '
      'prefix without the .index/.data suffix, or None to start from '
      'scratch.' % (model_path, model_path))


def _listed(names):
  names = sorted(names)
  shown = ', '.join(names[:_NAMES_SHOWN])
  if len(names) > _NAMES_SHOWN:
    shown += ', ... (%d in all)' % len(names)
  return shown


def make_restorer(prefix, required, optional=()):
  """Checks a checkpoint against the graph and builds its restoring Saver.

  Call it while the graph is still open for new ops, then run
  `saver.restore(sess, prefix)` after initialising the variables.

  Args:
    prefix: checkpoint prefix, as from resolve_checkpoint().
    required: variables the checkpoint must hold with the same shapes.
    optional: variables restored when the checkpoint holds them (for
      example optimizer slots); the others keep their initial values.

  Returns:
    A (saver, absent) pair: a tf.train.Saver over the variables to restore,
    and the sorted names of the optional variables the checkpoint lacks.

  Raises:
    ValueError: if a required variable is missing, or any variable's shape
      differs from the checkpoint's.
  """
  stored_shapes = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()

  missing = [v.op.name for v in required if v.op.name not in stored_shapes]
  if missing:
    raise ValueError(
        'checkpoint %s lacks %d variable(s) the graph needs: %s. Check that '
        '--depths, --ks and --class_num match the checkpoint.'
        % (prefix, len(missing), _listed(missing)))

  to_restore = {}
  absent = []
  for var in list(required) + list(optional):
    name = var.op.name
    if name not in stored_shapes:
      absent.append(name)
    else:
      to_restore[name] = var

  mismatched = [
      '%s %s in the checkpoint, %s in the graph'
      % (name, stored_shapes[name], var.shape.as_list())
      for name, var in sorted(to_restore.items())
      if list(stored_shapes[name]) != var.shape.as_list()
  ]
  if mismatched:
    raise ValueError(
        'checkpoint %s does not fit the graph: %s. Check that --depths, --ks '
        'and --class_num match the checkpoint.'
        % (prefix, '; '.join(mismatched[:_NAMES_SHOWN])))

  return tf.train.Saver(var_list=to_restore), sorted(absent)


class SaveSchedule(object):
  """Decides when to save besides epoch ends: every N steps or M minutes."""

  def __init__(self, every_steps, every_minutes, clock=time.time):
    """Starts the timer.

    Args:
      every_steps: save when the global step is a multiple of this; 0 for
        never.
      every_minutes: save when this many minutes passed since the last
        save; 0 for never.
      clock: function returning seconds; replaceable in tests.
    """
    self._every_steps = every_steps
    self._every_seconds = 60.0 * every_minutes
    self._clock = clock
    self._last_save = clock()

  def due(self, global_step):
    """Whether to save after reaching global_step."""
    if self._every_steps and global_step % self._every_steps == 0:
      return True
    return bool(self._every_seconds
                and self._clock() - self._last_save >= self._every_seconds)

  def saved(self):
    """Restarts the minute timer after any save."""
    self._last_save = self._clock()
