"""CIFAR-style TFRecords: the record schema, preprocessing and tf.data input.

Each record is a tf.train.Example with three features, as in the original
port:
  image:        bytes, 32 * 32 * 3 raw uint8 values in height, width,
                channel order (RGB);
  fine_label:   int64, the class the network learns (0..99 on CIFAR-100);
  coarse_label: int64, the CIFAR-100 superclass (0..19), read but unused.

Everything stays float32 (Ascend NPUs reject float64) and every batch the
network sees has a static shape.
"""

import os

import numpy as np

from tf_compat import tf

IMAGE_SIZE = 32
CHANNELS = 3
IMAGE_BYTES = IMAGE_SIZE * IMAGE_SIZE * CHANNELS

# Augmentation of the original port (the "cifarnet" recipe).
CROP_PADDING = 4
BRIGHTNESS_MAX_DELTA = 63.0
CONTRAST_RANGE = (0.2, 1.8)

# The original shuffled with a buffer of 100 batches.
SHUFFLE_BATCHES = 100

AUTOTUNE = tf.data.experimental.AUTOTUNE


def list_record_files(data_path):
  """Returns the sorted paths of the record files in a folder.

  Hidden entries (names starting with '.') and sub-folders are skipped.

  Args:
    data_path: folder holding the TFRecord files.

  Returns:
    A non-empty, sorted list of file paths.

  Raises:
    ValueError: if data_path is not a folder or holds no record file.
  """
  if not data_path or not os.path.isdir(data_path):
    raise ValueError(
        'data_path %r is not a folder; point --data_path at the folder that '
        'holds the TFRecord files.' % (data_path,))

  files = sorted(
      os.path.join(data_path, name) for name in os.listdir(data_path)
      if not name.startswith('.')
      and os.path.isfile(os.path.join(data_path, name)))

  if not files:
    raise ValueError(
        'data_path %r holds no record files (hidden files and sub-folders '
        'are skipped); put the TFRecord files directly in it.' % (data_path,))
  return files


def make_example(image, fine_label, coarse_label):
  """Encodes one image and its labels as a tf.train.Example.

  Args:
    image: uint8 numpy array [32, 32, 3], height x width x channel.
    fine_label: int, the class.
    coarse_label: int, the superclass.

  Returns:
    A tf.train.Example in the original port's schema.

  Raises:
    ValueError: if the image is not uint8 [32, 32, 3].
  """
  image = np.asarray(image)
  if image.dtype != np.uint8 or image.shape != (IMAGE_SIZE, IMAGE_SIZE,
                                                CHANNELS):
    raise ValueError('image must be uint8 [32, 32, 3]; got %s %s.'
                     % (image.dtype, image.shape))

  def int64_feature(value):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))

  return tf.train.Example(features=tf.train.Features(feature={
      'image': tf.train.Feature(
          bytes_list=tf.train.BytesList(value=[image.tobytes()])),
      'fine_label': int64_feature(fine_label),
      'coarse_label': int64_feature(coarse_label),
  }))


def parse_record(serialized):
  """Parses one serialized record.

  Args:
    serialized: scalar string tensor, one tf.train.Example.

  Returns:
    A dict with 'image' (uint8 [32, 32, 3]), 'fine_label' (int64 scalar)
    and 'coarse_label' (int64 scalar, -1 when the record has none).
  """
  features = tf.parse_single_example(serialized, {
      'image': tf.FixedLenFeature([], tf.string),
      'fine_label': tf.FixedLenFeature([], tf.int64),
      'coarse_label': tf.FixedLenFeature([], tf.int64, default_value=-1),
  })
  image = tf.decode_raw(features['image'], tf.uint8)
  image = tf.reshape(image, [IMAGE_SIZE, IMAGE_SIZE, CHANNELS])
  return {
      'image': image,
      'fine_label': features['fine_label'],
      'coarse_label': features['coarse_label'],
  }


def preprocess_for_train(image):
  """Augments one image as the original port did, then standardises it.

  Zero-pads 4 pixels on every side, crops a random 32x32 window, flips left
  to right at random, shifts brightness by up to 63 (of 255) and scales
  contrast by a factor in [0.2, 1.8].

  Args:
    image: uint8 or float32 [32, 32, 3].

  Returns:
    float32 [32, 32, 3] with zero mean and unit variance.
  """
  image = tf.cast(image, tf.float32)
  image = tf.pad(image, [[CROP_PADDING, CROP_PADDING],
                         [CROP_PADDING, CROP_PADDING], [0, 0]])
  image = tf.random_crop(image, [IMAGE_SIZE, IMAGE_SIZE, CHANNELS])
  image = tf.image.random_flip_left_right(image)
  image = tf.image.random_brightness(image, max_delta=BRIGHTNESS_MAX_DELTA)
  image = tf.image.random_contrast(image, *CONTRAST_RANGE)
  return tf.image.per_image_standardization(image)


def preprocess_for_eval(image):
  """Standardises one image, with no augmentation.

  Args:
    image: uint8 or float32 [32, 32, 3].

  Returns:
    float32 [32, 32, 3] with zero mean and unit variance.
  """
  return tf.image.per_image_standardization(tf.cast(image, tf.float32))


def count_records(files):
  """Counts the records in TFRecord files, reading them once.

  Args:
    files: list of TFRecord paths.

  Returns:
    The number of records, an int.
  """
  with tf.Graph().as_default():
    count = tf.data.TFRecordDataset(files).reduce(
        np.int64(0), lambda total, _: total + 1)
    with tf.Session() as sess:
      return int(sess.run(count))


# Training preprocessing by name, for --augmentation.
AUGMENTATIONS = {
    'cifarnet': preprocess_for_train,
    'none': preprocess_for_eval,
}


def train_dataset(files, batch_size, epochs, augmentation='cifarnet',
                  seed=None):
  """Shuffled, augmented, repeated training batches of static shape.

  Args:
    files: list of TFRecord paths.
    batch_size: images per batch.
    epochs: passes over the records; each pass is shuffled anew.
    augmentation: a key of AUGMENTATIONS: 'cifarnet' (the original's) or
      'none' (standardisation only).
    seed: optional int for a repeatable order and augmentation.

  Returns:
    A tf.data.Dataset of (images float32 [batch_size, 32, 32, 3],
    labels int64 [batch_size]). A last partial batch is dropped.
  """
  if augmentation not in AUGMENTATIONS:
    raise ValueError('augmentation must be one of %s; got %r.'
                     % (sorted(AUGMENTATIONS), augmentation))
  preprocess = AUGMENTATIONS[augmentation]

  def parse_and_augment(serialized):
    record = parse_record(serialized)
    return preprocess(record['image']), record['fine_label']

  dataset = tf.data.TFRecordDataset(files)
  dataset = dataset.shuffle(SHUFFLE_BATCHES * batch_size, seed=seed,
                            reshuffle_each_iteration=True)
  dataset = dataset.repeat(epochs)
  dataset = dataset.map(parse_and_augment, num_parallel_calls=AUTOTUNE)
  dataset = dataset.batch(batch_size, drop_remainder=True)
  return dataset.prefetch(AUTOTUNE)


def eval_dataset(files, batch_size):
  """Every record exactly once, in batches of static shape.

  The last batch is padded with zero images up to batch_size; its mask
  tells the real examples from the padding.

  Args:
    files: list of TFRecord paths.
    batch_size: images per batch.

  Returns:
    A tf.data.Dataset of (images float32 [batch_size, 32, 32, 3],
    labels int64 [batch_size], mask bool [batch_size]).
  """
  def parse_and_standardise(serialized):
    record = parse_record(serialized)
    return preprocess_for_eval(record['image']), record['fine_label']

  def pad_to_batch_size(images, labels):
    real = tf.shape(labels)[0]
    missing = batch_size - real
    images = tf.pad(images, [[0, missing], [0, 0], [0, 0], [0, 0]])
    labels = tf.pad(labels, [[0, missing]])
    mask = tf.sequence_mask(real, batch_size)
    images.set_shape([batch_size, IMAGE_SIZE, IMAGE_SIZE, CHANNELS])
    labels.set_shape([batch_size])
    mask.set_shape([batch_size])
    return images, labels, mask

  dataset = tf.data.TFRecordDataset(files)
  dataset = dataset.map(parse_and_standardise, num_parallel_calls=AUTOTUNE)
  dataset = dataset.batch(batch_size)
  dataset = dataset.map(pad_to_batch_size)
  return dataset.prefetch(AUTOTUNE)
