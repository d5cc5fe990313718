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


def parse_records(serialized):
  """Parses a batch of serialized records at once.

  Args:
    serialized: string tensor [n], tf.train.Example records.

  Returns:
    A dict with 'image' (uint8 [n, 32, 32, 3]), 'fine_label' (int64 [n])
    and 'coarse_label' (int64 [n], -1 where a record has none).
  """
  features = tf.parse_example(serialized, {
      'image': tf.FixedLenFeature([], tf.string),
      'fine_label': tf.FixedLenFeature([], tf.int64),
      'coarse_label': tf.FixedLenFeature([], tf.int64, default_value=-1),
  })
  images = tf.decode_raw(features['image'], tf.uint8)
  images = tf.reshape(images, [-1, IMAGE_SIZE, IMAGE_SIZE, CHANNELS])
  images.set_shape(serialized.shape.concatenate(
      [IMAGE_SIZE, IMAGE_SIZE, CHANNELS]))
  return {
      'image': images,
      'fine_label': features['fine_label'],
      'coarse_label': features['coarse_label'],
  }


def _cifarnet_augmentation(image):
  """The original port's augmentation ("cifarnet" recipe).

  Zero-pads 4 pixels on every side, crops a random 32x32 window, flips left
  to right at random, shifts brightness by up to 63 (of 255) and scales
  contrast by a factor in [0.2, 1.8].
  """
  image = tf.pad(image, [[CROP_PADDING, CROP_PADDING],
                         [CROP_PADDING, CROP_PADDING], [0, 0]])
  image = tf.random_crop(image, [IMAGE_SIZE, IMAGE_SIZE, CHANNELS])
  image = tf.image.random_flip_left_right(image)
  image = tf.image.random_brightness(image, max_delta=BRIGHTNESS_MAX_DELTA)
  return tf.image.random_contrast(image, *CONTRAST_RANGE)


def _paper_augmentation(image):
  """The WRN paper's augmentation: reflect-pad 4, random crop, random flip."""
  image = tf.pad(image, [[CROP_PADDING, CROP_PADDING],
                         [CROP_PADDING, CROP_PADDING], [0, 0]],
                 mode='REFLECT')
  image = tf.random_crop(image, [IMAGE_SIZE, IMAGE_SIZE, CHANNELS])
  return tf.image.random_flip_left_right(image)


# Training augmentations by name, for --augmentation.
AUGMENTATIONS = {
    'cifarnet': _cifarnet_augmentation,
    'paper': _paper_augmentation,
    'none': lambda image: image,
}


# The same augmentations on a whole batch at once. A tf.data map over single
# images spends most of its time calling the map function, once per image;
# one call per batch spends it on the pixels. Each image still draws its own
# window, flip, brightness and contrast, from the same distributions as the
# per-image functions above.


def draw_crop_and_flip(count):
  """Draws each image's crop window and flip, as random_crop and flip do.

  Args:
    count: int32 scalar tensor, images in the batch.

  Returns:
    A dict with 'top' and 'left' (int32 [count], the window's corner in the
    padded image, each uniform in 0..2 * CROP_PADDING) and 'flip' (bool
    [count], true with probability 1/2).
  """
  limit = 2 * CROP_PADDING + 1
  return {
      'top': tf.random_uniform([count], 0, limit, tf.int32),
      'left': tf.random_uniform([count], 0, limit, tf.int32),
      'flip': tf.random_uniform([count]) < 0.5,
  }


def draw_brightness_and_contrast(count):
  """Draws each image's brightness delta and contrast factor.

  Args:
    count: int32 scalar tensor, images in the batch.

  Returns:
    A dict with 'delta' (float32 [count], uniform in [-63, 63), as
    tf.image.random_brightness draws it) and 'factor' (float32 [count],
    uniform in [0.2, 1.8), as tf.image.random_contrast draws it).
  """
  return {
      'delta': tf.random_uniform([count], -BRIGHTNESS_MAX_DELTA,
                                 BRIGHTNESS_MAX_DELTA),
      'factor': tf.random_uniform([count], *CONTRAST_RANGE),
  }


def crop_and_flip(padded, top, left, flip):
  """Cuts a 32x32 window out of each padded image, mirrored where asked.

  Args:
    padded: [n, 32 + 2 * CROP_PADDING, 32 + 2 * CROP_PADDING, 3] images.
    top: int32 [n], each window's first row.
    left: int32 [n], each window's first column.
    flip: bool [n], mirror the window left to right.

  Returns:
    [n, 32, 32, 3] images of padded's dtype.
  """
  offsets = tf.range(IMAGE_SIZE)[None, :]
  rows = top[:, None] + offsets
  # A mirrored window reads its columns from the right edge leftwards.
  mirrored = tf.cast(flip, tf.int32)[:, None]
  columns = left[:, None] + offsets + mirrored * (IMAGE_SIZE - 1 - 2 * offsets)
  images = tf.gather(padded, rows, axis=1, batch_dims=1)
  return tf.gather(images, columns, axis=2, batch_dims=1)


def adjust_brightness_and_contrast(images, delta, factor):
  """Adds each image's delta, then scales its contrast by its factor.

  The arithmetic of tf.image.adjust_brightness and adjust_contrast on float
  images: x + delta, then (x - m) * factor + m with m each channel's mean.

  Args:
    images: float32 [n, 32, 32, 3].
    delta: float32 [n].
    factor: float32 [n].

  Returns:
    float32 [n, 32, 32, 3].
  """
  images += delta[:, None, None, None]
  means = tf.reduce_mean(images, axis=[1, 2], keepdims=True)
  return (images - means) * factor[:, None, None, None] + means


def _pad_batch(images, mode):
  padding = [[0, 0], [CROP_PADDING, CROP_PADDING],
             [CROP_PADDING, CROP_PADDING], [0, 0]]
  return tf.pad(images, padding, mode=mode)


def _cifarnet_batch_augmentation(images):
  """_cifarnet_augmentation on every image of a float32 batch."""
  count = tf.shape(images)[0]
  window = draw_crop_and_flip(count)
  images = crop_and_flip(_pad_batch(images, 'CONSTANT'), **window)
  return adjust_brightness_and_contrast(
      images, **draw_brightness_and_contrast(count))


def _paper_batch_augmentation(images):
  """_paper_augmentation on every image of a float32 batch."""
  window = draw_crop_and_flip(tf.shape(images)[0])
  return crop_and_flip(_pad_batch(images, 'REFLECT'), **window)


# AUGMENTATIONS for float32 batches [n, 32, 32, 3], by the same names.
BATCH_AUGMENTATIONS = {
    'cifarnet': _cifarnet_batch_augmentation,
    'paper': _paper_batch_augmentation,
    'none': lambda images: images,
}

# per_image: each image to zero mean and unit variance (the original port).
# per_channel: the CIFAR-100 training set's channel mean and deviation (the
# WRN paper).
NORMALIZATIONS = ('per_image', 'per_channel')

# Per-channel mean and standard deviation of the 50,000 CIFAR-100 training
# images, RGB, on the 0..255 scale.
CIFAR100_MEAN = (129.304, 124.070, 112.434)
CIFAR100_STD = (68.170, 65.392, 70.418)


def normalize(image, normalization='per_image'):
  """Scales a float32 image, or a batch of them, for the network.

  Args:
    image: float32 [32, 32, 3], or [n, 32, 32, 3], on the 0..255 scale.
    normalization: one of NORMALIZATIONS.

  Returns:
    float32 of image's shape; a batch is normalised image by image.

  Raises:
    ValueError: on an unknown normalization.
  """
  if normalization == 'per_image':
    return tf.image.per_image_standardization(image)
  if normalization == 'per_channel':
    mean = tf.constant(CIFAR100_MEAN, tf.float32)
    std = tf.constant(CIFAR100_STD, tf.float32)
    return (image - mean) / std
  raise ValueError('normalization must be one of %s; got %r.'
                   % (NORMALIZATIONS, normalization))


def preprocess_for_train(image, augmentation='cifarnet',
                         normalization='per_image'):
  """Augments and normalises one training image.

  Args:
    image: uint8 or float32 [32, 32, 3].
    augmentation: a key of AUGMENTATIONS; 'cifarnet' is the original's.
    normalization: one of NORMALIZATIONS; 'per_image' is the original's.

  Returns:
    float32 [32, 32, 3].

  Raises:
    ValueError: on an unknown augmentation or normalization.
  """
  if augmentation not in AUGMENTATIONS:
    raise ValueError('augmentation must be one of %s; got %r.'
                     % (sorted(AUGMENTATIONS), augmentation))
  image = AUGMENTATIONS[augmentation](tf.cast(image, tf.float32))
  return normalize(image, normalization)


def preprocess_batch_for_train(images, augmentation='cifarnet',
                               normalization='per_image'):
  """preprocess_for_train on a whole batch; each image draws its own.

  Args:
    images: uint8 or float32 [n, 32, 32, 3].
    augmentation: a key of BATCH_AUGMENTATIONS; 'cifarnet' is the
      original's.
    normalization: one of NORMALIZATIONS; 'per_image' is the original's.

  Returns:
    float32 [n, 32, 32, 3].

  Raises:
    ValueError: on an unknown augmentation or normalization.
  """
  if augmentation not in BATCH_AUGMENTATIONS:
    raise ValueError('augmentation must be one of %s; got %r.'
                     % (sorted(BATCH_AUGMENTATIONS), augmentation))
  images = BATCH_AUGMENTATIONS[augmentation](tf.cast(images, tf.float32))
  return normalize(images, normalization)


def preprocess_for_eval(image, normalization='per_image'):
  """Normalises one image, or a batch, with no augmentation.

  Args:
    image: uint8 or float32 [32, 32, 3], or a batch [n, 32, 32, 3].
    normalization: one of NORMALIZATIONS; 'per_image' is the original's.

  Returns:
    float32 of image's shape.
  """
  return normalize(tf.cast(image, tf.float32), normalization)


def _first_line(error):
  return (error.message or repr(error)).strip().splitlines()[0]


def check_records(files, class_num):
  """Reads every record once, checking it against the schema.

  Args:
    files: list of TFRecord paths.
    class_num: labels must lie in [0, class_num).

  Returns:
    The number of records in each file, a list of ints.

  Raises:
    ValueError: naming the file, and the record where it applies, if a file
      is not a TFRecord file (corrupt or truncated), a record lacks the
      schema's features, an image is not 3072 bytes, or a label is out of
      range.
  """
  with tf.Graph().as_default():
    path = tf.placeholder(tf.string, [])

    def sizes_and_labels(serialized):
      features = tf.parse_single_example(serialized, {
          'image': tf.FixedLenFeature([], tf.string),
          'fine_label': tf.FixedLenFeature([], tf.int64),
      })
      length = tf.cast(tf.strings.length(features['image']), tf.int64)
      return length, features['fine_label']

    def first_problems(state, item):
      count, image_at, image_length, label_at, label = state
      length, value = item
      bad_image = tf.logical_and(image_at < 0,
                                 tf.not_equal(length, IMAGE_BYTES))
      bad_label = tf.logical_and(
          label_at < 0, tf.logical_or(value < 0, value >= class_num))
      return (count + 1,
              tf.where(bad_image, count, image_at),
              tf.where(bad_image, length, image_length),
              tf.where(bad_label, count, label_at),
              tf.where(bad_label, value, label))

    start = tuple(np.int64(v) for v in (0, -1, 0, -1, 0))
    summary = tf.data.TFRecordDataset(path).map(
        sizes_and_labels, num_parallel_calls=AUTOTUNE).reduce(
            start, first_problems)

    counts = []
    with tf.Session() as sess:
      for name in files:
        try:
          count, image_at, length, label_at, label = sess.run(
              summary, {path: name})
        except tf.errors.DataLossError as error:
          raise ValueError(
              '%s is not a readable TFRecord file (%s); remove it from the '
              'data folder or write it again.' % (name, _first_line(error)))
        except tf.errors.InvalidArgumentError as error:
          raise ValueError(
              '%s holds records of another schema (%s); each record needs '
              'an "image" bytes feature and an int64 "fine_label".'
              % (name, _first_line(error)))
        if image_at >= 0:
          raise ValueError(
              '%s: record %d has an image of %d bytes; this network takes '
              '32x32x3 uint8 images (%d bytes).'
              % (name, image_at, length, IMAGE_BYTES))
        if label_at >= 0:
          raise ValueError(
              '%s: record %d has fine_label %d, outside [0, %d); check '
              '--class_num.' % (name, label_at, label, class_num))
        counts.append(int(count))
  return counts


def train_dataset(files, batch_size, epochs=None, augmentation='cifarnet',
                  normalization='per_image', seed=None, shard=None):
  """Shuffled, augmented, repeated training batches of static shape.

  Args:
    files: list of TFRecord paths.
    batch_size: images per batch.
    epochs: passes over the records, each shuffled anew; None repeats
      without end and leaves the step count to the caller.
    augmentation: a key of AUGMENTATIONS; 'cifarnet' is the original's.
    normalization: one of NORMALIZATIONS; 'per_image' is the original's.
    seed: optional int for a repeatable order and augmentation.
    shard: optional (count, index): read only every count-th record,
      starting at index, as one of count data-parallel processes.

  Returns:
    A tf.data.Dataset of (images float32 [batch_size, 32, 32, 3],
    labels int64 [batch_size]). Batches may span two passes; none is
    partial.

  Raises:
    ValueError: on an unknown augmentation or normalization.
  """
  if augmentation not in BATCH_AUGMENTATIONS:
    raise ValueError('augmentation must be one of %s; got %r.'
                     % (sorted(BATCH_AUGMENTATIONS), augmentation))
  if normalization not in NORMALIZATIONS:
    raise ValueError('normalization must be one of %s; got %r.'
                     % (NORMALIZATIONS, normalization))

  def parse_and_augment(serialized):
    records = parse_records(serialized)
    images = preprocess_batch_for_train(records['image'], augmentation,
                                        normalization)
    return images, records['fine_label']

  dataset = tf.data.TFRecordDataset(files)
  if shard is not None:
    dataset = dataset.shard(*shard)
  dataset = dataset.shuffle(SHUFFLE_BATCHES * batch_size, seed=seed,
                            reshuffle_each_iteration=True)
  dataset = dataset.repeat(epochs)
  # Records are batched first and then parsed and augmented a batch at a
  # time: one function call per batch instead of one per image.
  dataset = dataset.batch(batch_size, drop_remainder=True)
  dataset = dataset.map(parse_and_augment, num_parallel_calls=AUTOTUNE)
  return dataset.prefetch(AUTOTUNE)


def eval_dataset(files, batch_size, normalization='per_image'):
  """Every record exactly once, in batches of static shape.

  The last batch is padded with zero images up to batch_size; its mask
  tells the real examples from the padding.

  Args:
    files: list of TFRecord paths.
    batch_size: images per batch.
    normalization: one of NORMALIZATIONS, as in training.

  Returns:
    A tf.data.Dataset of (images float32 [batch_size, 32, 32, 3],
    labels int64 [batch_size], mask bool [batch_size]).
  """
  def parse_and_standardise(serialized):
    records = parse_records(serialized)
    images = preprocess_for_eval(records['image'], normalization)
    return images, records['fine_label']

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

  # Records are batched first and then parsed and standardised a batch at a
  # time: one function call per batch instead of one per image.
  dataset = tf.data.TFRecordDataset(files)
  dataset = dataset.batch(batch_size)
  dataset = dataset.map(parse_and_standardise, num_parallel_calls=AUTOTUNE)
  dataset = dataset.map(pad_to_batch_size)
  return dataset.prefetch(AUTOTUNE)
