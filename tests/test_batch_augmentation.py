"""The batch augmentation does what the per-image recipe does, image by image.

The training pipeline augments whole batches at once. These tests check it
against TensorFlow's per-image ops with the same drawn parameters, and check
that each image draws its own parameters from the recipe's distributions.
"""

import numpy as np
import pytest

from conftest import make_images
import data_input
from tf_compat import tf

PADDED = 32 + 2 * data_input.CROP_PADDING


def run(tensors):
  with tf.Session() as sess:
    return sess.run(tensors)


def per_image_reference(image, top, left, flip, delta, factor, mode):
  """One image through tf.pad, a slice, tf.image's flip and adjust ops."""
  padding = [[data_input.CROP_PADDING] * 2] * 2 + [[0, 0]]
  padded = tf.pad(tf.constant(image, tf.float32), padding, mode=mode)
  window = tf.slice(padded, [top, left, 0], [32, 32, 3])
  if flip:
    window = tf.image.flip_left_right(window)
  if delta is None:
    return window
  window = tf.image.adjust_brightness(window, delta)
  return tf.image.adjust_contrast(window, factor)


WINDOWS = {
    'top': [0, 8, 3, 4, 0, 8],
    'left': [0, 8, 5, 4, 8, 0],
    'flip': [False, True, True, False, True, False],
}
DELTAS = [-63.0, 62.9, 0.0, 17.5, -30.25, 5.0]
FACTORS = [0.2, 1.8, 1.0, 0.55, 1.7, 0.9]


def test_cifarnet_batch_ops_equal_the_per_image_ops():
  images = make_images(6, seed=5)[0]

  with tf.Graph().as_default():
    padded = tf.pad(tf.constant(images, tf.float32),
                    [[0, 0], [4, 4], [4, 4], [0, 0]])
    batch = data_input.crop_and_flip(
        padded, tf.constant(WINDOWS['top']), tf.constant(WINDOWS['left']),
        tf.constant(WINDOWS['flip']))
    batch = data_input.adjust_brightness_and_contrast(
        batch, tf.constant(DELTAS), tf.constant(FACTORS))
    expected = [per_image_reference(
        images[i], WINDOWS['top'][i], WINDOWS['left'][i],
        WINDOWS['flip'][i], DELTAS[i], FACTORS[i], 'CONSTANT')
        for i in range(6)]
    batch, expected = run([batch, expected])

  assert batch.shape == (6, 32, 32, 3) and batch.dtype == np.float32
  # Pixels reach about 300; the two sum a channel's 1024 values for its
  # mean in different orders, which moves float32 results by up to 1e-5
  # of that.
  np.testing.assert_allclose(batch, np.stack(expected), rtol=0, atol=3e-3)


def test_crop_windows_and_flips_are_exact():
  images = make_images(6, seed=6)[0]

  with tf.Graph().as_default():
    padded = tf.pad(tf.constant(images), [[0, 0], [4, 4], [4, 4], [0, 0]])
    batch = run(data_input.crop_and_flip(
        padded, tf.constant(WINDOWS['top']), tf.constant(WINDOWS['left']),
        tf.constant(WINDOWS['flip'])))

  # uint8 in, uint8 out: the windows are copies of the padded pixels.
  assert batch.dtype == np.uint8
  padded = np.pad(images, [[0, 0], [4, 4], [4, 4], [0, 0]], 'constant')
  for i in range(6):
    top, left = WINDOWS['top'][i], WINDOWS['left'][i]
    window = padded[i, top:top + 32, left:left + 32]
    if WINDOWS['flip'][i]:
      window = window[:, ::-1]
    np.testing.assert_array_equal(batch[i], window)


def test_paper_batch_ops_equal_the_per_image_ops():
  images = make_images(6, seed=7)[0]

  with tf.Graph().as_default():
    padded = tf.pad(tf.constant(images, tf.float32),
                    [[0, 0], [4, 4], [4, 4], [0, 0]], mode='REFLECT')
    batch = data_input.crop_and_flip(
        padded, tf.constant(WINDOWS['top']), tf.constant(WINDOWS['left']),
        tf.constant(WINDOWS['flip']))
    expected = [per_image_reference(
        images[i], WINDOWS['top'][i], WINDOWS['left'][i],
        WINDOWS['flip'][i], None, None, 'REFLECT') for i in range(6)]
    batch, expected = run([batch, expected])

  np.testing.assert_array_equal(batch, np.stack(expected))


def test_each_image_draws_from_the_recipe_distributions():
  count = 18000
  with tf.Graph().as_default():
    tf.set_random_seed(11)
    window = data_input.draw_crop_and_flip(tf.constant(count))
    colour = data_input.draw_brightness_and_contrast(tf.constant(count))
    window, colour = run([window, colour])

  # Crop corners: uniform over 0..8 (tf.random_crop of a 40x40 image), and
  # independent of each other.
  for key in ('top', 'left'):
    assert window[key].dtype == np.int32 and window[key].shape == (count,)
    frequencies = np.bincount(window[key], minlength=9) / float(count)
    assert len(frequencies) == 9
    np.testing.assert_allclose(frequencies, 1.0 / 9, atol=0.01)
  assert abs(np.corrcoef(window['top'], window['left'])[0, 1]) < 0.03
  # Flips: half of the images, as tf.image.random_flip_left_right.
  assert window['flip'].dtype == np.bool_
  assert abs(window['flip'].mean() - 0.5) < 0.015

  # Brightness delta uniform in [-63, 63); contrast factor in [0.2, 1.8).
  for key, (low, high) in (('delta', (-63.0, 63.0)),
                           ('factor', (0.2, 1.8))):
    values = colour[key]
    assert values.dtype == np.float32 and values.shape == (count,)
    assert values.min() >= low and values.max() < high
    histogram = np.histogram(values, bins=10, range=(low, high))[0]
    np.testing.assert_allclose(histogram / float(count), 0.1, atol=0.01)


@pytest.mark.parametrize('augmentation', ['cifarnet', 'paper'])
def test_identical_images_come_out_differently(augmentation):
  image = make_images(1, seed=8)[0][0]
  batch = np.stack([image] * 16)

  with tf.Graph().as_default():
    tf.set_random_seed(3)
    result = run(data_input.preprocess_batch_for_train(
        tf.constant(batch), augmentation))

  assert result.shape == (16, 32, 32, 3) and result.dtype == np.float32
  distinct = set(image.tobytes() for image in result)
  assert len(distinct) >= 12
  # Per-image standardisation, image by image.
  flat = result.reshape(16, -1)
  np.testing.assert_allclose(flat.mean(axis=1), 0.0, atol=1e-4)
  np.testing.assert_allclose(flat.std(axis=1), 1.0, atol=1e-3)


def test_without_augmentation_a_batch_is_standardised_image_by_image():
  images = make_images(5, seed=9)[0]

  with tf.Graph().as_default():
    batch = data_input.preprocess_batch_for_train(
        tf.constant(images), 'none', 'per_image')
    single = [data_input.preprocess_for_eval(tf.constant(image))
              for image in images]
    channel = data_input.preprocess_batch_for_train(
        tf.constant(images), 'none', 'per_channel')
    batch, single, channel = run([batch, single, channel])

  np.testing.assert_allclose(batch, np.stack(single), rtol=1e-6, atol=1e-6)
  expected = ((images - np.array(data_input.CIFAR100_MEAN))
              / np.array(data_input.CIFAR100_STD))
  np.testing.assert_allclose(channel, expected, rtol=1e-5, atol=1e-5)


def test_parse_records_reads_a_batch_with_static_shapes():
  images, labels = make_images(3, seed=10)
  serialized = [data_input.make_example(image, label, 7).SerializeToString()
                for image, label in zip(images, labels)]

  with tf.Graph().as_default():
    records = data_input.parse_records(tf.constant(serialized))
    assert records['image'].shape.as_list() == [3, 32, 32, 3]
    parsed = run(records)

  np.testing.assert_array_equal(parsed['image'], images)
  assert parsed['fine_label'].tolist() == labels.tolist()
  assert parsed['coarse_label'].tolist() == [7, 7, 7]


def test_an_unknown_batch_augmentation_is_an_error():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match="got 'flip'"):
      data_input.preprocess_batch_for_train(tf.zeros([2, 32, 32, 3]), 'flip')
