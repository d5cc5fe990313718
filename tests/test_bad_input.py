"""Bad input: one clear error naming the problem, and nothing written."""

import contextlib
import os

from absl import flags
from absl.testing import flagsaver
import pytest

from conftest import make_images
from conftest import write_records
import data_input
import run_wideresnet
from tf_compat import tf


def tiny_config(**values):
  settings = dict(depths=10, ks=1, class_num=10, batch_size=4, epoch=1,
                  image_num=12, do_train=True)
  settings.update(values)
  return run_wideresnet.make_config(**settings)


def records(folder, count=12, label_offset=0, image_bytes=3072,
            with_label=True):
  """Writes hand-made records, bypassing make_example's own checks."""
  os.makedirs(folder)
  with tf.io.TFRecordWriter(os.path.join(folder, 'data.tfrecord')) as writer:
    for index in range(count):
      feature = {'image': tf.train.Feature(bytes_list=tf.train.BytesList(
          value=[bytes(bytearray(index % 256 for _ in range(image_bytes)))]))}
      if with_label:
        feature['fine_label'] = tf.train.Feature(
            int64_list=tf.train.Int64List(value=[index + label_offset]))
      example = tf.train.Example(features=tf.train.Features(feature=feature))
      writer.write(example.SerializeToString())
  return folder


def assert_fails(config, message):
  with pytest.raises(ValueError) as error:
    if config.do_train:
      run_wideresnet.train(config)
    else:
      run_wideresnet.evaluate(config)
  assert message in str(error.value)
  if config.output_path:
    assert not os.path.exists(config.output_path)
  return str(error.value)


def test_missing_data_path(tmp_path):
  missing = str(tmp_path / 'nowhere')
  assert_fails(tiny_config(data_path=missing,
                           output_path=str(tmp_path / 'out')),
               "data_path %r is not a folder" % missing)


def test_empty_data_path(tmp_path):
  empty = str(tmp_path / 'empty')
  os.makedirs(os.path.join(empty, 'sub'))
  open(os.path.join(empty, '.hidden'), 'w').close()
  assert_fails(tiny_config(data_path=empty, output_path=str(tmp_path / 'o')),
               "data_path %r holds no record files" % empty)


def test_records_of_another_schema(tmp_path):
  data = records(str(tmp_path / 'data'), with_label=False)
  assert_fails(tiny_config(data_path=data, output_path=str(tmp_path / 'o')),
               'data.tfrecord holds records of another schema')


def test_images_of_the_wrong_size(tmp_path):
  data = records(str(tmp_path / 'data'), image_bytes=28 * 28)
  assert_fails(tiny_config(data_path=data, output_path=str(tmp_path / 'o')),
               'data.tfrecord: record 0 has an image of 784 bytes')


@pytest.mark.parametrize('do_train', [True, False])
def test_labels_out_of_range(tmp_path, do_train):
  # Labels 0..11 against 10 classes: record 10 is the first bad one.
  data = records(str(tmp_path / 'data'))
  if do_train:
    config = tiny_config(data_path=data, output_path=str(tmp_path / 'o'))
  else:
    config = tiny_config(data_path=data, do_train=False,
                         model_path=_any_checkpoint(tmp_path))
  assert_fails(config, 'data.tfrecord: record 10 has fine_label 10, outside '
               '[0, 10)')


def _any_checkpoint(tmp_path):
  images, labels = make_images(12, seed=3)
  data = write_records(str(tmp_path / 'good'), images, labels)
  output = str(tmp_path / 'trained')
  run_wideresnet.train(tiny_config(data_path=data, output_path=output,
                                   max_steps=1))
  return os.path.join(output, 'wideresnet.ckpt')


def test_negative_labels(tmp_path):
  data = records(str(tmp_path / 'data'), label_offset=-3)
  assert_fails(tiny_config(data_path=data, output_path=str(tmp_path / 'o')),
               'record 0 has fine_label -3, outside [0, 10)')


def test_output_path_that_is_a_file(tmp_path, train_folder):
  path = str(tmp_path / 'a_file')
  with open(path, 'w') as stream:
    stream.write('keep me')
  with pytest.raises(ValueError, match='is a file; pass a folder'):
    run_wideresnet.train(tiny_config(data_path=train_folder,
                                     output_path=path, image_num=48))
  with open(path) as stream:
    assert stream.read() == 'keep me'


def test_a_checkpoint_of_another_depth(tmp_path, test_folder):
  prefix = _any_checkpoint(tmp_path)
  message = assert_fails(
      tiny_config(data_path=test_folder, model_path=prefix, depths=16,
                  do_train=False, output_path=None),
      'lacks 36 variable(s) the graph needs')
  assert '--depths, --ks and --class_num' in message


def test_resuming_into_a_run_of_another_architecture(tmp_path, train_folder):
  output = str(tmp_path / 'run')
  run_wideresnet.train(tiny_config(data_path=train_folder, output_path=output,
                                   image_num=48, max_steps=1))
  before = sorted(os.listdir(output))

  with pytest.raises(ValueError) as error:
    run_wideresnet.train(tiny_config(data_path=train_folder,
                                     output_path=output, image_num=48,
                                     ks=2))
  assert 'cannot resume the run in output_path %s' % output in str(
      error.value)
  assert 'Use another --output_path' in str(error.value)
  assert sorted(os.listdir(output)) == before


def test_fewer_records_than_a_batch(tmp_path, train_folder):
  assert_fails(tiny_config(data_path=train_folder, batch_size=64,
                           output_path=str(tmp_path / 'o')),
               'holds 48 records, fewer than one global batch of 64 '
               '(--batch_size=64 per process, 1 process(es))')


@contextlib.contextmanager
def parsed(*args):
  """Parses a command line into the global FLAGS, restored afterwards."""
  with flagsaver.flagsaver():
    flags.FLAGS(['prog'] + list(args))
    yield


def test_a_step_schedule_without_boundaries():
  with parsed('--data_path', 'x', '--do_train', '--output_path', 'o',
              '--lr_schedule', 'step'):
    with pytest.raises(ValueError, match='needs --lr_boundaries'):
      run_wideresnet.config_from_flags()


def test_runtime_errors_become_one_line(monkeypatch, capsys):
  def failing_train(config):
    del config
    raise tf.errors.DataLossError(
        None, None, 'corrupted record at 1234\n\tmore detail')

  monkeypatch.setattr(run_wideresnet, 'train', failing_train)
  with parsed('--data_path', 'x', '--do_train', '--output_path', 'o'):
    logged = []
    monkeypatch.setattr(run_wideresnet.logging, 'error',
                        lambda fmt, *args: logged.append(fmt % args))
    assert run_wideresnet.main(['prog']) == 1
  assert logged == ['TensorFlow stopped the run: DataLossError: corrupted '
                    'record at 1234']


def test_check_records_counts_good_records(tmp_path):
  images, labels = make_images(5, seed=8)
  data = write_records(str(tmp_path / 'd'), images, labels)
  files = data_input.list_record_files(data)
  assert data_input.check_records(files, 10) == [5]
