"""Learning-rate schedules: the graph tensor against the Python reference."""

import pytest

import lr_schedules
from tf_compat import tf


def graph_rates(steps, **kwargs):
  with tf.Graph().as_default():
    step = tf.placeholder(tf.int64, [])
    rate = lr_schedules.learning_rate(step, **kwargs)
    with tf.Session() as sess:
      return [float(sess.run(rate, {step: s})) for s in steps]


def test_constant_is_the_original():
  assert lr_schedules.rate_at(0, 0.00016, 'constant', 100) == 0.00016
  assert lr_schedules.rate_at(99, 0.00016, 'constant', 100) == 0.00016


def test_the_paper_step_schedule():
  # 0.1, times 0.2 at epochs 60, 120 and 160, with 391 steps per epoch.
  boundaries = [60 * 391, 120 * 391, 160 * 391]

  def rate(step):
    return lr_schedules.rate_at(step, 0.1, 'step', 200 * 391, boundaries,
                                0.2)

  assert rate(0) == 0.1
  assert rate(60 * 391 - 1) == 0.1
  assert rate(60 * 391) == pytest.approx(0.02, rel=1e-12)
  assert rate(120 * 391) == pytest.approx(0.004, rel=1e-12)
  assert rate(160 * 391) == pytest.approx(0.0008, rel=1e-12)
  assert rate(200 * 391 - 1) == pytest.approx(0.0008, rel=1e-12)


def test_cosine_with_warm_up():
  def rate(step):
    return lr_schedules.rate_at(step, 0.4, 'cosine', 110, warmup_steps=10)

  assert rate(0) == pytest.approx(0.04)
  assert rate(9) == pytest.approx(0.4)
  assert rate(10) == pytest.approx(0.4)
  assert rate(60) == pytest.approx(0.2)
  assert rate(110) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize('kwargs', [
    dict(base_rate=0.00016, schedule='constant', total_steps=50),
    dict(base_rate=0.1, schedule='step', total_steps=50,
         boundaries=[10, 20, 30], decay_factor=0.2),
    dict(base_rate=0.1, schedule='step', total_steps=50, boundaries=[10],
         decay_factor=0.5, warmup_steps=5),
    dict(base_rate=0.4, schedule='cosine', total_steps=50, warmup_steps=7),
])
def test_the_graph_follows_the_reference(kwargs):
  steps = [0, 1, 4, 5, 6, 9, 10, 11, 20, 29, 30, 49, 50, 60]
  expected = [lr_schedules.rate_at(s, **kwargs) for s in steps]
  # The graph computes in float32.
  assert graph_rates(steps, **kwargs) == pytest.approx(expected, rel=1e-5,
                                                       abs=1e-8)


def test_bad_arguments():
  with tf.Graph().as_default():
    step = tf.placeholder(tf.int64, [])
    with pytest.raises(ValueError, match="got 'linear'"):
      lr_schedules.learning_rate(step, 0.1, 'linear', 10)
    with pytest.raises(ValueError, match='must increase'):
      lr_schedules.learning_rate(step, 0.1, 'step', 10, boundaries=[5, 3])
