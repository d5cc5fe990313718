"""Momentum with decoupled weight decay, against the update written out."""

import numpy as np

from decoupled_weight_decay import MomentumWOptimizer
from tf_compat import tf


def test_two_steps_match_the_decoupled_update():
  start = np.array([1.5, -2.0, 0.25], np.float32)
  weight_decay, learning_rate, momentum = 0.01, 0.1, 0.9

  with tf.Graph().as_default():
    var = tf.Variable(start, name='w')
    # The gradient of 0.5 * |w|^2 is w itself, read before the decay.
    loss = 0.5 * tf.reduce_sum(tf.square(var))
    optimizer = MomentumWOptimizer(weight_decay, learning_rate, momentum)
    step = optimizer.minimize(loss)
    slot = optimizer.get_slot(var, 'momentum')
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(step)
      after_one = sess.run(var)
      sess.run(step)
      after_two, accumulator = sess.run([var, slot])

  w0 = start.astype(np.float64)
  accum1 = w0
  w1 = w0 - weight_decay * w0 - learning_rate * accum1
  accum2 = momentum * accum1 + w1
  w2 = w1 - weight_decay * w1 - learning_rate * accum2
  np.testing.assert_allclose(after_one, w1, rtol=1e-6)
  np.testing.assert_allclose(after_two, w2, rtol=1e-6)
  np.testing.assert_allclose(accumulator, accum2, rtol=1e-6)


def test_slots_carry_the_original_optimizer_name():
  with tf.Graph().as_default():
    var = tf.Variable([1.0], name='conv2d/kernel')
    optimizer = MomentumWOptimizer(5e-6, 0.1, 0.9)
    optimizer.minimize(tf.reduce_sum(var))
    names = sorted(v.op.name for v in tf.global_variables())
  assert names == ['conv2d/kernel', 'conv2d/kernel/MomentumW']


def test_variables_without_gradients_are_not_decayed():
  with tf.Graph().as_default():
    used = tf.Variable([2.0])
    unused = tf.Variable([3.0])
    step = MomentumWOptimizer(0.5, 0.0, 0.9).minimize(
        tf.reduce_sum(used), var_list=[used, unused])
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(step)
      assert sess.run(used).tolist() == [1.0]
      assert sess.run(unused).tolist() == [3.0]
