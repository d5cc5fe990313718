"""Data-parallel training: two real workers on localhost, HCCL by stand-in."""

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from conftest import make_images
from conftest import REPO_ROOT
from conftest import write_records
import data_input
import distributed
import graphs
import npu_bridge_standin
from tf_compat import tf

LAUNCHER = os.path.join(REPO_ROOT, 'train_multiworker.sh')
SCRIPT = os.path.join(REPO_ROOT, 'run_wideresnet.py')
# Dropout and augmentation off and a fixed seed, so the runs compare.
SETTINGS = ['--depths', '10', '--ks', '1', '--class_num', '10',
            '--image_num', '96', '--do_train', 'True', '--epoch', '2',
            '--augmentation', 'none', '--dropout_rate', '0', '--seed', '7',
            '--learning_rate', '0.02', '--lr_scaling', 'none']


def run(args, env=None):
  result = subprocess.run(args, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=400, env=env)
  return result.returncode, result.stdout, result.stderr


def epochs(output):
  with open(os.path.join(output, 'metrics.jsonl')) as stream:
    return [json.loads(line) for line in stream]


def fingerprint(log, rank):
  found = re.search(r'Rank %d of 2 finished at global step (\d+); weights '
                    r'fingerprint ([0-9a-f]{40})' % rank, log)
  assert found, log[-2000:]
  return int(found.group(1)), found.group(2)


@pytest.fixture(scope='module')
def records(tmp_path_factory):
  """96 records: 12 global batches of 8."""
  images, labels = make_images(96, seed=11)
  return write_records(str(tmp_path_factory.mktemp('records')), images,
                       labels, shards=3)


@pytest.fixture(scope='module')
def single_run(tmp_path_factory, records):
  """One process at batch 8: the reference."""
  output = str(tmp_path_factory.mktemp('single'))
  code, _, err = run([sys.executable, SCRIPT, '--data_path', records,
                      '--output_path', output, '--batch_size', '8'] +
                     SETTINGS)
  assert code == 0, err
  return output


def test_two_workers_match_one_process_at_the_same_global_batch(
    tmp_path, records, single_run):
  output = str(tmp_path / 'run')
  logs = str(tmp_path / 'logs')
  env = dict(os.environ, WORKER_LOG_DIR=logs)
  code, out, err = run(['bash', LAUNCHER, '2', '--data_path', records,
                        '--output_path', output, '--batch_size', '4'] +
                       SETTINGS, env=env)
  assert code == 0, err

  with open(os.path.join(logs, 'worker-1.log')) as stream:
    worker_log = stream.read()
  step_0, weights_0 = fingerprint(err, 0)
  step_1, weights_1 = fingerprint(worker_log, 1)

  # Both processes end with the same weights, moving statistics included,
  # after as many steps as one process with the same global batch.
  assert weights_0 == weights_1
  assert step_0 == step_1 == 24
  single, double = epochs(single_run), epochs(output)
  assert [e['global_step'] for e in double] == [12, 24]
  assert [e['global_step'] for e in single] == [12, 24]
  # Batch-norm statistics come from 4 images per worker instead of 8, and
  # the batches are composed differently, so the losses agree only closely.
  for one, two in zip(single, double):
    print('epoch %d loss: one process %.4f, two workers %.4f' % (
        one['epoch'], one['train_loss'], two['train_loss']))
    assert abs(one['train_loss'] - two['train_loss']) < 0.1, (one, two)

  # Only rank 0 writes files and the progress lines; rank 1 logs its own
  # throughput.
  assert len([n for n in os.listdir(output) if n.startswith('events')]) == 1
  assert [line.split(',')[:2] for line in out.splitlines()] == [
      ['Epoch 1', ' step 10'], ['Epoch 2', ' step 10']]
  assert 'Rank 1 of 2 (collective): batch 4 here, 8 in all' in worker_log
  assert re.search(r'Rank 1: epoch 2, step 10, [0-9.]+ images/sec',
                   worker_log)
  assert not [line for line in worker_log.splitlines()
              if line.startswith('Epoch ')]


def test_a_signal_to_the_launcher_stops_both_workers_together(
    tmp_path, records):
  output = str(tmp_path / 'run')
  env = dict(os.environ, WORKER_LOG_DIR=str(tmp_path / 'logs'))
  settings = list(SETTINGS)
  settings[settings.index('--epoch') + 1] = '200'
  process = subprocess.Popen(
      ['bash', LAUNCHER, '2', '--data_path', records, '--output_path',
       output, '--batch_size', '4'] + settings, cwd=REPO_ROOT, env=env,
      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, start_new_session=True)
  try:
    assert process.stdout.readline().startswith('Epoch 1, step 10,')
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=180)
  finally:
    if process.poll() is None:
      os.killpg(process.pid, signal.SIGKILL)

  assert process.returncode == 128 + signal.SIGTERM, err
  assert 'Run the same command to resume.' in err
  step = int(tf.train.load_checkpoint(tf.train.latest_checkpoint(
      output)).get_tensor('global_step'))
  assert 10 <= step < 2400
  with open(os.path.join(str(tmp_path / 'logs'), 'worker-1.log')) as stream:
    assert 'Stopped by' in stream.read()


def test_tf_config_is_read_and_checked():
  single = distributed.from_environment(False, {})
  assert single == distributed.SINGLE
  one = json.dumps({'cluster': {'worker': ['localhost:1']},
                    'task': {'type': 'worker', 'index': 0}})
  assert distributed.from_environment(False, {'TF_CONFIG': one}) == (
      distributed.SINGLE)
  with pytest.raises(ValueError, match='TF_CONFIG must look like'):
    distributed.from_environment(False, {'TF_CONFIG': '{"cluster": 1}'})
  bad_index = json.dumps({'cluster': {'worker': ['a:1', 'b:2']},
                          'task': {'type': 'worker', 'index': 2}})
  with pytest.raises(ValueError, match='is not one of the 2 workers'):
    distributed.from_environment(False, {'TF_CONFIG': bad_index})


def test_ascend_ranks_come_from_the_launcher_environment():
  env = {'RANK_SIZE': '8', 'RANK_ID': '3', 'RANK_TABLE_FILE': '8p.json'}
  cluster = distributed.from_environment(True, env)
  assert (cluster.engine, cluster.rank, cluster.size) == ('hccl', 3, 8)
  assert distributed.from_environment(True, dict(env, RANK_SIZE='1')) == (
      distributed.SINGLE)
  with pytest.raises(ValueError, match='RANK_ID=8 is outside'):
    distributed.from_environment(True, dict(env, RANK_ID='8'))
  with pytest.raises(ValueError, match='needs RANK_TABLE_FILE'):
    distributed.from_environment(True, dict(env, RANK_TABLE_FILE=''))
  with pytest.raises(ValueError, match="RANK_ID='x' must be an integer"):
    distributed.from_environment(True, dict(env, RANK_ID='x'))


def test_learning_rate_scaling_rules():
  assert distributed.scaled_learning_rate(0.1, 'linear', 8) == 0.8
  assert distributed.scaled_learning_rate(0.1, 'sqrt', 4) == 0.2
  assert distributed.scaled_learning_rate(0.1, 'none', 8) == 0.1


def test_hccl_wiring(monkeypatch, train_folder):
  calls = npu_bridge_standin.install(monkeypatch)
  cluster = distributed.Cluster('hccl', 3, 8, '', None, None)
  files = data_input.list_record_files(train_folder)

  net = graphs.build_train_graph(files, 4, None, 10, 1, 10, 0.1,
                                 device='npu', precision='mixed',
                                 cluster=cluster)
  with net.graph.as_default():
    variables = tf.global_variables()
    broadcast = distributed.broadcast_from_rank0(variables, cluster)

  # Rank 3 of 8 reads every 8th record from the fourth.
  shard, = [n for n in net.graph.as_graph_def().node
            if n.op == 'ShardDataset']
  constants = {n.name: n.attr['value'].tensor.int64_val[0]
               for n in net.graph.as_graph_def().node if n.op == 'Const'
               and n.attr['value'].tensor.int64_val}
  assert [constants[name] for name in shard.input[1:3]] == [8, 3]

  # The adapter's wrapper averages the gradients; loss scaling knows it.
  wrapper, = calls.named('npu_distributed_optimizer_wrapper')
  assert type(wrapper['optimizer']).__name__ == 'MomentumWOptimizer'
  scaled, = calls.named('NPULossScaleOptimizer')
  assert scaled['is_distributed'] is True

  # Every variable comes from rank 0, moving statistics included.
  sent, = calls.named('broadcast')
  assert sent['root_rank'] == 0
  assert len(sent['tensor']) == len(variables)
  names = [v.op.name for v in variables]
  assert 'batch_normalization/moving_mean' in names
  assert broadcast.type == 'NoOp' and len(broadcast.control_inputs) == len(
      variables)

  # Loss, accuracy and the stop request are agreed over the ranks.
  assert [c['reduction'] for c in calls.named('allreduce')] == [
      'sum', 'sum', 'max']


def test_train_8p_starts_one_process_per_device(tmp_path, train_folder):
  # A stand-in python3 records each process's environment and arguments.
  bin_dir = tmp_path / 'bin'
  bin_dir.mkdir()
  recorder = bin_dir / 'python3'
  recorder.write_text(u'#!/bin/sh\necho "$RANK_ID $ASCEND_DEVICE_ID '
                      u'$RANK_SIZE $RANK_TABLE_FILE $*"\n')
  recorder.chmod(0o755)
  env = dict(os.environ, PATH='%s:%s' % (bin_dir, os.environ['PATH']),
             DATA_PATH=train_folder, LOG_DIR=str(tmp_path / 'logs'),
             RANK_ID_START='8', RANK_SIZE='16', MODEL_PATH='None')

  code, out, err = run(['bash', os.path.join(REPO_ROOT, 'train_8p.sh'),
                        '--epoch', '1'], env=env)

  assert code == 0, err
  assert 'ranks 8-15 of 16 started' in out
  table = os.path.join(REPO_ROOT, '8p.json')
  for device in range(8):
    with open(str(tmp_path / 'logs' / ('train_%d.log' % (8 + device)))) as f:
      words = f.read().split()
    assert words[:4] == [str(8 + device), str(device), '16', table]
    assert words[4:6] == ['run_wideresnet.py', '--model_path']
    assert words[-2:] == ['--epoch', '1']
    assert '--batch_size 32' in ' '.join(words)


def test_the_example_rank_table_lists_eight_devices():
  with open(os.path.join(REPO_ROOT, '8p.json')) as stream:
    table = json.load(stream)
  devices = table['server_list'][0]['device']
  assert [d['rank_id'] for d in devices] == [str(i) for i in range(8)]
  assert [d['device_id'] for d in devices] == [str(i) for i in range(8)]
  assert table['server_count'] == '1' and table['version'] == '1.0'
