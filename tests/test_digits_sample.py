"""The built-in digits sample and the scripts' fallback to it.

The full sample run (WRN-16-2 to >= 0.95 top-1) takes minutes; here the
flow runs two training steps, and a stand-in python3 checks which commands
the scripts choose.
"""

import os
import re
import shutil
import stat
import subprocess
import sys

from absl import flags
import numpy as np
import pytest
from sklearn.datasets import load_digits

from conftest import REPO_ROOT
import digits_sample
import prepare_cifar
from tf_compat import tf

SAMPLE_RUN = (
    'python3 run_wideresnet.py --model_path None --data_path '
    './sample_data/train --output_path ./sample_model_save --depths 16 --ks 2 '
    '--class_num 10 --do_train True --augmentation none --image_num 1437 '
    '--batch_size 32 --epoch 12 --learning_rate 0.05 --lr_schedule cosine')
SAMPLE_EVAL = (
    'python3 run_wideresnet.py --model_path '
    './sample_model_save/wideresnet.ckpt --data_path ./sample_data/test '
    '--depths 16 --ks 2 --class_num 10 --image_num 360 --batch_size 100')
MAKE_SAMPLE = ('python3 digits_sample.py --train_dir ./sample_data/train '
               '--test_dir ./sample_data/test')


@pytest.fixture(scope='module')
def digits():
  return load_digits()


def read_records(folder):
  """Decodes every record of a folder: (images, fine, coarse labels)."""
  images, fine, coarse = [], [], []
  for name in sorted(os.listdir(folder)):
    for data in tf.io.tf_record_iterator(os.path.join(folder, name)):
      feature = tf.train.Example.FromString(data).features.feature
      images.append(np.frombuffer(feature['image'].bytes_list.value[0],
                                  np.uint8).reshape(32, 32, 3))
      fine.append(feature['fine_label'].int64_list.value[0])
      coarse.append(feature['coarse_label'].int64_list.value[0])
  return np.array(images), np.array(fine), np.array(coarse)


def test_images_are_the_digits_as_4x4_blocks_in_three_channels(digits):
  images, labels = digits_sample.load_digit_images()

  assert images.shape == (1797, 32, 32, 3) and images.dtype == np.uint8
  np.testing.assert_array_equal(labels, digits.target)
  for index in (0, 1000, 1796):
    for row, column in ((0, 0), (3, 4), (7, 7)):
      level = digits.images[index, row, column]
      block = images[index, 4 * row:4 * row + 4, 4 * column:4 * column + 4]
      assert (block == int(np.rint(level * 255 / 16))).all()
  # Grey levels 0, 8 and 16 become 0, 128 (127.5 rounded to even) and 255.
  assert sorted(set(np.unique(images)) & {0, 128, 255}) == [0, 128, 255]
  assert images.max() == 255


def test_missing_scikit_learn_is_one_clear_error(monkeypatch):
  monkeypatch.setitem(sys.modules, 'sklearn.datasets', None)

  with pytest.raises(prepare_cifar.PrepareError) as error:
    digits_sample.load_digit_images()

  assert str(error.value) == (
      'the built-in sample needs scikit-learn, which ships the digits; run '
      'pip install -r requirements.txt (or pip install scikit-learn).')


def test_split_is_fixed_stratified_and_complete(digits):
  train, test = digits_sample.split_indices(digits.target)

  assert (len(train), len(test)) == (1437, 360)
  assert test[:8].tolist() == [0, 7, 8, 12, 24, 27, 31, 46]
  assert train[:8].tolist() == [195, 1046, 926, 952, 63, 1745, 1192, 331]
  assert np.bincount(digits.target[test]).tolist() == [36] * 10
  assert sorted(np.concatenate([train, test]).tolist()) == list(range(1797))


def test_sample_is_written_once_then_kept(digits, tmp_path):
  train_dir, test_dir = str(tmp_path / 'train'), str(tmp_path / 'test')
  train, test = digits_sample.split_indices(digits.target)
  images, _ = digits_sample.load_digit_images()

  written = digits_sample.write_sample(train_dir, test_dir)

  assert written == {'train': True, 'test': True}
  assert sorted(os.listdir(train_dir)) == [
      'digits-train-00000-of-00002.tfrecord',
      'digits-train-00001-of-00002.tfrecord']
  assert os.listdir(test_dir) == ['digits-test-00000-of-00001.tfrecord']
  for folder, order in ((train_dir, train), (test_dir, test)):
    pixels, fine, coarse = read_records(folder)
    np.testing.assert_array_equal(pixels, images[order])
    np.testing.assert_array_equal(fine, digits.target[order])
    assert (coarse == -1).all()

  test_shard = os.path.join(test_dir, 'digits-test-00000-of-00001.tfrecord')
  first_bytes = open(test_shard, 'rb').read()
  first_mtime = os.stat(test_shard).st_mtime_ns
  assert digits_sample.write_sample(train_dir, test_dir) == {
      'train': False, 'test': False}
  assert os.stat(test_shard).st_mtime_ns == first_mtime

  # An interrupted run left one training shard: only that split is redone.
  os.remove(os.path.join(train_dir, 'digits-train-00001-of-00002.tfrecord'))
  assert digits_sample.write_sample(train_dir, test_dir) == {
      'train': True, 'test': False}
  assert len(os.listdir(train_dir)) == 2

  assert digits_sample.write_sample(train_dir, test_dir, overwrite=True) == {
      'train': True, 'test': True}
  assert open(test_shard, 'rb').read() == first_bytes


def test_sample_never_mixes_with_other_files(tmp_path):
  train_dir, test_dir = tmp_path / 'train', tmp_path / 'test'
  test_dir.mkdir()
  (test_dir / 'cifar.tfrecord').write_bytes(b'x')

  with pytest.raises(prepare_cifar.PrepareError) as error:
    digits_sample.write_sample(str(train_dir), str(test_dir))

  assert str(error.value) == (
      '%s already holds 1 file(s) (cifar.tfrecord); the trainer reads every '
      'file there, so new shards would mix with them. Choose an empty '
      'folder, or pass --overwrite to replace shards written before.'
      % test_dir)
  assert not train_dir.exists()


def test_flags_default_to_the_sample_folders():
  flag_values = flags.FlagValues()
  digits_sample.define_flags(flag_values)

  flag_values(['digits_sample.py'])
  assert (flag_values.train_dir, flag_values.test_dir,
          flag_values.overwrite) == ('./sample_data/train',
                                     './sample_data/test', False)

  with pytest.raises(flags.IllegalFlagValueError) as error:
    flag_values(['digits_sample.py', '--test_dir='])
  assert str(error.value) == (
      "flag --test_dir=: --test_dir must not be empty; the default is "
      "./sample_data/test.")


@pytest.fixture
def script_copy(tmp_path):
  """A folder with the two scripts and a python3 that prints its command."""
  folder = tmp_path / 'repo'
  folder.mkdir()
  for name in ('train_1p.sh', 'test_1p.sh'):
    shutil.copy(os.path.join(REPO_ROOT, name), str(folder / name))
  bin_dir = tmp_path / 'bin'
  bin_dir.mkdir()
  fake = bin_dir / 'python3'
  fake.write_text(u'#!/bin/sh\necho "RUN python3 $*"\n')
  fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
  return folder, str(bin_dir)


def run_bash(folder, script, *args, **env):
  """Runs a script of folder; returns (exit code, stdout, stderr)."""
  environment = {key: value for key, value in os.environ.items()
                 if key not in ('DATA_PATH', 'MODEL_PATH', 'OUTPUT_PATH')}
  environment.update(env)
  result = subprocess.run(
      ['bash', str(folder / script)] + list(args), env=environment,
      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=600)
  return result.returncode, result.stdout, result.stderr


def commands(stdout):
  return [line[4:] for line in stdout.splitlines() if line.startswith('RUN ')]


def test_train_script_uses_the_sample_without_cifar_data(script_copy):
  folder, bin_dir = script_copy
  path = bin_dir + os.pathsep + os.environ['PATH']

  code, out, _ = run_bash(folder, 'train_1p.sh', '--epoch', '1', PATH=path)

  assert code == 0
  assert commands(out) == [MAKE_SAMPLE, SAMPLE_RUN + ' --epoch 1']
  assert out.splitlines()[0].startswith(
      'train_1p.sh: no CIFAR records in ./train_data, so this trains a '
      'WRN-16-2 on the built-in sample')
  assert ('python3 prepare_cifar.py --source cifar-100-python.tar.gz '
          '--train_dir ./train_data --test_dir ./test_data') in out


@pytest.mark.parametrize('setup,env,data_path', [
    ('train_data', {}, './train_data'),
    ('elsewhere', {'DATA_PATH': 'elsewhere'}, 'elsewhere'),
])
def test_train_script_keeps_the_original_command_with_cifar_data(
    script_copy, setup, env, data_path):
  folder, bin_dir = script_copy
  (folder / setup).mkdir()
  env['PATH'] = bin_dir + os.pathsep + os.environ['PATH']

  code, out, _ = run_bash(folder, 'train_1p.sh', **env)

  assert code == 0
  assert 'sample' not in out
  assert commands(out) == [
      'python3 run_wideresnet.py --model_path None --data_path %s '
      '--output_path ./model_save --depths 28 --ks 10 --do_train True '
      '--image_num 50000 --batch_size 32 --epoch 10 --learning_rate '
      '0.00016' % data_path]


def test_test_script_evaluates_the_sample_model(script_copy):
  folder, bin_dir = script_copy
  path = bin_dir + os.pathsep + os.environ['PATH']

  code, out, err = run_bash(folder, 'test_1p.sh', PATH=path)

  assert (code, commands(out)) == (1, [])
  assert err == ('test_1p.sh: no model trained on the sample in '
                 './sample_model_save; run bash train_1p.sh first.\n')

  (folder / 'sample_model_save').mkdir()
  code, out, _ = run_bash(folder, 'test_1p.sh', PATH=path)

  assert code == 0
  assert commands(out) == [MAKE_SAMPLE, SAMPLE_EVAL]

  (folder / 'test_data').mkdir()
  code, out, _ = run_bash(folder, 'test_1p.sh', PATH=path)

  assert commands(out) == [
      'python3 run_wideresnet.py --model_path ./model_save/wideresnet.ckpt '
      '--data_path ./test_data --depths 28 --ks 10 --image_num 10000 '
      '--batch_size 100']


def test_sample_flow_trains_then_evaluates(tmp_path):
  folder = tmp_path / 'repo'
  folder.mkdir()
  for name in os.listdir(REPO_ROOT):
    if name.endswith(('.py', '.sh')):
      shutil.copy(os.path.join(REPO_ROOT, name), str(folder / name))

  code, out, err = run_bash(folder, 'train_1p.sh', '--max_steps', '2')

  assert code == 0, err
  assert out.splitlines()[-1] == ('train_1p.sh: trained on the digits '
                                  'sample; evaluate with bash test_1p.sh.')
  assert sorted(os.listdir(str(folder / 'sample_data'))) == ['test', 'train']
  assert 'Training on 1437 images from 2 file(s)' in err

  code, out, err = run_bash(folder, 'test_1p.sh')

  assert code == 0, err
  assert re.match(r'wideresnet eval  loss=\d+\.\d{5}   acc=[01]\.\d{4}$',
                  out.splitlines()[-1])
  assert 'on 360 images from 1 file(s)' in err
  assert "The sample's test split is already in ./sample_data/test." in err
