"""Records, preprocessing and the training and evaluation pipelines."""

import os

import numpy as np
import pytest

from conftest import make_images
from conftest import write_records
import data_input
from tf_compat import tf


def run(tensors):
  with tf.Session() as sess:
    return sess.run(tensors)


def read_all(dataset):
  """Returns every element of a dataset as a list of numpy tuples."""
  next_element = tf.data.make_one_shot_iterator(dataset).get_next()
  elements = []
  with tf.Session() as sess:
    while True:
      try:
        elements.append(sess.run(next_element))
      except tf.errors.OutOfRangeError:
        return elements


def test_a_record_parses_back_to_the_exact_values():
  image = np.arange(32 * 32 * 3, dtype=np.int64).reshape(32, 32, 3) % 251
  image = image.astype(np.uint8)
  serialized = data_input.make_example(image, 87, 13).SerializeToString()

  with tf.Graph().as_default():
    parsed = run(data_input.parse_record(tf.constant(serialized)))

  assert parsed['image'].dtype == np.uint8
  np.testing.assert_array_equal(parsed['image'], image)
  # Height, width, channel order: pixel (row 1, column 2) channel 0.
  assert parsed['image'][1, 2, 0] == (1 * 96 + 2 * 3) % 251
  assert parsed['fine_label'] == 87
  assert parsed['coarse_label'] == 13


def test_the_feature_schema_is_the_original():
  example = data_input.make_example(np.zeros([32, 32, 3], np.uint8), 5, 1)
  features = example.features.feature
  assert sorted(features.keys()) == ['coarse_label', 'fine_label', 'image']
  assert len(features['image'].bytes_list.value[0]) == 3072
  assert list(features['fine_label'].int64_list.value) == [5]
  assert list(features['coarse_label'].int64_list.value) == [1]


def test_make_example_rejects_a_wrong_image():
  with pytest.raises(ValueError, match='uint8'):
    data_input.make_example(np.zeros([32, 32, 3], np.float32), 0, 0)
  with pytest.raises(ValueError, match=r'\(3, 32, 32\)'):
    data_input.make_example(np.zeros([3, 32, 32], np.uint8), 0, 0)


def test_listing_skips_hidden_files_and_folders(tmp_path):
  images, labels = make_images(4, seed=0)
  folder = write_records(str(tmp_path), images, labels, shards=2)
  open(os.path.join(folder, '.DS_Store'), 'w').close()
  os.mkdir(os.path.join(folder, 'checkpoints'))

  assert data_input.list_record_files(folder) == [
      os.path.join(folder, 'part-00.tfrecord'),
      os.path.join(folder, 'part-01.tfrecord')]


def test_an_empty_folder_is_an_error_naming_it(tmp_path):
  os.mkdir(os.path.join(str(tmp_path), 'sub'))
  open(os.path.join(str(tmp_path), '.hidden'), 'w').close()
  with pytest.raises(ValueError, match='holds no record files') as error:
    data_input.list_record_files(str(tmp_path))
  assert str(tmp_path) in str(error.value)


def test_a_missing_folder_is_an_error_naming_it(tmp_path):
  missing = os.path.join(str(tmp_path), 'nope')
  with pytest.raises(ValueError, match='is not a folder') as error:
    data_input.list_record_files(missing)
  assert missing in str(error.value)


def test_check_records_counts_every_record(train_folder):
  files = data_input.list_record_files(train_folder)
  assert sum(data_input.check_records(files, 10)) == 48


def test_eval_preprocessing_is_per_image_standardisation():
  image = make_images(1, seed=3)[0][0]
  with tf.Graph().as_default():
    result = run(data_input.preprocess_for_eval(tf.constant(image)))

  pixels = image.astype(np.float64)
  expected = (pixels - pixels.mean()) / max(pixels.std(),
                                             1.0 / np.sqrt(pixels.size))
  assert result.dtype == np.float32
  np.testing.assert_allclose(result, expected, rtol=0, atol=1e-5)


def test_train_preprocessing_is_float32_standardised_and_random():
  image = make_images(1, seed=4)[0][0]
  with tf.Graph().as_default():
    tf.set_random_seed(7)
    augmented = data_input.preprocess_for_train(tf.constant(image))
    with tf.Session() as sess:
      first, second = sess.run(augmented), sess.run(augmented)

  assert augmented.dtype == tf.float32
  assert first.shape == (32, 32, 3)
  np.testing.assert_allclose(first.mean(), 0.0, atol=1e-4)
  np.testing.assert_allclose(first.std(), 1.0, atol=1e-3)
  assert not np.array_equal(first, second)


def test_training_batches_have_static_shapes_and_drop_the_remainder(
    train_folder):
  files = data_input.list_record_files(train_folder)
  with tf.Graph().as_default():
    dataset = data_input.train_dataset(files, batch_size=5, epochs=2, seed=3)
    images, labels = tf.data.get_output_shapes(dataset)
    assert images.as_list() == [5, 32, 32, 3]
    assert labels.as_list() == [5]
    batches = read_all(dataset)

  # 2 epochs of 48 records: 96 // 5 full batches.
  assert len(batches) == 19
  assert all(b[0].dtype == np.float32 for b in batches)


def test_eval_batches_cover_every_record_once_padded_and_masked(
    test_folder, test_images):
  files = data_input.list_record_files(test_folder)
  with tf.Graph().as_default():
    dataset = data_input.eval_dataset(files, batch_size=10)
    shapes = tf.data.get_output_shapes(dataset)
    assert [s.as_list() for s in shapes] == [[10, 32, 32, 3], [10], [10]]
    batches = read_all(dataset)

  assert len(batches) == 6
  masks = np.concatenate([b[2] for b in batches])
  assert masks.tolist() == [True] * 53 + [False] * 7
  last_images = batches[-1][0]
  assert np.count_nonzero(last_images[3:]) == 0

  # Three shards interleave, so compare the label multisets.
  labels = np.concatenate([b[1] for b in batches])[masks]
  assert sorted(labels.tolist()) == sorted(test_images[1].tolist())


def test_no_augmentation_gives_the_evaluation_images(train_folder):
  files = data_input.list_record_files(train_folder)
  with tf.Graph().as_default():
    train = read_all(data_input.train_dataset(files, 48, 1, 'none', seed=2))
    evaluation = read_all(data_input.eval_dataset(files, 48))

  def by_content(images):
    return images[np.lexsort(images.reshape(len(images), -1).T)]

  assert len(train) == 1 and len(evaluation) == 1
  np.testing.assert_array_equal(by_content(train[0][0]),
                                by_content(evaluation[0][0]))


def test_an_unknown_augmentation_is_an_error(train_folder):
  files = data_input.list_record_files(train_folder)
  with pytest.raises(ValueError, match="got 'flip'"):
    data_input.train_dataset(files, 4, 1, augmentation='flip')
