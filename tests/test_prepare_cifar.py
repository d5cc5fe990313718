"""prepare_cifar.py on small archives in the official CIFAR pickle layout.

The tests build their own archives: Python pickles of dicts with bytes
keys, b'data' a uint8 array [N, 3072] of channel-major rows, and the label
lists, as folders and as .tar.gz files.
"""

import hashlib
import logging
import os
import pickle
import re
import struct
import subprocess
import sys
import tarfile

from absl import flags
import numpy as np
import pytest

from conftest import REPO_ROOT
import prepare_cifar
from tf_compat import tf

SCRIPT = os.path.join(REPO_ROOT, 'prepare_cifar.py')


def hwc_images(count, seed):
  """Random uint8 images [count, 32, 32, 3]."""
  return np.random.RandomState(seed).randint(
      0, 256, size=(count, 32, 32, 3)).astype(np.uint8)


def channel_major_rows(images):
  """The archive's rows: all red pixels, then green, then blue."""
  return np.stack([np.concatenate([image[:, :, channel].ravel()
                                   for channel in range(3)])
                   for image in images])


def cifar100_batch(images, fine, coarse):
  return {b'batch_label': b'training batch 1 of 1',
          b'filenames': [b'img_%d.png' % i for i in range(len(images))],
          b'data': channel_major_rows(images),
          b'fine_labels': [int(v) for v in fine],
          b'coarse_labels': [int(v) for v in coarse]}


def write_pickle(path, value):
  with open(path, 'wb') as stream:
    pickle.dump(value, stream, protocol=2)


class Cifar100(object):
  """A small CIFAR-100 in the official layout: 23 train, 7 test images."""

  def __init__(self, root):
    self.images = {'train': hwc_images(23, 1), 'test': hwc_images(7, 2)}
    rng = np.random.RandomState(3)
    self.fine = {split: rng.randint(0, 100, len(self.images[split]))
                 for split in ('train', 'test')}
    self.coarse = {split: rng.randint(0, 20, len(self.images[split]))
                   for split in ('train', 'test')}
    self.fine['train'][:2] = (0, 99)
    self.coarse['train'][:2] = (0, 19)
    self.folder = os.path.join(root, 'cifar-100-python')
    os.makedirs(self.folder)
    for split in ('train', 'test'):
      write_pickle(os.path.join(self.folder, split), cifar100_batch(
          self.images[split], self.fine[split], self.coarse[split]))
    write_pickle(os.path.join(self.folder, 'meta'),
                 {b'fine_label_names': [b'apple'] * 100})


def make_tar(folder, path):
  with tarfile.open(path, 'w:gz') as archive:
    archive.add(folder, arcname=os.path.basename(folder))
  return path


@pytest.fixture
def cifar100(tmp_path):
  return Cifar100(str(tmp_path / 'source'))


def read_records(paths):
  """Decodes TFRecord files into (images, fine labels, coarse labels)."""
  images, fine, coarse = [], [], []
  for path in paths:
    for data in tf.io.tf_record_iterator(path):
      feature = tf.train.Example.FromString(data).features.feature
      images.append(np.frombuffer(feature['image'].bytes_list.value[0],
                                  np.uint8).reshape(32, 32, 3))
      fine.append(feature['fine_label'].int64_list.value[0])
      coarse.append(feature['coarse_label'].int64_list.value[0])
  return np.array(images), fine, coarse


def all_files(folder):
  """Every entry of a folder, hidden ones included."""
  return sorted(os.listdir(folder))


def test_rows_to_images_moves_the_channel_planes_last():
  images = hwc_images(2, 7)
  rows = channel_major_rows(images)
  # Green of row 5, column 7 sits after the 1024 red values.
  assert rows[1, 1024 + 5 * 32 + 7] == images[1, 5, 7, 1]

  converted = prepare_cifar.rows_to_images(rows)

  assert converted.dtype == np.uint8
  assert converted.flags['C_CONTIGUOUS']
  np.testing.assert_array_equal(converted, images)
  assert converted[0, 31, 0, 2] == rows[0, 2048 + 31 * 32]


def test_cifar100_folder_converts_pixel_exact(cifar100, tmp_path):
  train_dir, test_dir = str(tmp_path / 'train'), str(tmp_path / 'test')

  dataset, written = prepare_cifar.convert(
      cifar100.folder, train_dir, test_dir, train_shards=3, test_shards=2)

  assert dataset is prepare_cifar.CIFAR100
  assert [(os.path.basename(p), n) for p, n in written['train']] == [
      ('cifar100-train-00000-of-00003.tfrecord', 7),
      ('cifar100-train-00001-of-00003.tfrecord', 8),
      ('cifar100-train-00002-of-00003.tfrecord', 8)]
  assert [(os.path.basename(p), n) for p, n in written['test']] == [
      ('cifar100-test-00000-of-00002.tfrecord', 3),
      ('cifar100-test-00001-of-00002.tfrecord', 4)]
  assert all_files(train_dir) == [os.path.basename(p)
                                  for p, _ in written['train']]
  for split in ('train', 'test'):
    images, fine, coarse = read_records([p for p, _ in written[split]])
    np.testing.assert_array_equal(images, cifar100.images[split])
    assert fine == list(cifar100.fine[split])
    assert coarse == list(cifar100.coarse[split])


def test_cifar10_archive_converts_with_no_coarse_label(tmp_path, caplog):
  folder = str(tmp_path / 'cifar-10-batches-py')
  os.makedirs(folder)
  images = hwc_images(13, 4)
  labels = np.arange(13) % 10
  names = ['data_batch_%d' % n for n in range(1, 6)] + ['test_batch']
  starts = [0, 2, 4, 6, 8, 10, 13]
  for name, start, end in zip(names, starts, starts[1:]):
    write_pickle(os.path.join(folder, name), {
        b'data': channel_major_rows(images[start:end]),
        b'labels': [int(v) for v in labels[start:end]]})
  archive = make_tar(folder, str(tmp_path / 'cifar-10-python.tar.gz'))
  digest = hashlib.md5(open(archive, 'rb').read()).hexdigest()
  caplog.set_level(logging.INFO)

  dataset, written = prepare_cifar.convert(
      archive, str(tmp_path / 'train'), str(tmp_path / 'test'),
      train_shards=2, test_shards=1)

  assert dataset is prepare_cifar.CIFAR10
  train = read_records([p for p, _ in written['train']])
  test = read_records([p for p, _ in written['test']])
  np.testing.assert_array_equal(train[0], images[:10])
  np.testing.assert_array_equal(test[0], images[10:])
  assert train[1] == list(range(10)) and test[1] == [0, 1, 2]
  assert train[2] == [-1] * 10 and test[2] == [-1] * 3
  assert [os.path.basename(p) for p, _ in written['test']] == [
      'cifar10-test-00000-of-00001.tfrecord']
  warnings = [r.getMessage() for r in caplog.records
              if r.levelno == logging.WARNING]
  assert warnings[0] == (
      'md5 of %s: %s, not the official cifar-10-python.tar.gz '
      '(c58f30108f718f92721af3b95e74349a); converting it anyway. Download '
      'the archive again if it should be the official one.'
      % (archive, digest))
  assert ('The train split holds 10 images; the official CIFAR-10 has '
          '50000.') in warnings


def py2_string(value):
  """A Python 2 str as cPickle writes it (SHORT_BINSTRING or BINSTRING)."""
  if len(value) < 256:
    return b'U' + struct.pack('<B', len(value)) + value
  return b'T' + struct.pack('<I', len(value)) + value


def py2_batch(rows, labels):
  """A batch pickled as Python 2's cPickle wrote the official archives.

  Protocol 2, str keys and values as byte strings, and numpy 1.x's array
  reduction: _reconstruct(ndarray, (0,), 'b') set to (1, shape, dtype,
  False, raw bytes), the dtype as dtype('u1', 0, 1) with its state.

  Args:
    rows: uint8 [N, 3072].
    labels: list of (key bytes, list of ints below 256).
  """
  count, width = rows.shape
  array = b''.join([
      b'cnumpy.core.multiarray\n_reconstruct\n', b'cnumpy\nndarray\n',
      b'K\x00\x85', py2_string(b'b'), b'\x87R',
      b'(K\x01', b'J' + struct.pack('<i', count),
      b'J' + struct.pack('<i', width), b'\x86',
      b'cnumpy\ndtype\n', py2_string(b'u1'), b'K\x00K\x01\x87R',
      b'(K\x03', py2_string(b'|'), b'NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff',
      b'K\x00tb', b'\x89', py2_string(rows.tobytes()), b'tb'])
  items = [py2_string(b'data') + array]
  for key, values in labels:
    items.append(py2_string(key) + b']('
                 + b''.join(b'K' + struct.pack('<B', v) for v in values)
                 + b'e')
  return b'\x80\x02}(' + b''.join(items) + b'u.'


def test_batches_pickled_by_python2_convert(cifar100, tmp_path):
  for split in ('train', 'test'):
    with open(os.path.join(cifar100.folder, split), 'wb') as stream:
      stream.write(py2_batch(
          channel_major_rows(cifar100.images[split]),
          [(b'fine_labels', cifar100.fine[split]),
           (b'coarse_labels', cifar100.coarse[split])]))

  _, written = prepare_cifar.convert(
      cifar100.folder, str(tmp_path / 'train'), str(tmp_path / 'test'),
      train_shards=1, test_shards=1)

  for split in ('train', 'test'):
    images, fine, coarse = read_records([p for p, _ in written[split]])
    np.testing.assert_array_equal(images, cifar100.images[split])
    assert fine == list(cifar100.fine[split])
    assert coarse == list(cifar100.coarse[split])


def test_official_md5_is_reported_as_official(tmp_path, caplog):
  path = str(tmp_path / 'archive.tar.gz')
  with open(path, 'wb') as stream:
    stream.write(b'not really CIFAR')
  digest = hashlib.md5(b'not really CIFAR').hexdigest()
  caplog.set_level(logging.INFO)

  official = prepare_cifar.report_md5(
      path, prepare_cifar.CIFAR100._replace(md5=digest))
  other = prepare_cifar.report_md5(path, prepare_cifar.CIFAR100)

  assert (official, other) == (True, False)
  assert caplog.records[0].getMessage() == (
      'md5 of %s: %s, the official cifar-100-python.tar.gz archive.'
      % (path, digest))
  assert caplog.records[1].levelno == logging.WARNING


def test_archive_and_folder_give_byte_identical_shards(cifar100, tmp_path):
  archive = make_tar(cifar100.folder, str(tmp_path / 'c100.tar.gz'))
  runs = []
  for run, source in enumerate([archive, cifar100.folder,
                                os.path.dirname(cifar100.folder)]):
    train_dir = str(tmp_path / ('train%d' % run))
    prepare_cifar.convert(source, train_dir, str(tmp_path / ('test%d' % run)),
                          train_shards=2, test_shards=1)
    runs.append({name: open(os.path.join(train_dir, name), 'rb').read()
                 for name in all_files(train_dir)})

  assert sorted(runs[0]) == ['cifar100-train-00000-of-00002.tfrecord',
                             'cifar100-train-00001-of-00002.tfrecord']
  assert runs[0] == runs[1] == runs[2]


def test_non_empty_output_is_refused_before_anything_is_written(
    cifar100, tmp_path):
  train_dir, test_dir = tmp_path / 'train', str(tmp_path / 'test')
  train_dir.mkdir()
  (train_dir / 'old.tfrecord').write_bytes(b'x')

  with pytest.raises(prepare_cifar.PrepareError) as error:
    prepare_cifar.convert(cifar100.folder, str(train_dir), test_dir)

  assert str(error.value) == (
      '%s already holds 1 file(s) (old.tfrecord); the trainer reads every '
      'file there, so new shards would mix with them. Choose an empty '
      'folder, or pass --overwrite to replace shards written before.'
      % train_dir)
  assert not os.path.exists(test_dir)


def test_overwrite_replaces_earlier_shards_only(cifar100, tmp_path):
  train_dir, test_dir = str(tmp_path / 'train'), str(tmp_path / 'test')
  prepare_cifar.convert(cifar100.folder, train_dir, test_dir, train_shards=3)
  os.mkdir(os.path.join(train_dir, 'notes'))
  open(os.path.join(train_dir, '.hidden'), 'w').close()

  prepare_cifar.convert(cifar100.folder, train_dir, test_dir, train_shards=2,
                        overwrite=True)

  assert all_files(train_dir) == [
      '.hidden', 'cifar100-train-00000-of-00002.tfrecord',
      'cifar100-train-00001-of-00002.tfrecord', 'notes']
  images, _, _ = read_records([
      os.path.join(train_dir, name) for name in all_files(train_dir)
      if name.endswith('.tfrecord')])
  np.testing.assert_array_equal(images, cifar100.images['train'])

  open(os.path.join(test_dir, 'labels.txt'), 'w').close()
  with pytest.raises(prepare_cifar.PrepareError) as error:
    prepare_cifar.convert(cifar100.folder, train_dir, test_dir,
                          overwrite=True)
  assert str(error.value) == (
      '%s holds labels.txt, which this tool did not write; --overwrite only '
      'replaces its own shards. Move those files away or choose an empty '
      'folder.' % test_dir)


def test_a_failed_shard_leaves_neither_shard_nor_temporary_file(
    cifar100, tmp_path, monkeypatch):
  encode = prepare_cifar.data_input.make_example
  calls = []

  def failing_make_example(*args):
    calls.append(1)
    if len(calls) == 10:
      raise KeyboardInterrupt()
    return encode(*args)

  monkeypatch.setattr(prepare_cifar.data_input, 'make_example',
                      failing_make_example)
  train_dir = str(tmp_path / 'train')

  with pytest.raises(KeyboardInterrupt):
    prepare_cifar.convert(cifar100.folder, train_dir, str(tmp_path / 'test'),
                          train_shards=3)

  # Shard 0 (7 records) was complete; shard 1 failed at its third record.
  assert all_files(train_dir) == ['cifar100-train-00000-of-00003.tfrecord']
  assert not os.path.exists(str(tmp_path / 'test'))


class EvilPayload(object):
  """Unpickling this would delete the file it names."""

  def __init__(self, path):
    self.path = path

  def __reduce__(self):
    return os.remove, (self.path,)


BAD_BATCHES = [
    ('train', lambda batch: batch.pop(b'fine_labels'),
     'SOURCE/train has no fine_labels; a CIFAR-100 batch holds data, '
     'fine_labels, coarse_labels, found batch_label, coarse_labels, data, '
     'filenames.'),
    ('train', lambda batch: batch.update({b'data': batch[b'data'][:, 1:]}),
     'SOURCE/train: data must be a uint8 array [N, 3072]; found uint8 '
     '(23, 3071).'),
    ('test', lambda batch: batch.update({b'data': batch[b'data'] / 255.0}),
     'SOURCE/test: data must be a uint8 array [N, 3072]; found float64 '
     '(7, 3072).'),
    ('train', lambda batch: batch[b'fine_labels'].__setitem__(4, 100),
     'SOURCE/train: fine_labels holds 100, outside 0..99; is this the '
     'archive it claims to be?'),
    ('test', lambda batch: batch[b'coarse_labels'].__setitem__(0, -1),
     'SOURCE/test: coarse_labels holds -1, outside 0..19; is this the '
     'archive it claims to be?'),
    ('test', lambda batch: batch[b'coarse_labels'].pop(),
     'SOURCE/test: coarse_labels holds (6,) labels for 7 images; the counts '
     'must match.'),
    ('train', lambda batch: batch.update(
        {b'fine_labels': [0.5] * 23}),
     'SOURCE/train: fine_labels holds float64 values, not integer labels.'),
    ('test', lambda batch: batch.update({b'data': batch[b'data'][:0],
                                         b'fine_labels': [],
                                         b'coarse_labels': []}),
     'SOURCE: the test split holds no images.'),
]


@pytest.mark.parametrize('split,change,message', BAD_BATCHES)
def test_bad_batches_fail_clearly(cifar100, tmp_path, split, change,
                                  message):
  path = os.path.join(cifar100.folder, split)
  batch = pickle.load(open(path, 'rb'), encoding='bytes')
  change(batch)
  write_pickle(path, batch)

  with pytest.raises(prepare_cifar.PrepareError) as error:
    prepare_cifar.convert(cifar100.folder, str(tmp_path / 'train'),
                          str(tmp_path / 'test'))

  assert str(error.value) == message.replace('SOURCE', cifar100.folder)
  assert not os.path.exists(str(tmp_path / 'train'))


def test_bad_sources_fail_clearly(cifar100, tmp_path):
  def error_of(source, **options):
    with pytest.raises(prepare_cifar.PrepareError) as error:
      prepare_cifar.convert(source, str(tmp_path / 'train'),
                            str(tmp_path / 'test'), **options)
    return str(error.value)

  missing = str(tmp_path / 'nowhere.tar.gz')
  assert error_of(missing) == (
      '--source %r does not exist; download cifar-100-python.tar.gz (or '
      'cifar-10-python.tar.gz) and pass its path.' % missing)

  text = tmp_path / 'notes.txt'
  text.write_text(u'hello')
  assert error_of(str(text)) == (
      '--source %s is neither a folder nor a tar archive; pass '
      'cifar-100-python.tar.gz or cifar-10-python.tar.gz as downloaded, or '
      'the folder it extracts to.' % text)

  empty = tmp_path / 'empty'
  empty.mkdir()
  assert error_of(str(empty)).startswith(
      '%s holds neither CIFAR-100 batches (train, test) nor CIFAR-10 '
      'batches' % empty)

  archive = make_tar(cifar100.folder, str(tmp_path / 'c100.tar.gz'))
  with open(archive, 'rb') as stream:
    head = stream.read(4000)
  truncated = tmp_path / 'truncated.tar.gz'
  truncated.write_bytes(head)
  assert re.match(r'%s is damaged or truncated \(.+\); download it again\.$'
                  % re.escape(str(truncated)), error_of(str(truncated)))

  assert error_of(archive, train_shards=24) == (
      'cannot split 23 images into 24 shards; use 1 to 23 shards.')
  assert error_of(archive, test_shards=8) == (
      'cannot split 7 images into 8 shards; use 1 to 7 shards.')

  same = str(tmp_path / 'data')
  with pytest.raises(prepare_cifar.PrepareError) as error:
    prepare_cifar.convert(archive, same, same + '/')
  assert str(error.value) == (
      '--train_dir and --test_dir are both %s; the splits need separate '
      'folders, e.g. ./train_data and ./test_data.' % same)

  twice = str(tmp_path / 'twice.tar')
  with tarfile.open(twice, 'w') as stream:
    stream.add(cifar100.folder, arcname='cifar-100-python')
    stream.add(cifar100.folder, arcname='copy/cifar-100-python')
  assert error_of(twice) == (
      '%s holds train more than once (cifar-100-python/train, '
      'copy/cifar-100-python/train); it must hold one CIFAR archive.'
      % twice)

  os.remove(os.path.join(cifar100.folder, 'test'))
  assert error_of(cifar100.folder) == (
      '%s looks like CIFAR-100 but has no test; download the archive '
      'again.' % cifar100.folder)


def test_a_pickle_that_would_run_code_is_refused(cifar100, tmp_path):
  victim = tmp_path / 'victim.txt'
  victim.write_text(u'still here')
  write_pickle(os.path.join(cifar100.folder, 'train'),
               {b'data': EvilPayload(str(victim))})

  with pytest.raises(prepare_cifar.PrepareError) as error:
    prepare_cifar.convert(cifar100.folder, str(tmp_path / 'train'),
                          str(tmp_path / 'test'))

  assert str(error.value) == (
      '%s/train is not a readable CIFAR batch (UnpicklingError: refusing to '
      'load %s.remove; a CIFAR batch holds only lists and numpy arrays); '
      'download the archive again.' % (cifar100.folder, os.remove.__module__))
  assert victim.read_text() == u'still here'


def test_next_steps_name_the_scripts_and_the_class_count():
  here = os.path.dirname(os.path.abspath(prepare_cifar.__file__))

  assert prepare_cifar.next_steps(
      prepare_cifar.CIFAR100, os.path.join(here, 'train_data'),
      os.path.join(here, 'test_data')) == (
          'Train with: bash train_1p.sh, then evaluate with: bash test_1p.sh')
  assert prepare_cifar.next_steps(
      prepare_cifar.CIFAR10, '/data/c10/train', '/data/c10/test') == (
          'Train with: DATA_PATH=/data/c10/train bash train_1p.sh --class_num'
          ' 10, then evaluate with: DATA_PATH=/data/c10/test bash test_1p.sh '
          '--class_num 10')


def test_required_flags_have_clear_messages():
  flag_values = flags.FlagValues()
  prepare_cifar.define_flags(flag_values)

  with pytest.raises(flags.IllegalFlagValueError) as error:
    flag_values(['prepare_cifar.py', '--train_dir', 'a', '--test_dir', 'b'])
  assert str(error.value) == (
      'flag --source=None: --source is required, e.g. --source '
      'cifar-100-python.tar.gz.')

  flag_values(['prepare_cifar.py', '--source', 's', '--train_dir', 'a',
               '--test_dir', 'b'])
  assert (flag_values.train_shards, flag_values.test_shards,
          flag_values.overwrite) == (10, 2, False)


def run_script(*args):
  """Runs prepare_cifar.py; returns (exit code, stderr)."""
  result = subprocess.run(
      [sys.executable, SCRIPT] + list(args), cwd=REPO_ROOT,
      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=120)
  return result.returncode, result.stderr


def absl_messages(stderr):
  """The absl log lines of stderr as (level letter, message)."""
  return [(line[0], line.split('] ', 1)[1]) for line in stderr.splitlines()
          if re.match(r'[IWE]\d{4} .*prepare_cifar\.py:\d+\] ', line)]


def test_command_line_converts_then_refuses_to_mix(cifar100, tmp_path):
  archive = make_tar(cifar100.folder,
                     str(tmp_path / 'cifar-100-python.tar.gz'))
  train_dir, test_dir = str(tmp_path / 'train'), str(tmp_path / 'test')
  args = ['--source', archive, '--train_dir', train_dir, '--test_dir',
          test_dir, '--train_shards', '2', '--test_shards', '1']

  code, stderr = run_script(*args)

  assert code == 0, stderr
  messages = absl_messages(stderr)
  assert messages[0][0] == 'W' and messages[0][1].startswith('md5 of ')
  assert messages[1:3] == [
      ('W', 'The train split holds 23 images; the official CIFAR-100 has '
            '50000.'),
      ('W', 'The test split holds 7 images; the official CIFAR-100 has '
            '10000.')]
  assert messages[3][1].startswith(
      'CIFAR-100 train: 23 images in 2 shards in %s; fine labels: '
      % train_dir)
  assert messages[4:6] == [
      ('I', 'Wrote %s/cifar100-train-00000-of-00002.tfrecord: 11 images '
            '(0 to 10).' % train_dir),
      ('I', 'Wrote %s/cifar100-train-00001-of-00002.tfrecord: 12 images '
            '(11 to 22).' % train_dir)]
  assert messages[7] == (
      'I', 'Wrote %s/cifar100-test-00000-of-00001.tfrecord: 7 images (0 to '
           '6).' % test_dir)
  assert messages[-1] == (
      'I', 'Done: CIFAR-100, 23 train and 7 test images. Train with: '
           'DATA_PATH=%s bash train_1p.sh, then evaluate with: DATA_PATH=%s '
           'bash test_1p.sh.' % (train_dir, test_dir))

  code, stderr = run_script(*args)

  assert code == 1
  assert 'Traceback' not in stderr
  assert absl_messages(stderr) == [(
      'E', '%s already holds 2 file(s) (cifar100-train-00000-of-00002.'
           'tfrecord, cifar100-train-00001-of-00002.tfrecord); the trainer '
           'reads every file there, so new shards would mix with them. '
           'Choose an empty folder, or pass --overwrite to replace shards '
           'written before.' % train_dir)]
