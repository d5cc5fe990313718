r"""Converts the official CIFAR-100 or CIFAR-10 download into TFRecords.

Reads the "python version" archive (cifar-100-python.tar.gz or
cifar-10-python.tar.gz) or the folder it extracts to, checks its structure
and writes each split as a few TFRecord shards in the schema that
run_wideresnet.py reads:

  python prepare_cifar.py --source cifar-100-python.tar.gz \
      --train_dir ./train_data --test_dir ./test_data

The archive stores every image channel by channel (3 x 32 x 32); the
records hold height x width x channel. CIFAR-100 records carry the class
(fine_label, 0..99) and the superclass (coarse_label, 0..19). CIFAR-10
has no superclasses: fine_label is the class (0..9) and coarse_label is
-1; train and evaluate it with --class_num 10.

The same input always gives byte-identical shards. A shard is written
under a hidden temporary name and renamed when complete, so an interrupted
run never leaves a half-written shard where the trainer reads.
"""

import codecs
import collections
import hashlib
import io
import os
import pickle
import re
import sys
import tarfile
import zlib

from absl import app
from absl import flags
from absl import logging
import numpy as np

import command_line
import data_input
from tf_compat import tf

FLAGS = flags.FLAGS

# The official archives; see https://www.cs.toronto.edu/~kriz/cifar.html.
Dataset = collections.namedtuple('Dataset', [
    'name',            # prefix of the shard names
    'title',           # for messages
    'archive',         # the official archive's file name
    'folder',          # the folder the archive extracts to
    'md5',             # the official archive's md5
    'split_files',     # split -> the pickled batches, in order
    'fine_key',        # key of the class labels in a batch
    'fine_classes',
    'coarse_key',      # key of the superclass labels, or None
    'coarse_classes',
    'split_sizes',     # split -> images in the official archive
])

CIFAR100 = Dataset(
    name='cifar100', title='CIFAR-100', archive='cifar-100-python.tar.gz',
    folder='cifar-100-python', md5='eb9058c3a382ffc7106e4002c42a8d85',
    split_files={'train': ('train',), 'test': ('test',)},
    fine_key='fine_labels', fine_classes=100,
    coarse_key='coarse_labels', coarse_classes=20,
    split_sizes={'train': 50000, 'test': 10000})

CIFAR10 = Dataset(
    name='cifar10', title='CIFAR-10', archive='cifar-10-python.tar.gz',
    folder='cifar-10-batches-py', md5='c58f30108f718f92721af3b95e74349a',
    split_files={'train': tuple('data_batch_%d' % number
                                for number in range(1, 6)),
                 'test': ('test_batch',)},
    fine_key='labels', fine_classes=10,
    coarse_key=None, coarse_classes=None,
    split_sizes={'train': 50000, 'test': 10000})

DATASETS = (CIFAR100, CIFAR10)
SPLITS = ('train', 'test')

# coarse_label of a record whose dataset has no superclasses; data_input
# reads the same value for a record without the feature.
NO_COARSE_LABEL = -1

# A shard written by this module: NAME-SPLIT-00003-of-00010.tfrecord.
SHARD_PATTERN = re.compile(r'^[a-z0-9]+-(train|test)-\d{5}-of-\d{5}'
                           r'\.tfrecord$')

# Channel-major rows of the archive: 3 planes of 32 x 32.
ROW_LENGTH = data_input.IMAGE_BYTES

# Default number of shards per split.
DEFAULT_SHARDS = {'train': 10, 'test': 2}

Split = collections.namedtuple('Split',
                               ['images', 'fine_labels', 'coarse_labels'])


class PrepareError(Exception):
  """A problem with the input or the output folders, for the user to fix."""


class _ArrayUnpickler(pickle.Unpickler):
  """Unpickles dicts of lists and numpy arrays, and nothing else.

  A pickle can call any function it names, so an archive from an unknown
  source could run code on load. The CIFAR batches only need numpy's array
  reconstruction; every other global is refused.
  """

  # Looked up from live objects, so that the spellings of numpy 1.x
  # (numpy.core) and 2.x (numpy._core) both resolve without importing
  # either module by name.
  _ALLOWED = {
      ('numpy', 'ndarray'): np.ndarray,
      ('numpy', 'dtype'): np.dtype,
      ('numpy.core.multiarray', '_reconstruct'):
          np.zeros(0).__reduce__()[0],
      ('numpy._core.multiarray', '_reconstruct'):
          np.zeros(0).__reduce__()[0],
      ('numpy.core.multiarray', 'scalar'): np.int64(0).__reduce__()[0],
      ('numpy._core.multiarray', 'scalar'): np.int64(0).__reduce__()[0],
      # Python 3 pickles bytes this way under protocol 2.
      ('_codecs', 'encode'): codecs.encode,
      ('__builtin__', 'bytes'): bytes,
      ('builtins', 'bytes'): bytes,
  }

  def find_class(self, module, name):
    try:
      return self._ALLOWED[(module, name)]
    except KeyError:
      raise pickle.UnpicklingError(
          'refusing to load %s.%s; a CIFAR batch holds only lists and numpy '
          'arrays' % (module, name))


def load_batch(data, label):
  """Unpickles one CIFAR batch.

  Args:
    data: the pickled bytes.
    label: the batch's name in messages, e.g. 'cifar-100-python/train'.

  Returns:
    The batch as a dict with str keys.

  Raises:
    PrepareError: if the bytes are not a pickled dict.
  """
  try:
    # The official batches were pickled by Python 2; their str values
    # come back as bytes.
    batch = _ArrayUnpickler(io.BytesIO(data), encoding='bytes').load()
  except Exception as error:  # A damaged pickle can raise almost anything.
    raise PrepareError('%s is not a readable CIFAR batch (%s: %s); download '
                       'the archive again.' % (label, type(error).__name__,
                                               error))

  if not isinstance(batch, dict):
    raise PrepareError('%s holds a %s, not the dict of a CIFAR batch.'
                       % (label, type(batch).__name__))

  return {key.decode('latin-1') if isinstance(key, bytes) else key: value
          for key, value in batch.items()}


def rows_to_images(rows):
  """Turns channel-major archive rows into height x width x channel images.

  Args:
    rows: uint8 [N, 3072]; each row is the red plane, then the green, then
      the blue, each 32 x 32 in row-major order.

  Returns:
    uint8 [N, 32, 32, 3], C-contiguous.
  """
  size = data_input.IMAGE_SIZE
  planes = rows.reshape(-1, data_input.CHANNELS, size, size)
  return np.ascontiguousarray(planes.transpose(0, 2, 3, 1))


def check_labels(values, key, classes, count, label):
  """Checks one label list of a batch and returns it as int64.

  Args:
    values: the batch's list or array of labels.
    key: its key, for messages.
    classes: labels must lie in [0, classes).
    count: the number of images in the batch.
    label: the batch's name, for messages.

  Returns:
    int64 numpy array [count].

  Raises:
    PrepareError: on a wrong length, non-integers or a label out of range.
  """
  labels = np.asarray(values)
  if labels.ndim != 1 or len(labels) != count:
    raise PrepareError('%s: %s holds %s labels for %d images; the counts '
                       'must match.' % (label, key, labels.shape, count))

  if count and not np.issubdtype(labels.dtype, np.integer):
    raise PrepareError('%s: %s holds %s values, not integer labels.'
                       % (label, key, labels.dtype))

  labels = labels.astype(np.int64)
  outside = labels[(labels < 0) | (labels >= classes)]
  if len(outside):
    raise PrepareError('%s: %s holds %d, outside 0..%d; is this the archive '
                       'it claims to be?' % (label, key, outside[0],
                                             classes - 1))
  return labels


def parse_batch(batch, dataset, label):
  """Checks one unpickled batch and returns its images and labels.

  Args:
    batch: dict from load_batch().
    dataset: a Dataset.
    label: the batch's name, for messages.

  Returns:
    A Split of uint8 images [N, 32, 32, 3] and int64 labels [N].

  Raises:
    PrepareError: on a missing key, wrong shapes or types, or bad labels.
  """
  keys = ['data', dataset.fine_key]
  if dataset.coarse_key:
    keys.append(dataset.coarse_key)
  missing = [key for key in keys if key not in batch]
  if missing:
    raise PrepareError('%s has no %s; a %s batch holds %s, found %s.'
                       % (label, ', '.join(missing), dataset.title,
                          ', '.join(keys), ', '.join(sorted(batch))))

  rows = batch['data']
  if (not isinstance(rows, np.ndarray) or rows.dtype != np.uint8
      or rows.ndim != 2 or rows.shape[1] != ROW_LENGTH):
    raise PrepareError(
        '%s: data must be a uint8 array [N, %d]; found %s %s.'
        % (label, ROW_LENGTH, getattr(rows, 'dtype', type(rows).__name__),
           getattr(rows, 'shape', '')))

  count = rows.shape[0]
  fine = check_labels(batch[dataset.fine_key], dataset.fine_key,
                      dataset.fine_classes, count, label)
  if dataset.coarse_key:
    coarse = check_labels(batch[dataset.coarse_key], dataset.coarse_key,
                          dataset.coarse_classes, count, label)
  else:
    coarse = np.full(count, NO_COARSE_LABEL, dtype=np.int64)

  return Split(rows_to_images(rows), fine, coarse)


def file_md5(path):
  """Returns the hex md5 of a file, read in 1 MiB pieces."""
  digest = hashlib.md5()
  with open(path, 'rb') as stream:
    for piece in iter(lambda: stream.read(1 << 20), b''):
      digest.update(piece)
  return digest.hexdigest()


def report_md5(path, dataset):
  """Logs an archive's md5 and whether it is the official one.

  A different checksum is only a warning: the archive may be a repacked
  or reduced copy, and its structure is checked anyway.

  Args:
    path: the archive.
    dataset: the Dataset its contents look like.

  Returns:
    True when the md5 is the official archive's.
  """
  digest = file_md5(path)
  if digest == dataset.md5:
    logging.info('md5 of %s: %s, the official %s archive.', path, digest,
                 dataset.archive)
    return True

  logging.warning('md5 of %s: %s, not the official %s (%s); converting it '
                  'anyway. Download the archive again if it should be the '
                  'official one.', path, digest, dataset.archive,
                  dataset.md5)
  return False


def detect_dataset(names, where):
  """Tells CIFAR-100 from CIFAR-10 by the batch files present.

  Args:
    names: the file names available.
    where: the source, for messages.

  Returns:
    The matching Dataset.

  Raises:
    PrepareError: if the files fit neither layout, both, or only part of
      one.
  """
  names = set(names)
  candidates = []
  for dataset in DATASETS:
    expected = [name for split in SPLITS
                for name in dataset.split_files[split]]
    if names.intersection(expected):
      candidates.append((dataset, expected))

  if not candidates:
    raise PrepareError(
        '%s holds neither CIFAR-100 batches (train, test) nor CIFAR-10 '
        'batches (data_batch_1..5, test_batch); point --source at '
        'cifar-100-python.tar.gz, cifar-10-python.tar.gz or the folder '
        'either extracts to.' % where)
  if len(candidates) > 1:
    raise PrepareError('%s holds both CIFAR-100 and CIFAR-10 batches; point '
                       '--source at one of them.' % where)

  dataset, expected = candidates[0]
  missing = [name for name in expected if name not in names]
  if missing:
    raise PrepareError('%s looks like %s but has no %s; download the '
                       'archive again.' % (where, dataset.title,
                                           ', '.join(missing)))
  return dataset


def _folder_reader(source):
  """Finds the batches in a folder; returns (names, read, where)."""
  folder = source
  names = visible_files(folder)
  if not any(name in names for dataset in DATASETS
             for split in SPLITS for name in dataset.split_files[split]):
    # Also accept the folder the archive was extracted into.
    inner = [os.path.join(source, dataset.folder) for dataset in DATASETS
             if os.path.isdir(os.path.join(source, dataset.folder))]
    if len(inner) == 1:
      folder = inner[0]
      names = visible_files(folder)

  def read(name):
    with open(os.path.join(folder, name), 'rb') as stream:
      return stream.read()

  return names, read, folder


def _tar_reader(archive, source):
  """Reads the batches of an open tar; returns (names, read, where).

  The archive is read once, front to back: a gzip stream cannot seek back
  cheaply.
  """
  batch_names = set(name for dataset in DATASETS for split in SPLITS
                    for name in dataset.split_files[split])
  found = {}
  for member in archive:
    name = os.path.basename(member.name)
    if member.isfile() and name in batch_names:
      found.setdefault(name, []).append(
          (member.name, archive.extractfile(member).read()))

  def read(name):
    if len(found[name]) > 1:
      raise PrepareError('%s holds %s more than once (%s); it must hold one '
                         'CIFAR archive.' % (source, name, ', '.join(
                             path for path, _ in found[name])))
    return found[name][0][1]

  return sorted(found), read, source


def read_source(source):
  """Reads and checks every batch of a CIFAR archive or folder.

  Args:
    source: cifar-100-python.tar.gz, cifar-10-python.tar.gz (or another
      tar), or the folder of the extracted batches (or the folder holding
      that one).

  Returns:
    (dataset, {'train': Split, 'test': Split}).

  Raises:
    PrepareError: if the source is missing, unreadable or not CIFAR.
  """
  if not source or not os.path.exists(source):
    raise PrepareError('--source %r does not exist; download %s (or %s) '
                       'and pass its path.' % (source, CIFAR100.archive,
                                               CIFAR10.archive))

  if os.path.isdir(source):
    names, read, where = _folder_reader(source)
    dataset = detect_dataset(names, where)
    logging.info('Reading %s batches from the folder %s (a folder has no '
                 'md5 to check; the official %s has %s).', dataset.title,
                 where, dataset.archive, dataset.md5)
    return dataset, _read_splits(dataset, read, where)

  try:
    if not tarfile.is_tarfile(source):
      raise PrepareError('--source %s is neither a folder nor a tar archive;'
                         ' pass %s or %s as downloaded, or the folder it '
                         'extracts to.' % (source, CIFAR100.archive,
                                           CIFAR10.archive))
    with tarfile.open(source, 'r:*') as archive:
      names, read, where = _tar_reader(archive, source)
      dataset = detect_dataset(names, where)
      report_md5(source, dataset)
      return dataset, _read_splits(dataset, read, where)
  except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
    raise PrepareError('%s is damaged or truncated (%s); download it again.'
                       % (source, error))


def _read_splits(dataset, read, where):
  """Reads, checks and joins the batches of each split."""
  splits = {}
  for split in SPLITS:
    parts = []
    for name in dataset.split_files[split]:
      label = '%s/%s' % (where, name)
      parts.append(parse_batch(load_batch(read(name), label), dataset, label))

    images = np.concatenate([part.images for part in parts])
    if not len(images):
      raise PrepareError('%s: the %s split holds no images.' % (where, split))

    splits[split] = Split(images,
                          np.concatenate([part.fine_labels for part in parts]),
                          np.concatenate([part.coarse_labels
                                          for part in parts]))
  return splits


def visible_files(folder):
  """Returns the sorted names of the files the trainer would read.

  Hidden files and sub-folders are left out, as data_input leaves them
  out; a folder that does not exist holds none.
  """
  if not os.path.isdir(folder):
    return []
  return sorted(name for name in os.listdir(folder)
                if not name.startswith('.')
                and os.path.isfile(os.path.join(folder, name)))


def shard_name(name, index, count):
  """Returns e.g. 'cifar100-train-00003-of-00010.tfrecord'."""
  return '%s-%05d-of-%05d.tfrecord' % (name, index, count)


def shard_bounds(count, shards):
  """Splits count records into contiguous shards of near-equal size.

  Args:
    count: number of records.
    shards: number of shards, 1..count.

  Returns:
    A list of (start, end) index pairs; sizes differ by at most one.

  Raises:
    PrepareError: if shards is not in 1..count.
  """
  if not 1 <= shards <= count:
    raise PrepareError('cannot split %d images into %d shards; use 1 to %d '
                       'shards.' % (count, shards, count))
  return [(index * count // shards, (index + 1) * count // shards)
          for index in range(shards)]


def check_output_folder(folder, overwrite):
  """Checks that shards can be written to a folder without mixing.

  The trainer reads every file in its data folder, so a folder must be
  empty (hidden files and sub-folders aside). With overwrite, a folder may
  hold shards that this module wrote, which are replaced; any other file
  still stops the run.

  Args:
    folder: the output folder; it need not exist.
    overwrite: whether existing shards may be replaced.

  Returns:
    The names of the existing shards, to remove once the new ones are
    written.

  Raises:
    PrepareError: if the folder cannot be used.
  """
  if not os.path.exists(folder):
    return []
  if not os.path.isdir(folder):
    raise PrepareError('%s exists and is not a folder; choose a folder for '
                       'the records.' % folder)

  existing = visible_files(folder)
  if existing and not overwrite:
    raise PrepareError(
        '%s already holds %d file(s) (%s); the trainer reads every file '
        'there, so new shards would mix with them. Choose an empty folder, '
        'or pass --overwrite to replace shards written before.'
        % (folder, len(existing), _some(existing)))

  foreign = [name for name in existing if not SHARD_PATTERN.match(name)]
  if foreign:
    raise PrepareError(
        '%s holds %s, which this tool did not write; --overwrite only '
        'replaces its own shards. Move those files away or choose an empty '
        'folder.' % (folder, _some(foreign)))
  return existing


def _some(names, limit=3):
  """Lists the first few names, e.g. 'a, b, c and 4 more'."""
  shown = ', '.join(names[:limit])
  if len(names) > limit:
    shown += ' and %d more' % (len(names) - limit)
  return shown


def _write_records(path, images, fine_labels, coarse_labels):
  """Writes records to path through a hidden temporary file."""
  folder, base = os.path.split(path)
  temporary = os.path.join(folder, '.%s.%d.tmp' % (base, os.getpid()))
  try:
    with tf.io.TFRecordWriter(temporary) as writer:
      for image, fine, coarse in zip(images, fine_labels, coarse_labels):
        example = data_input.make_example(image, fine, coarse)
        # Sorted feature keys: the same record always gives the same bytes.
        writer.write(example.SerializeToString(deterministic=True))
    os.replace(temporary, path)
  except BaseException:
    if os.path.exists(temporary):
      os.remove(temporary)
    raise


def write_shards(folder, name, split, shards):
  """Writes one split as shards named NAME-00000-of-0000S.tfrecord.

  Records keep the split's order; shard i holds a contiguous block.

  Args:
    folder: output folder, created if missing.
    name: the shards' name prefix, e.g. 'cifar100-train'.
    split: a Split.
    shards: number of shards.

  Returns:
    A list of (path, record count), one per shard.

  Raises:
    PrepareError: on a bad shard count or a folder that cannot be written.
  """
  bounds = shard_bounds(len(split.images), shards)

  written = []
  try:
    os.makedirs(folder, exist_ok=True)
    for index, (start, end) in enumerate(bounds):
      path = os.path.join(folder, shard_name(name, index, shards))
      _write_records(path, split.images[start:end],
                     split.fine_labels[start:end],
                     split.coarse_labels[start:end])
      logging.info('Wrote %s: %d images (%d to %d).', path, end - start,
                   start, end - 1)
      written.append((path, end - start))
  except (OSError, tf.errors.OpError) as error:
    raise PrepareError('cannot write the shards in %s: %s'
                       % (folder, getattr(error, 'message', error)))
  return written


def remove_stale_shards(folder, old_names, written):
  """Removes shards of an earlier run that the new ones did not replace."""
  kept = set(os.path.basename(path) for path, _ in written)
  for name in old_names:
    if name not in kept:
      os.remove(os.path.join(folder, name))
      logging.info('Removed %s, a shard of an earlier run.',
                   os.path.join(folder, name))


def describe_labels(labels, classes):
  """Returns e.g. '100 classes, 498 to 502 images each'."""
  counts = np.bincount(labels, minlength=classes)
  return '%d classes, %d to %d images each' % (
      np.count_nonzero(counts), counts.min(), counts.max())


def convert(source, train_dir, test_dir, train_shards=DEFAULT_SHARDS['train'],
            test_shards=DEFAULT_SHARDS['test'], overwrite=False):
  """Converts a CIFAR archive or folder into sharded TFRecords.

  Nothing is written until the whole source has been read and checked.

  Args:
    source: the archive or its folder (see read_source()).
    train_dir: folder for the training shards.
    test_dir: folder for the test shards.
    train_shards: number of training shards.
    test_shards: number of test shards.
    overwrite: replace shards that an earlier run wrote.

  Returns:
    (dataset, {'train': [(path, count), ...], 'test': [...]}).

  Raises:
    PrepareError: on a bad source, shard count or output folder.
  """
  folders = {'train': train_dir, 'test': test_dir}
  shard_counts = {'train': train_shards, 'test': test_shards}
  if os.path.realpath(train_dir) == os.path.realpath(test_dir):
    raise PrepareError('--train_dir and --test_dir are both %s; the splits '
                       'need separate folders, e.g. ./train_data and '
                       './test_data.' % train_dir)

  old_shards = {split: check_output_folder(folders[split], overwrite)
                for split in SPLITS}

  dataset, splits = read_source(source)
  for split in SPLITS:
    images = len(splits[split].images)
    shard_bounds(images, shard_counts[split])
    if images != dataset.split_sizes[split]:
      logging.warning('The %s split holds %d images; the official %s has '
                      '%d.', split, images, dataset.title,
                      dataset.split_sizes[split])

  written = {}
  for split in SPLITS:
    data = splits[split]
    summary = 'fine labels: %s' % describe_labels(data.fine_labels,
                                                  dataset.fine_classes)
    if dataset.coarse_key:
      summary += '; coarse labels: %s' % describe_labels(
          data.coarse_labels, dataset.coarse_classes)
    logging.info('%s %s: %d images in %d shards in %s; %s.', dataset.title,
                 split, len(data.images), shard_counts[split],
                 folders[split], summary)

    written[split] = write_shards(folders[split],
                                  '%s-%s' % (dataset.name, split), data,
                                  shard_counts[split])
    remove_stale_shards(folders[split], old_shards[split], written[split])
  return dataset, written


def next_steps(dataset, train_dir, test_dir):
  """Returns the commands that train and evaluate on the new records.

  train_1p.sh and test_1p.sh read ./train_data and ./test_data beside
  them; other folders are passed as absolute paths, since the scripts
  change to their own folder.
  """
  here = os.path.dirname(os.path.abspath(__file__))
  extra = '' if dataset is CIFAR100 else ' --class_num 10'
  commands = []
  for script, folder, default in (('train_1p.sh', train_dir, 'train_data'),
                                  ('test_1p.sh', test_dir, 'test_data')):
    folder = os.path.abspath(folder)
    prefix = ('' if folder == os.path.join(here, default)
              else 'DATA_PATH=%s ' % folder)
    commands.append('%sbash %s%s' % (prefix, script, extra))
  return 'Train with: %s, then evaluate with: %s' % tuple(commands)


def define_flags(flag_values=FLAGS):
  """Defines the command-line flags.

  Only the command line needs them; other modules import the writer from
  here without taking these flags along.

  Args:
    flag_values: the absl FlagValues to define them in.
  """
  flags.DEFINE_string(
      'source', None,
      'The official CIFAR "python version" download: cifar-100-python.tar.gz'
      ', cifar-10-python.tar.gz, or the folder it extracts to.',
      flag_values=flag_values)
  flags.DEFINE_string(
      'train_dir', None,
      'Folder for the training shards, e.g. ./train_data (what train_1p.sh '
      'reads). Created if missing; must hold no other files.',
      flag_values=flag_values)
  flags.DEFINE_string(
      'test_dir', None,
      'Folder for the test shards, e.g. ./test_data (what test_1p.sh '
      'reads). Created if missing; must hold no other files.',
      flag_values=flag_values)
  flags.DEFINE_integer(
      'train_shards', DEFAULT_SHARDS['train'],
      'Number of TFRecord files for the training split.', lower_bound=1,
      flag_values=flag_values)
  flags.DEFINE_integer(
      'test_shards', DEFAULT_SHARDS['test'],
      'Number of TFRecord files for the test split.', lower_bound=1,
      flag_values=flag_values)
  flags.DEFINE_boolean(
      'overwrite', False,
      'Replace the shards of an earlier run in --train_dir and --test_dir. '
      'Files this tool did not write are never replaced.',
      flag_values=flag_values)

  for name, example in (('source', 'cifar-100-python.tar.gz'),
                        ('train_dir', './train_data'),
                        ('test_dir', './test_data')):
    flags.register_validator(
        name, bool, message='--%s is required, e.g. --%s %s.'
        % (name, name, example), flag_values=flag_values)


def main(argv):
  if command_line.stray_arguments(argv):
    return 2

  try:
    dataset, written = convert(FLAGS.source, FLAGS.train_dir, FLAGS.test_dir,
                               FLAGS.train_shards, FLAGS.test_shards,
                               FLAGS.overwrite)
  except PrepareError as error:
    logging.error('%s', error)
    return 1

  logging.info('Done: %s, %d train and %d test images. %s.', dataset.title,
               sum(count for _, count in written['train']),
               sum(count for _, count in written['test']),
               next_steps(dataset, FLAGS.train_dir, FLAGS.test_dir))
  return 0


if __name__ == '__main__':
  define_flags()
  app.run(main, argv=command_line.join_boolean_values(
      sys.argv, command_line.boolean_flag_names(FLAGS)))
