"""benchmark.py runs end to end at tiny sizes; its table and JSON are whole.

Only the shape of the output is checked, never a timing. The script runs
in a subprocess: its flags share names with run_wideresnet's, and absl
allows one definition per process.
"""

import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT
import session_config
from tf_compat import tf

SCRIPT = os.path.join(REPO_ROOT, 'benchmark.py')
TINY = ['--depths', '10', '--ks', '1', '--batch_size', '4', '--class_num',
        '10', '--steps', '3', '--warmup_steps', '1', '--rounds', '2',
        '--records', '12']
MODE_KEYS = ['compute_only', 'pipeline', 'feed_dict', 'mixed_pipeline']
LABELS = ['(a) compute only, one constant batch',
          '(b) pipeline: TFRecords, augmentation',
          '(c) feed_dict: the original\'s design',
          '(d) pipeline, --precision mixed']


def run_benchmark(args, temp_folder):
  """Runs benchmark.py with TMPDIR set; returns (exit code, stdout, stderr)."""
  env = dict(os.environ, TMPDIR=temp_folder)
  result = subprocess.run(
      [sys.executable, SCRIPT] + list(args), cwd=REPO_ROOT, env=env,
      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=300)
  return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
  """One tiny run; returns (stdout, stderr, the JSON, the temp folder)."""
  folder = tmp_path_factory.mktemp('benchmark')
  temp_folder = str(folder / 'tmp')
  os.mkdir(temp_folder)
  json_path = str(folder / 'result.json')

  code, out, err = run_benchmark(TINY + ['--json', json_path], temp_folder)

  assert code == 0, err
  with open(json_path) as stream:
    result = json.load(stream)
  return out, err, result, temp_folder


def test_the_json_holds_every_measurement_as_a_positive_float(tiny_run):
  _, _, result, _ = tiny_run

  for key in ['compute_only_img_s', 'pipeline_img_s', 'feed_dict_img_s',
              'mixed_pipeline_img_s', 'eval_img_s']:
    assert isinstance(result[key], float) and result[key] > 0, key
  assert list(result['modes']) == MODE_KEYS
  for key in MODE_KEYS:
    mode = result['modes'][key]
    # 3 timed steps in 2 rounds: 1 and 2.
    assert mode['steps'] == 3
    assert len(mode['round_img_s']) == 2
    assert result[key + '_img_s'] == float(np.median(mode['round_img_s']))
    assert mode['seconds'] > 0 and mode['cpu_seconds'] >= 0
    assert np.isfinite(mode['last_loss'])
  # Only (c) fetches its batches, in part of its time.
  fetching = [key for key in MODE_KEYS if 'fetch_seconds' in result['modes'][
      key]]
  assert fetching == ['feed_dict']
  feed_dict = result['modes']['feed_dict']
  assert 0 < feed_dict['fetch_seconds'] < feed_dict['seconds']


def test_the_ratios_are_those_of_the_measurements(tiny_run):
  _, _, result, _ = tiny_run

  assert result['ratios'] == {
      'b_over_a': result['pipeline_img_s'] / result['compute_only_img_s'],
      'b_over_c': result['pipeline_img_s'] / result['feed_dict_img_s'],
      'd_over_b': result['mixed_pipeline_img_s'] / result['pipeline_img_s'],
  }
  assert result['targets'] == {'b_over_a': 0.95, 'b_over_c': 1.0,
                               'd_over_b': 1.3}


def test_the_json_names_device_versions_and_settings(tiny_run):
  _, _, result, _ = tiny_run

  assert result['device_kind'] == session_config.DEVICE_CPU
  assert result['device'].startswith('cpu: ')
  assert result['tensorflow'] == tf.VERSION
  assert result['python'] == platform.python_version()
  assert result['settings'] == {
      'depths': 10, 'ks': 1, 'batch_size': 4, 'class_num': 10, 'steps': 3,
      'warmup_steps': 1, 'rounds': 2, 'records': 12, 'precision': 'fp32',
      'seed': 1, 'eval_records': 12, 'learning_rate': 0.00016}
  assert len(result['load_average_before']) == 3


def test_each_mode_runs_the_precision_it_claims(tiny_run):
  _, _, result, _ = tiny_run
  mixed = session_config.make_session_config(
      'mixed', device=session_config.DEVICE_CPU)[2]

  assert [result['modes'][key]['precision'] for key in MODE_KEYS] == [
      'fp32', 'fp32', 'fp32', mixed]
  assert result['eval_precision'] == 'fp32'


def test_the_table_shows_the_json_numbers(tiny_run):
  out, _, result, _ = tiny_run
  lines = out.splitlines()

  assert lines[0] == 'WRN-10-1, batch 4, TensorFlow %s, Python %s' % (
      tf.VERSION, platform.python_version())
  assert lines[1] == 'Device: ' + result['device']
  assert lines[2] == ('3 timed steps per mode in 2 interleaved rounds, '
                      'after 1 warm-up steps')
  rows = dict((line[:38].strip(), line[38:].split()) for line in lines
              if line.startswith(('(', 'evaluation ')))
  for key, label in zip(MODE_KEYS, LABELS):
    precision, rate, _, cores = rows[label]
    assert precision == result['modes'][key]['precision']
    assert rate == '%.1f' % result[key + '_img_s']
    assert float(cores) >= 0
  assert rows['evaluation'] == ['fp32', '%.1f' % result['eval_img_s']]

  fetch_ms = 1000.0 * result['modes']['feed_dict']['fetch_seconds'] / 3
  assert '(c) spent %.2f ms a step fetching the batch it fed.' % fetch_ms in (
      lines)
  ratios = [line.split() for line in lines if line.startswith('(b)/')
            or line.startswith('(d)/')]
  assert ratios == [
      ['(b)/(a)', '%.3f' % result['ratios']['b_over_a'], '>=', '0.95'],
      ['(b)/(c)', '%.3f' % result['ratios']['b_over_c'], '>=', '1.00'],
      ['(d)/(b)', '%.3f' % result['ratios']['d_over_b'], '>=', '1.30']]


def test_the_synthetic_records_are_removed(tiny_run):
  _, err, _, temp_folder = tiny_run
  assert 'Writing 12 training and 12 evaluation records' in err
  assert os.listdir(temp_folder) == []


@pytest.mark.parametrize('args,message', [
    (['--steps', '2', '--rounds', '3'], '--rounds must be at most --steps'),
    (['--batch_size', '8', '--records', '4'],
     '--records must be at least --batch_size'),
    (['--json', '/nonexistent/folder/result.json'], '--json must be a file'),
    (['--depths', '12'], '--depths must be 6n+4'),
    (['stray'], 'Unexpected argument(s): stray'),
])
def test_bad_flags_fail_with_a_message(tmp_path, args, message):
  code, out, err = run_benchmark(args, str(tmp_path))

  assert code != 0
  assert message in err
  assert out == ''
