"""Shared helpers: the project on sys.path and tiny TFRecord folders."""

import os
import sys

import numpy as np
import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
  sys.path.insert(0, REPO_ROOT)

import data_input  # noqa: E402
from tf_compat import tf  # noqa: E402


def make_images(count, seed):
  """Returns deterministic uint8 images [count, 32, 32, 3] and labels.

  The label sets each image's brightness band, so a tiny network can learn
  something from a few steps.
  """
  rng = np.random.RandomState(seed)
  labels = rng.randint(0, 10, size=count)
  noise = rng.randint(0, 64, size=(count, 32, 32, 3))
  images = (noise + labels[:, None, None, None] * 19).astype(np.uint8)
  return images, labels


def write_records(folder, images, labels, shards=1):
  """Writes images and labels as TFRecords in the original schema.

  Record i goes to shard i % shards; coarse_label is label // 2.

  Returns:
    The folder.
  """
  os.makedirs(folder, exist_ok=True)
  for shard in range(shards):
    path = os.path.join(folder, 'part-%02d.tfrecord' % shard)
    with tf.io.TFRecordWriter(path) as writer:
      for index in range(shard, len(images), shards):
        example = data_input.make_example(
            images[index], labels[index], labels[index] // 2)
        writer.write(example.SerializeToString())
  return folder


@pytest.fixture(scope='session')
def train_folder(tmp_path_factory):
  """48 training records in two shards."""
  images, labels = make_images(48, seed=1)
  return write_records(str(tmp_path_factory.mktemp('train')), images, labels,
                       shards=2)


@pytest.fixture(scope='session')
def test_images():
  """53 test images and labels; 53 is prime, so no batch size divides it."""
  return make_images(53, seed=2)


@pytest.fixture(scope='session')
def test_folder(tmp_path_factory, test_images):
  images, labels = test_images
  return write_records(str(tmp_path_factory.mktemp('test')), images, labels,
                       shards=3)
