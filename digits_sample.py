r"""The built-in sample: scikit-learn's handwritten digits as TFRecords.

train_1p.sh and test_1p.sh fall back to this sample when there are no
CIFAR records, so that training and evaluation run out of the box. The
images are the 1,797 8x8 digits that scikit-learn ships (no download):
each grey level (0..16) is scaled to 0..255, every pixel becomes a 4x4
block, and the grey image fills all three channels, giving the 32x32x3
uint8 images of the CIFAR schema. fine_label is the digit (0..9) and
coarse_label is -1, as for CIFAR-10.

The split is fixed: 36 images of each digit (360 in all) are the test
split, the other 1,437 the training split. The records go through
prepare_cifar.py's writer:

  python digits_sample.py --train_dir ./sample_data/train \
      --test_dir ./sample_data/test

A folder that already holds the complete sample is left as it is.
"""

import os
import sys

from absl import app
from absl import flags
from absl import logging
import numpy as np

import command_line
import prepare_cifar

FLAGS = flags.FLAGS

NAME = 'digits'
CLASSES = 10

# Test images per digit; the rest of each digit trains.
TEST_PER_CLASS = 36
# Seed of the fixed split; numpy's RandomState streams never change.
SPLIT_SEED = 20160523
# Each 8x8 digit pixel becomes a SCALE x SCALE block: 8 * 4 = 32.
SCALE = 4
# The digits' grey levels run from 0 to 16.
MAX_LEVEL = 16

SHARDS = {'train': 2, 'test': 1}
DEFAULT_DIRS = {'train': './sample_data/train', 'test': './sample_data/test'}


def load_digit_images():
  """Returns scikit-learn's digits as CIFAR-sized images.

  Returns:
    (images uint8 [1797, 32, 32, 3], labels int64 [1797]).

  Raises:
    prepare_cifar.PrepareError: if scikit-learn is not installed.
  """
  try:
    from sklearn.datasets import load_digits
  except ImportError:
    raise prepare_cifar.PrepareError(
        'the built-in sample needs scikit-learn, which ships the digits; '
        'run pip install -r requirements.txt (or pip install scikit-learn).')
  digits = load_digits()

  levels = np.rint(digits.images * (255.0 / MAX_LEVEL)).astype(np.uint8)

  grey = levels.repeat(SCALE, axis=1).repeat(SCALE, axis=2)
  images = np.repeat(grey[:, :, :, np.newaxis], 3, axis=3)
  return images, digits.target.astype(np.int64)


def split_indices(labels, test_per_class=TEST_PER_CLASS, seed=SPLIT_SEED):
  """Picks the fixed test images and orders the training images.

  Args:
    labels: int array of every image's class.
    test_per_class: test images drawn from each class.
    seed: seed of the draw.

  Returns:
    (train, test) index arrays: the test indices ascending, the training
    indices in a fixed shuffled order. Together they hold every index once.
  """
  rng = np.random.RandomState(seed)

  test = []
  for digit in range(CLASSES):
    members = np.flatnonzero(labels == digit)
    test.extend(rng.permutation(members)[:test_per_class])
  test = np.sort(np.asarray(test, dtype=np.int64))

  train = np.setdiff1d(np.arange(len(labels)), test)
  return rng.permutation(train), test


def make_splits():
  """Returns the sample as {'train': Split, 'test': Split}."""
  images, labels = load_digit_images()
  train, test = split_indices(labels)

  no_coarse = np.full(len(labels), prepare_cifar.NO_COARSE_LABEL,
                      dtype=np.int64)
  return {split: prepare_cifar.Split(images[order], labels[order],
                                     no_coarse[order])
          for split, order in (('train', train), ('test', test))}


def expected_shards(split):
  """Returns the shard names of one split of the sample."""
  return [prepare_cifar.shard_name('%s-%s' % (NAME, split), index,
                                   SHARDS[split])
          for index in range(SHARDS[split])]


def write_sample(train_dir, test_dir, overwrite=False):
  """Writes the sample, unless the folders already hold all of it.

  A folder holding exactly the sample's shards is kept: the writer is
  deterministic, so they are what would be written. A folder holding only
  some of them (an interrupted run) is completed. Anything else in a
  folder stops the run, as in prepare_cifar.py, unless overwrite is set
  and the files are shards that prepare_cifar.py's writer wrote.

  Args:
    train_dir: folder for the training shards.
    test_dir: folder for the test shards.
    overwrite: rewrite the sample, replacing earlier shards.

  Returns:
    {'train': bool, 'test': bool}: whether each split was written.

  Raises:
    prepare_cifar.PrepareError: on unusable folders or no scikit-learn.
  """
  folders = {'train': train_dir, 'test': test_dir}
  if os.path.realpath(train_dir) == os.path.realpath(test_dir):
    raise prepare_cifar.PrepareError(
        '--train_dir and --test_dir are both %s; the splits need separate '
        'folders.' % train_dir)

  old_shards = {}
  for split in prepare_cifar.SPLITS:
    existing = prepare_cifar.visible_files(folders[split])
    expected = expected_shards(split)
    if existing == expected and not overwrite:
      logging.info('The sample\'s %s split is already in %s.', split,
                   folders[split])
    elif set(existing) < set(expected) and not overwrite:
      old_shards[split] = existing
    else:
      old_shards[split] = prepare_cifar.check_output_folder(folders[split],
                                                            overwrite)
  if not old_shards:
    return {split: False for split in prepare_cifar.SPLITS}

  splits = make_splits()
  for split in prepare_cifar.SPLITS:
    if split not in old_shards:
      continue
    logging.info('Writing the sample\'s %s split: %d digit images in %d '
                 'shard(s) in %s.', split, len(splits[split].images),
                 SHARDS[split], folders[split])
    written = prepare_cifar.write_shards(
        folders[split], '%s-%s' % (NAME, split), splits[split],
        SHARDS[split])
    prepare_cifar.remove_stale_shards(folders[split], old_shards[split],
                                      written)
  return {split: split in old_shards for split in prepare_cifar.SPLITS}


def define_flags(flag_values=FLAGS):
  """Defines the command-line flags.

  Args:
    flag_values: the absl FlagValues to define them in.
  """
  flags.DEFINE_string(
      'train_dir', DEFAULT_DIRS['train'],
      'Folder for the sample\'s training shards; train_1p.sh uses the '
      'default when there are no CIFAR records.', flag_values=flag_values)
  flags.DEFINE_string(
      'test_dir', DEFAULT_DIRS['test'],
      'Folder for the sample\'s test shards; test_1p.sh uses the default '
      'when there are no CIFAR records.', flag_values=flag_values)
  flags.DEFINE_boolean(
      'overwrite', False,
      'Rewrite the sample even if it is complete, replacing shards written '
      'before. Files the writer did not write are never replaced.',
      flag_values=flag_values)

  for name, split in (('train_dir', 'train'), ('test_dir', 'test')):
    flags.register_validator(
        name, bool, message='--%s must not be empty; the default is %s.'
        % (name, DEFAULT_DIRS[split]), flag_values=flag_values)


def main(argv):
  if command_line.stray_arguments(argv):
    return 2

  try:
    write_sample(FLAGS.train_dir, FLAGS.test_dir, FLAGS.overwrite)
  except prepare_cifar.PrepareError as error:
    logging.error('%s', error)
    return 1

  logging.info('The digits sample is ready in %s and %s. To use CIFAR-100 '
               'instead, run: python3 prepare_cifar.py --source '
               'cifar-100-python.tar.gz --train_dir ./train_data --test_dir '
               './test_data', FLAGS.train_dir, FLAGS.test_dir)
  return 0


if __name__ == '__main__':
  define_flags()
  app.run(main, argv=command_line.join_boolean_values(
      sys.argv, command_line.boolean_flag_names(FLAGS)))
