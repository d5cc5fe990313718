"""Resume, signals, the NaN guard, validation and summaries, end to end."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import REPO_ROOT
from tf_compat import tf

SCRIPT = os.path.join(REPO_ROOT, 'run_wideresnet.py')
# 48 records at batch 4: 12 steps an epoch.
TINY = ['--depths', '10', '--ks', '1', '--class_num', '10', '--image_num',
        '48', '--batch_size', '4', '--do_train', 'True']


def command(train_folder, output, *extra):
  return [sys.executable, SCRIPT, '--data_path', train_folder,
          '--output_path', output] + TINY + list(extra)


def run(args):
  result = subprocess.run(args, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=300)
  return result.returncode, result.stdout, result.stderr


def global_step(output):
  latest = tf.train.latest_checkpoint(output)
  return int(tf.train.load_checkpoint(latest).get_tensor('global_step'))


def epochs_logged(output):
  with open(os.path.join(output, 'metrics.jsonl')) as stream:
    return [json.loads(line)['epoch'] for line in stream]


def test_running_the_command_again_resumes_without_repeating_epochs(
    tmp_path, train_folder):
  output = str(tmp_path / 'run')
  code, out, err = run(command(train_folder, output, '--epoch', '1'))
  assert code == 0, err
  assert global_step(output) == 12

  code, out, err = run(command(train_folder, output, '--epoch', '3'))
  assert code == 0, err
  assert 'Resuming from %s/wideresnet.ckpt-12 at global step 12.' % (
      output) in err
  assert not [line for line in out.splitlines()
              if line.startswith('Epoch 1,')]
  assert 'Epoch 3, step 10,' in out
  assert global_step(output) == 36
  assert epochs_logged(output) == [1, 2, 3]

  code, out, err = run(command(train_folder, output, '--epoch', '3'))
  assert code == 0, err
  assert 'already took its 36 steps; nothing to do' in err
  assert epochs_logged(output) == [1, 2, 3]


def test_sigterm_saves_and_the_same_command_finishes_the_run(
    tmp_path, train_folder):
  output = str(tmp_path / 'run')
  args = command(train_folder, output, '--epoch', '40')
  process = subprocess.Popen(args, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE,
                             universal_newlines=True)
  try:
    # Wait for training to be under way, then ask it to stop.
    first_line = process.stdout.readline()
    assert first_line.startswith('Epoch 1, step 10,'), first_line
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
  finally:
    if process.poll() is None:
      process.kill()

  assert process.returncode == 128 + signal.SIGTERM, err
  assert 'Received SIGTERM: stopping after this step.' in err
  assert 'Run the same command to resume.' in err
  assert 'Traceback' not in err
  stopped_at = global_step(output)
  assert 10 <= stopped_at < 480
  assert 'Stopped by SIGTERM; saved %s/wideresnet.ckpt-%d.' % (
      output, stopped_at) in err

  code, out, err = run(args)
  assert code == 0, err
  assert 'at global step %d.' % stopped_at in err
  assert global_step(output) == 480
  assert epochs_logged(output) == list(range(stopped_at // 12 + 1, 41))


def test_a_non_finite_loss_stops_before_saving(tmp_path, train_folder):
  output = str(tmp_path / 'run')
  code, out, err = run(command(
      train_folder, output, '--epoch', '3', '--learning_rate', '1e38',
      '--save_every_steps', '1'))

  assert code == 1
  assert ('the training loss became' in err
          or 'the weights stopped being finite' in err)
  assert 'stopped without saving' in err
  assert 'Traceback' not in err
  bad_step = int(re.search(r'at global step (\d+)', err).group(1))
  # Every step before the bad one was saved; the bad one was not.
  assert global_step(output) == bad_step - 1
  reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(output))
  for name in reader.get_variable_to_shape_map():
    assert np.all(np.isfinite(reader.get_tensor(name))), name


def test_validation_keeps_the_best_checkpoint_and_summaries(
    tmp_path, train_folder, test_folder):
  output = str(tmp_path / 'run')
  code, out, err = run(command(
      train_folder, output, '--epoch', '2', '--eval_data_path', test_folder,
      '--learning_rate', '0.05', '--augmentation', 'none'))
  assert code == 0, err

  with open(os.path.join(output, 'metrics.jsonl')) as stream:
    records = [json.loads(line) for line in stream]
  assert [r['epoch'] for r in records] == [1, 2]
  assert [r['global_step'] for r in records] == [12, 24]
  for record in records:
    assert sorted(record) == [
        'epoch', 'global_step', 'learning_rate', 'seconds', 'train_accuracy',
        'train_loss', 'val_accuracy', 'val_loss']
    # 53 validation images: accuracy is a whole number of them.
    assert round(record['val_accuracy'] * 53, 6) % 1 == 0
    assert record['learning_rate'] == 0.05

  best = max(r['val_accuracy'] for r in records)
  assert 'New best validation accuracy %.4f' % best in err
  assert os.path.exists(os.path.join(output, 'best', 'wideresnet.ckpt.index'))

  with open(os.path.join(output, 'config.json')) as stream:
    config = json.load(stream)
  assert config['eval_data_path'] == test_folder
  assert config['total_steps'] == 24

  tags = set()
  events = [n for n in os.listdir(output) if n.startswith('events.out')]
  for name in events:
    for event in tf.train.summary_iterator(os.path.join(output, name)):
      tags.update(value.tag for value in event.summary.value)
  assert tags == {'train/loss', 'train/accuracy', 'train/learning_rate',
                  'train/images_per_sec', 'validation/loss',
                  'validation/accuracy'}


def test_the_paper_recipe_sets_every_value_and_flags_override_it(
    tmp_path, train_folder):
  output = str(tmp_path / 'run')
  code, out, err = run(command(
      train_folder, output, '--recipe', 'paper', '--epoch', '1',
      '--batch_size', '4', '--max_steps', '2'))
  assert code == 0, err
  with open(os.path.join(output, 'config.json')) as stream:
    config = json.load(stream)
  assert {k: config[k] for k in (
      'learning_rate', 'lr_schedule', 'lr_boundaries', 'lr_decay_factor',
      'momentum', 'nesterov', 'weight_decay', 'weight_decay_mode',
      'dropout_rate', 'augmentation', 'normalization')} == {
          'learning_rate': 0.1, 'lr_schedule': 'step',
          'lr_boundaries': [60, 120, 160], 'lr_decay_factor': 0.2,
          'momentum': 0.9, 'nesterov': True, 'weight_decay': 5e-4,
          'weight_decay_mode': 'l2', 'dropout_rate': 0.3,
          'augmentation': 'paper', 'normalization': 'per_channel'}
  # Given explicitly, so the recipe's 200 epochs and batch 128 give way.
  assert config['epoch'] == 1 and config['batch_size'] == 4
  assert config['total_steps'] == 2


@pytest.mark.parametrize('make_bad,message', [
    (lambda d: os.remove(os.path.join(d, 'part-00.tfrecord')) or open(
        os.path.join(d, 'part-00.tfrecord'), 'w').write('not a record'),
     'part-00.tfrecord is not a readable TFRecord file'),
    (lambda d: open(os.path.join(d, 'part-01.tfrecord'), 'r+b').truncate(
        5000), 'part-01.tfrecord is not a readable TFRecord file'),
])
def test_corrupt_records_fail_before_anything_is_written(
    tmp_path, make_bad, message):
  from conftest import make_images
  from conftest import write_records
  images, labels = make_images(12, seed=9)
  data = write_records(str(tmp_path / 'data'), images, labels, shards=2)
  make_bad(data)
  output = str(tmp_path / 'run')

  code, out, err = run(command(data, output, '--epoch', '1'))

  assert code == 1
  assert message in err
  assert 'Traceback' not in err
  assert not os.path.exists(output)


def test_a_signal_during_a_long_step_is_not_lost(tmp_path, train_folder):
  # The stop flag is read after the step that was running when it came.
  output = str(tmp_path / 'run')
  process = subprocess.Popen(
      command(train_folder, output, '--epoch', '40'), cwd=REPO_ROOT,
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
  try:
    assert process.stdout.readline().startswith('Epoch 1, step 10,')
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)
    _, err = process.communicate(timeout=120)
  finally:
    if process.poll() is None:
      process.kill()
  assert process.returncode == 128 + signal.SIGINT, err
  assert 'Stopped by SIGINT' in err
