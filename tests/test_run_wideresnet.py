"""The command line end to end: train, evaluate exactly, reject bad flags."""

import os
import subprocess
import sys

import numpy as np
import pytest

import command_line
from conftest import REPO_ROOT
import run_wideresnet
from tf_compat import tf
import wideresnet_model

SCRIPT = os.path.join(REPO_ROOT, 'run_wideresnet.py')
SMALL = ['--depths', '10', '--ks', '1', '--class_num', '10']


def run_script(*args):
  """Runs run_wideresnet.py; returns (exit code, stdout, stderr)."""
  result = subprocess.run(
      [sys.executable, SCRIPT] + list(args), cwd=REPO_ROOT,
      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=300)
  return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope='module')
def trained(tmp_path_factory, train_folder):
  """Trains WRN-10-1 for 2 epochs of 12 steps; returns (folder, stdout)."""
  output = str(tmp_path_factory.mktemp('model_save'))
  code, out, err = run_script(
      '--data_path', train_folder, '--output_path', output,
      '--do_train', 'True', '--image_num', '48', '--batch_size', '4',
      '--epoch', '2', '--learning_rate', '0.05', '--model_path', 'None',
      *SMALL)
  assert code == 0, err
  return output, out, err


def test_training_logs_progress_and_saves_a_checkpoint(trained):
  output, out, err = trained
  lines = [line for line in out.splitlines() if line.startswith('Epoch')]
  assert [line.split(', train loss')[0] for line in lines] == [
      'Epoch 1, step 10', 'Epoch 2, step 10']
  assert 'images/sec, ETA' in lines[0]
  assert 'training from scratch' in err
  assert 'WRN-10-1, 10 classes: 78186 trainable parameters.' in err
  assert 'Device: CPU (npu_bridge is not installed), precision fp32.' in err
  names = sorted(os.listdir(output))
  assert [n for n in names if not n.startswith('events.out.tfevents')] == [
      'checkpoint', 'config.json', 'metrics.jsonl',
      'wideresnet.ckpt-12.data-00000-of-00001', 'wideresnet.ckpt-12.index',
      'wideresnet.ckpt-12.meta', 'wideresnet.ckpt-24.data-00000-of-00001',
      'wideresnet.ckpt-24.index', 'wideresnet.ckpt-24.meta']

  latest = os.path.join(output, 'wideresnet.ckpt-24')
  stored = dict(tf.train.list_variables(latest))
  assert 'output/kernel/MomentumW' in stored
  assert tf.train.load_checkpoint(latest).get_tensor('global_step') == 24


def numpy_reference(prefix, images, labels):
  """Exact loss and accuracy from logits of a separately built graph."""
  with tf.Graph().as_default():
    inputs = tf.placeholder(tf.float32, [None, 32, 32, 3])
    logits = wideresnet_model.wide_resnet(inputs, False, 10, 1, class_num=10)
    with tf.Session() as sess:
      tf.train.Saver().restore(sess, prefix)
      pixels = images.astype(np.float64).reshape(len(images), -1)
      std = np.maximum(pixels.std(axis=1), 1.0 / np.sqrt(pixels.shape[1]))
      standardised = (pixels - pixels.mean(axis=1, keepdims=True)) / std[:,
                                                                        None]
      values = sess.run(logits, {
          inputs: standardised.reshape(images.shape).astype(np.float32)})

  values = values.astype(np.float64)
  shifted = values - values.max(axis=1, keepdims=True)
  log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
  loss = -log_softmax[np.arange(len(labels)), labels].mean()
  correct = int(np.count_nonzero(values.argmax(axis=1) == labels))
  return loss, correct


@pytest.mark.parametrize('batch_size', [7, 53, 64])
def test_evaluation_is_exact_whatever_the_batch_size(
    trained, test_folder, test_images, batch_size):
  output, _, _ = trained
  # The README's path without the step suffix means the newest checkpoint.
  prefix = os.path.join(output, 'wideresnet.ckpt')
  config = run_wideresnet.make_config(
      model_path=prefix, data_path=test_folder, depths=10, ks=1,
      class_num=10, image_num=53, batch_size=batch_size)

  metrics = run_wideresnet.evaluate(config)

  images, labels = test_images
  loss, correct = numpy_reference(os.path.join(output, 'wideresnet.ckpt-24'),
                                  images, labels)
  assert metrics['images'] == 53
  assert metrics['accuracy'] == correct / 53.0
  np.testing.assert_allclose(metrics['loss'], loss, rtol=1e-5)


def test_do_train_false_evaluates_and_prints_the_original_line(
    trained, test_folder):
  output, _, _ = trained
  before = sorted(os.listdir(output))
  code, out, err = run_script(
      '--model_path', os.path.join(output, 'wideresnet.ckpt'),
      '--data_path', test_folder, '--do_train', 'False', '--image_num',
      '10000', '--batch_size', '10', *SMALL)

  assert code == 0, err
  last = out.splitlines()[-1]
  assert last.startswith('wideresnet eval  loss=')
  loss, accuracy = last[len('wideresnet eval  loss='):].split('   acc=')
  assert len(loss.split('.')[1]) == 5 and len(accuracy.split('.')[1]) == 4
  assert '--image_num=10000 but' in err and 'using 53' in err
  assert sorted(os.listdir(output)) == before


@pytest.mark.parametrize('args,message', [
    (['--depths', '27'], '6n+4'),
    (['--ks', '0'], '--ks'),
    (['--learning_rate', '-1'], 'positive'),
    (['--batch_size', '0'], '--batch_size'),
    (['--do_train', 'maybe', '--output_path', '/nonexistent/out'],
     'Unexpected argument(s): maybe'),
    (['stray'], 'Unexpected argument(s): stray'),
    (['--do_train=false', '--model_path', 'None'], 'needs --model_path'),
    (['--do_train', 'true'], 'needs --output_path'),
])
def test_bad_flags_fail_with_a_message(test_folder, args, message):
  code, out, err = run_script('--data_path', test_folder,
                              '--model_path', '/nonexistent/x.ckpt', *args)
  assert code != 0
  assert message in err
  assert 'Traceback' not in err
  assert 'wideresnet eval' not in out


def test_a_missing_checkpoint_is_an_error_not_a_fresh_start(
    tmp_path, train_folder):
  output = str(tmp_path / 'out')
  code, _, err = run_script(
      '--model_path', str(tmp_path / 'missing.ckpt'), '--data_path',
      train_folder, '--output_path', output, '--do_train', 'True', *SMALL)
  assert code == 1
  assert 'no checkpoint at model_path' in err
  assert 'Traceback' not in err
  assert not os.path.exists(output)


def test_join_boolean_values():
  join = command_line.join_boolean_values
  flags = ['do_train']
  assert join(['p', '--do_train', 'False', '--epoch', '1'], flags) == [
      'p', '--do_train=False', '--epoch', '1']
  assert join(['p', '-do_train', 'TRUE'], flags) == ['p', '-do_train=TRUE']
  assert join(['p', '--do_train', '--epoch', '1'], flags) == [
      'p', '--do_train', '--epoch', '1']
  assert join(['p', '--epoch', '1'], flags) == ['p', '--epoch', '1']
  assert join(['p', '--do_train=0', 'x'], flags) == ['p', '--do_train=0', 'x']
  assert join(['p', '--', '--do_train', 'False'], flags) == [
      'p', '--', '--do_train', 'False']
