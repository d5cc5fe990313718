"""The Ascend ModelZoo launch scripts in test/: summary lines and logs."""

import os
import platform
import re
import subprocess
import sys

import pytest

from conftest import REPO_ROOT
from tf_compat import tf

SCRIPTS = os.path.join(REPO_ROOT, 'test')
TINY = ['--depths=10', '--ks=1', '--class_num=10', '--batch_size=4',
        '--image_num=48', '--learning_rate=0.05']
DEVICE = '3'
SUMMARY_TITLE = '------------------ Final result ------------------'


def run_modelzoo(script, cwd, *args):
  """Runs test/<script> with bash from cwd on device DEVICE.

  The scripts call `python3`; this interpreter's folder comes first on
  PATH so that they use it.

  Returns:
    (exit code, stdout, stderr).
  """
  env = dict(os.environ, ASCEND_DEVICE_ID=DEVICE)
  env['PATH'] = os.path.dirname(sys.executable) + os.pathsep + env['PATH']
  result = subprocess.run(
      ['bash', os.path.join(SCRIPTS, script)] + list(args), cwd=cwd, env=env,
      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=300)
  return result.returncode, result.stdout, result.stderr


def progress_lines(train_log):
  """The training's progress lines, as (prefix, loss, accuracy, fps)."""
  pattern = re.compile(
      r'^(Epoch \d+, step \d+), train loss = ([0-9.]+), train accuracy = '
      r'([0-9.]+)%, lr = [^,]+, ([0-9.]+) images/sec, ETA \S+$')
  with open(train_log) as stream:
    return [pattern.match(line).groups() for line in stream
            if line.startswith('Epoch ')]


def summary(stdout):
  """The values of the ModelZoo block that ends stdout."""
  lines = stdout.splitlines()[-4:]
  assert lines[0] == SUMMARY_TITLE
  keys = ['Final Performance images/sec', 'Final Train Accuracy',
          'E2E Training Duration sec']
  assert [line.split(' : ')[0] for line in lines[1:]] == keys
  return [line.split(' : ')[1] for line in lines[1:]]


def read_lines(path):
  with open(path) as stream:
    return stream.read().splitlines()


@pytest.fixture(scope='module')
def perf_run(tmp_path_factory, train_folder):
  """Runs the performance script for 24 steps from a folder outside the repo.

  The data path is relative to that folder. Returns (output folder, exit
  code, stdout, stderr).
  """
  cwd = str(tmp_path_factory.mktemp('elsewhere'))
  output = str(tmp_path_factory.mktemp('modelzoo'))
  code, out, err = run_modelzoo(
      'train_performance_1p.sh',
      cwd, '--data_path=' + os.path.relpath(train_folder, cwd),
      '--train_steps=24', '--output_dir=' + output, *TINY)
  return output, code, out, err


def test_performance_script_prints_the_summary_and_writes_the_case_log(
    perf_run):
  output, code, out, err = perf_run
  assert code == 0, out + err
  device_dir = os.path.join(output, DEVICE)

  logged = progress_lines(os.path.join(device_dir, 'train_3.log'))
  assert [line[0] for line in logged] == ['Epoch 1, step 10',
                                          'Epoch 2, step 10']
  # The first window holds graph compilation and is left out.
  fps = '%.2f' % float(logged[1][3])
  accuracy = '%.4f' % (float(logged[1][2]) / 100)
  assert summary(out)[:2] == [fps, accuracy]
  seconds = summary(out)[2]
  assert re.match(r'^\d+$', seconds)

  case = 'WideResNet_bs4_1p_perf'
  assert read_lines(os.path.join(device_dir, case + '.log')) == [
      'Network = WideResNet',
      'RankSize = 1',
      'BatchSize = 4',
      'DeviceType = %s' % platform.machine(),
      'CaseName = %s' % case,
      'ActualFPS = %s' % fps,
      'TrainingTime = %.2f' % (4 * 1000 / float(fps)),
      'ActualLoss = %s' % logged[1][1],
      'E2ETrainingTime = %s' % seconds,
  ]
  assert read_lines(os.path.join(device_dir, 'train_%s_loss.txt' % case)) == [
      line[1] for line in logged]


def test_performance_script_runs_exactly_the_fixed_steps(perf_run):
  output, code, out, err = perf_run
  assert code == 0, out + err

  prefix = tf.train.latest_checkpoint(os.path.join(output, DEVICE, 'ckpt'))
  assert tf.train.load_checkpoint(prefix).get_tensor('global_step') == 24
  assert 'batch 4, 2 epoch(s), max steps 24' in out


def test_full_script_fine_tunes_and_reports_the_accuracy_case(
    perf_run, train_folder, tmp_path):
  perf_output, code, out, err = perf_run
  assert code == 0, out + err
  checkpoint = tf.train.latest_checkpoint(
      os.path.join(perf_output, DEVICE, 'ckpt'))
  output = str(tmp_path / 'out')

  code, out, err = run_modelzoo(
      'train_full_1p.sh', REPO_ROOT, '--data_path=' + train_folder,
      '--ckpt_path=' + checkpoint, '--train_epochs=1',
      '--output_dir=' + output, *TINY)

  assert code == 0, out + err
  device_dir = os.path.join(output, DEVICE)
  train_log = os.path.join(device_dir, 'train_3.log')
  assert 'Fine-tuning from %s' % checkpoint in '\n'.join(
      read_lines(train_log))
  logged = progress_lines(train_log)
  assert [line[0] for line in logged] == ['Epoch 1, step 10']
  fps = '%.2f' % float(logged[0][3])
  accuracy = '%.4f' % (float(logged[0][2]) / 100)
  assert summary(out)[:2] == [fps, accuracy]

  case_log = read_lines(os.path.join(device_dir, 'WideResNet_bs4_1p_acc.log'))
  assert [line.split(' = ')[0] for line in case_log] == [
      'Network', 'RankSize', 'BatchSize', 'DeviceType', 'CaseName',
      'ActualFPS', 'TrainingTime', 'TrainAccuracy', 'ActualLoss',
      'E2ETrainingTime']
  assert case_log[4] == 'CaseName = WideResNet_bs4_1p_acc'
  assert case_log[7] == 'TrainAccuracy = %s' % accuracy


@pytest.mark.parametrize('args,message', [
    ([], '--data_path is required'),
    (['--data_path=/nonexistent/train'],
     '--data_path=/nonexistent/train is not a folder'),
    (['--data_path=.', '--batch_size=0'],
     '--batch_size=0 must be an integer >= 1.'),
    (['--data_path=.', '--train_steps=5'], '--train_steps=5 is too few'),
    (['--data_path=.', '--over_dump=maybe'],
     '--over_dump=maybe must be True or False.'),
    (['--data_path', '.'], 'option --data_path needs its value after'),
    (['--data_path=.', '--epochs=3'], 'unknown option --epochs'),
])
def test_bad_options_stop_before_training(tmp_path, args, message):
  code, out, err = run_modelzoo('train_performance_1p.sh', str(tmp_path),
                                '--output_dir=' + str(tmp_path), *args)

  assert code == 1
  assert err.startswith('[Error] train_performance_1p.sh: ')
  assert message in err
  assert out == ''
  assert os.listdir(str(tmp_path)) == []


def test_help_lists_the_options():
  code, out, _ = run_modelzoo('train_full_1p.sh', REPO_ROOT, '--help')

  assert code == 0
  assert out.startswith('usage: bash train_full_1p.sh --data_path=FOLDER')
  for option in ('--ckpt_path', '--train_epochs', '--train_steps',
                 '--precision_mode', '--over_dump', '--profiling'):
    assert '\n  %s ' % option in out
