"""Learning-rate schedules as graph tensors of the global step.

  constant: the base rate throughout (the original port);
  step:     the base rate multiplied by decay_factor at each boundary epoch
            (the WRN paper: 0.1, times 0.2 at epochs 60, 120 and 160);
  cosine:   half a cosine from the base rate down to zero at the last step.

Each can start with a linear warm-up from base_rate / warmup_steps up to the
base rate.
"""

import math

from tf_compat import tf

SCHEDULES = ('constant', 'step', 'cosine')


def rate_at(step, base_rate, schedule, total_steps, boundaries=(),
            decay_factor=0.1, warmup_steps=0):
  """The learning rate after `step` steps, in plain Python.

  This is the reference the graph version follows; logs and tests use it.

  Args:
    step: steps already taken, an int >= 0.
    base_rate: the rate after warm-up, before any decay.
    schedule: one of SCHEDULES.
    total_steps: steps in the whole run, for the cosine.
    boundaries: for 'step', the step counts at which the rate decays,
      increasing.
    decay_factor: for 'step', the factor applied at each boundary.
    warmup_steps: steps of linear warm-up; 0 for none.

  Returns:
    The learning rate, a float.
  """
  if step < warmup_steps:
    return base_rate * (step + 1) / float(warmup_steps)
  if schedule == 'step':
    return base_rate * decay_factor ** sum(1 for b in boundaries if step >= b)
  if schedule == 'cosine':
    progress = (step - warmup_steps) / float(max(total_steps - warmup_steps,
                                                  1))
    return base_rate * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
  return base_rate


def learning_rate(global_step, base_rate, schedule, total_steps,
                  boundaries=(), decay_factor=0.1, warmup_steps=0):
  """The learning rate as a float32 scalar tensor; arguments as rate_at().

  Args:
    global_step: int64 scalar tensor, steps already taken.
    base_rate: float.
    schedule: one of SCHEDULES.
    total_steps: int.
    boundaries: increasing ints, for 'step'.
    decay_factor: float, for 'step'.
    warmup_steps: int.

  Returns:
    A float32 scalar tensor named 'learning_rate'.

  Raises:
    ValueError: on an unknown schedule or unsorted boundaries.
  """
  if schedule not in SCHEDULES:
    raise ValueError('schedule must be one of %s; got %r.'
                     % (SCHEDULES, schedule))
  if list(boundaries) != sorted(set(boundaries)):
    raise ValueError('boundaries must increase; got %r.' % (boundaries,))

  step = tf.cast(global_step, tf.float32)
  base = tf.constant(base_rate, tf.float32)

  if schedule == 'step' and boundaries:
    passed = tf.add_n([tf.cast(step >= b, tf.float32) for b in boundaries])
    rate = base * tf.pow(tf.constant(decay_factor, tf.float32), passed)
  elif schedule == 'cosine':
    span = float(max(total_steps - warmup_steps, 1))
    progress = tf.minimum((step - warmup_steps) / span, 1.0)
    rate = base * 0.5 * (1.0 + tf.cos(math.pi * progress))
  else:
    rate = base

  if warmup_steps > 0:
    warm = base * (step + 1.0) / float(warmup_steps)
    rate = tf.where(step < warmup_steps, warm, rate)
  return tf.identity(rate, name='learning_rate')
