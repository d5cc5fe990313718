"""Freezing a checkpoint into a .pb, and evaluating the .pb exactly."""

import logging
import os
import subprocess
import sys

from absl import flags
import numpy as np
import pytest

from conftest import make_images
from conftest import REPO_ROOT
import data_input
import export_pb
import graphs
import infer_pb
import run_wideresnet
from tf_compat import tf
import wideresnet_model

DEPTHS = 10
KS = 1
CLASSES = 10
# 53 test records in batches of 7: the last batch holds 4 real images.
BATCH = 7

# Every op a frozen WRN may hold, on TF 1.15 and on TF 2.x.
INFERENCE_OPS = frozenset([
    'Const', 'Placeholder', 'Conv2D', 'FusedBatchNorm', 'FusedBatchNormV3',
    'Relu', 'Add', 'AddV2', 'AvgPool', 'Reshape', 'MatMul', 'BiasAdd'])


def run_script(name, *args):
  """Runs a script of the repo; returns (exit code, stdout, stderr)."""
  result = subprocess.run(
      [sys.executable, os.path.join(REPO_ROOT, name)] + list(args),
      cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=300)
  return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory, train_folder):
  """A WRN-10-1 checkpoint as training writes it; returns its prefix.

  It holds the optimizer slots and the global step too. The batch-norm
  parameters and moving statistics are random, away from their initial
  zeros and ones, so a graph that used batch statistics or left a layer out
  would not match.
  """
  files = data_input.list_record_files(train_folder)
  net = graphs.build_train_graph(files, 4, 1, DEPTHS, KS, CLASSES, 0.1)
  rng = np.random.RandomState(3)
  with net.graph.as_default():
    initializer = tf.global_variables_initializer()
    assignments = []
    for var in net.model_variables:
      shape = var.shape.as_list()
      if var.op.name.endswith(('moving_variance', 'gamma')):
        value = rng.uniform(0.5, 2.0, shape)
      elif var.op.name.endswith(('moving_mean', 'beta')):
        value = rng.normal(0.0, 0.5, shape)
      else:
        continue
      assignments.append(var.assign(value.astype(np.float32)))
    saver = tf.train.Saver()

  folder = str(tmp_path_factory.mktemp('checkpoint'))
  with tf.Session(graph=net.graph) as sess:
    sess.run(initializer)
    sess.run(assignments)
    return saver.save(sess, os.path.join(folder, 'wideresnet.ckpt'))


@pytest.fixture(scope='module')
def frozen(checkpoint, tmp_path_factory):
  """The checkpoint frozen at batch BATCH; returns (GraphDef, .pb path)."""
  graph_def, prefix = export_pb.freeze(checkpoint, DEPTHS, KS, CLASSES, BATCH)
  assert prefix == checkpoint
  path = os.path.join(str(tmp_path_factory.mktemp('pb')), 'wrn.pb')
  export_pb.write_graph_def(graph_def, path)
  return graph_def, path


def checkpoint_logits(prefix, images):
  """Logits of the checkpoint in a graph built apart from the export."""
  with tf.Graph().as_default():
    inputs = tf.placeholder(tf.float32, [None, 32, 32, 3])
    logits = wideresnet_model.wide_resnet(inputs, False, DEPTHS, KS,
                                          class_num=CLASSES)
    with tf.Session() as sess:
      tf.train.Saver().restore(sess, prefix)
      return sess.run(logits, {inputs: images})


def pb_logits(graph_def, images):
  """Logits of a frozen graph, fed through `inputx` and read at the end."""
  with tf.Graph().as_default():
    inputs, logits = tf.import_graph_def(
        graph_def, return_elements=['inputx:0', 'output/BiasAdd:0'],
        name='')
    with tf.Session() as sess:
      return sess.run(logits, {inputs: images})


def standardise(images):
  """Per-image standardisation in numpy, as tf.image does it."""
  pixels = images.astype(np.float64).reshape(len(images), -1)
  deviation = np.maximum(pixels.std(axis=1), 1.0 / np.sqrt(pixels.shape[1]))
  pixels = (pixels - pixels.mean(axis=1, keepdims=True)) / deviation[:, None]
  return pixels.reshape(images.shape).astype(np.float32)


def test_pb_logits_equal_the_checkpoints(checkpoint, frozen):
  graph_def, _ = frozen
  images = standardise(make_images(BATCH, seed=11)[0])

  expected = checkpoint_logits(checkpoint, images)
  actual = pb_logits(graph_def, images)

  assert actual.shape == (BATCH, CLASSES)
  np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)
  assert np.ptp(expected) > 1.0


def test_pb_has_exactly_the_names_atc_is_given(frozen):
  _, path = frozen
  graph_def = tf.GraphDef()
  with open(path, 'rb') as stream:
    graph_def.ParseFromString(stream.read())
  nodes = {node.name: node for node in graph_def.node}

  assert [n.name for n in graph_def.node if n.op == 'Placeholder'] == [
      'inputx']
  shape = [dim.size for dim in nodes['inputx'].attr['shape'].shape.dim]
  assert shape == [BATCH, 32, 32, 3]
  assert nodes['inputx'].attr['dtype'].type == tf.float32.as_datatype_enum
  assert nodes['output/BiasAdd'].op == 'BiasAdd'
  assert not [n.name for n in graph_def.node
              if any(i.split(':')[0].lstrip('^') == 'output/BiasAdd'
                     for i in n.input)]
  assert set(n.op for n in graph_def.node) <= INFERENCE_OPS
  assert all(n.device == '' for n in graph_def.node)


def test_atc_command_names_the_input_shape_and_output():
  assert export_pb.atc_command('/models/wrn.pb', 1) == (
      'atc --model=/models/wrn.pb --framework=3 --output=/models/wrn '
      '--soc_version=Ascend310 --input_shape="inputx:1,32,32,3" '
      '--out_nodes="output/BiasAdd:0"')
  assert export_pb.atc_command('wrn.pb', 8, 'Ascend910') == (
      'atc --model=wrn.pb --framework=3 --output=wrn '
      '--soc_version=Ascend910 --input_shape="inputx:8,32,32,3" '
      '--out_nodes="output/BiasAdd:0"')


@pytest.fixture(scope='module')
def pb_metrics(frozen, test_folder):
  """infer_pb.evaluate_pb() of the frozen graph on the 53 test records."""
  return infer_pb.evaluate_pb(frozen[1], test_folder)


def test_infer_pb_agrees_with_checkpoint_evaluation(
    checkpoint, pb_metrics, test_folder):
  config = run_wideresnet.make_config(
      model_path=checkpoint, data_path=test_folder, depths=DEPTHS, ks=KS,
      class_num=CLASSES, image_num=53, batch_size=BATCH)

  expected = run_wideresnet.evaluate(config)

  assert pb_metrics['images'] == expected['images'] == 53
  assert pb_metrics['batch_size'] == BATCH
  assert pb_metrics['accuracy'] == expected['accuracy']
  assert abs(pb_metrics['loss'] - expected['loss']) < 1e-5
  assert 0.0 < pb_metrics['accuracy'] < 1.0
  assert pb_metrics['ms_per_image'] == pytest.approx(
      pb_metrics['ms_per_batch'] / BATCH)


def test_a_checkpoint_of_another_class_count_is_a_clear_error(checkpoint):
  with pytest.raises(ValueError) as error:
    export_pb.freeze(checkpoint, DEPTHS, KS, 100, 1)
  message = str(error.value)
  assert message.startswith('checkpoint %s does not fit the graph: '
                            % checkpoint)
  assert 'output/kernel [64, 10] in the checkpoint, [64, 100] in the graph' \
      in message
  assert '--class_num' in message


def test_infer_pb_rejects_a_batch_the_pb_cannot_take(frozen, test_folder):
  _, path = frozen
  with pytest.raises(ValueError) as error:
    infer_pb.evaluate_pb(path, test_folder, batch_size=8)
  assert str(error.value) == (
      '--batch_size=8 but %s takes batches of exactly 7; drop --batch_size '
      'or export with --batch 8.' % path)


@pytest.fixture(scope='module')
def exported_by_cli(checkpoint, tmp_path_factory):
  """Runs export_pb.py with a SavedModel; returns (folder, code, stderr)."""
  folder = str(tmp_path_factory.mktemp('cli'))
  code, _, err = run_script(
      'export_pb.py', '--model_path', checkpoint, '--depths', str(DEPTHS),
      '--ks', str(KS), '--class_num', str(CLASSES), '--batch', str(BATCH),
      '--output', os.path.join(folder, 'out', 'wrn.pb'),
      '--saved_model_dir', os.path.join(folder, 'serving'))
  return folder, code, err


def test_export_cli_writes_the_pb_and_logs_the_atc_command(exported_by_cli):
  folder, code, err = exported_by_cli
  assert code == 0, err
  pb = os.path.join(folder, 'out', 'wrn.pb')
  assert os.path.isfile(pb)
  assert export_pb.atc_command(pb, BATCH) in err
  assert '--input_shape="inputx:7,32,32,3"' in err


def test_saved_model_serves_raw_images(exported_by_cli, frozen):
  folder, code, err = exported_by_cli
  assert code == 0, err
  images = make_images(5, seed=12)[0]

  with tf.Graph().as_default() as graph:
    with tf.Session() as sess:
      meta_graph = tf.saved_model.loader.load(
          sess, [tf.saved_model.tag_constants.SERVING],
          os.path.join(folder, 'serving'))
      signature = meta_graph.signature_def['serving_default']
      assert sorted(signature.inputs) == ['images']
      assert sorted(signature.outputs) == [
          'classes', 'logits', 'probabilities']
      fetches = {key: graph.get_tensor_by_name(info.name)
                 for key, info in signature.outputs.items()}
      served = sess.run(fetches, {
          graph.get_tensor_by_name(signature.inputs['images'].name): images})

  padded = np.concatenate([images, images[:BATCH - 5]])
  expected = pb_logits(frozen[0], standardise(padded))[:5]
  np.testing.assert_allclose(served['logits'], expected, rtol=1e-4,
                             atol=1e-4)
  np.testing.assert_array_equal(served['classes'],
                                served['logits'].argmax(axis=1))
  np.testing.assert_allclose(served['probabilities'].sum(axis=1), 1.0,
                             rtol=1e-5)


def test_infer_cli_prints_the_eval_line_and_latency(
    frozen, pb_metrics, test_folder):
  code, out, err = run_script('infer_pb.py', '--pb_path', frozen[1],
                              '--data_path', test_folder)

  assert code == 0, err
  lines = out.splitlines()
  assert lines[0] == 'wideresnet eval  loss=%.5f   acc=%.4f' % (
      pb_metrics['loss'], pb_metrics['accuracy'])
  assert lines[1].startswith('wideresnet latency  batch=7   ms/batch=')
  assert len(lines) == 2


def parsed_flags(module, *args):
  """The flags of export_pb or infer_pb, parsed apart from the global ones."""
  values = flags.FlagValues()
  module.define_flags(values)
  values([module.__name__ + '.py'] + list(args))
  return values


def error_lines(caplog):
  return [record.getMessage() for record in caplog.records
          if record.levelno >= logging.ERROR]


def test_export_main_reports_a_mismatched_checkpoint_in_one_line(
    checkpoint, tmp_path, caplog):
  output = str(tmp_path / 'wrn.pb')
  values = parsed_flags(
      export_pb, '--model_path', checkpoint, '--depths', '16', '--ks',
      str(KS), '--class_num', str(CLASSES), '--output', output)

  assert export_pb.main(['export_pb.py'], values) == 1

  errors = error_lines(caplog)
  assert len(errors) == 1
  assert errors[0].startswith('checkpoint %s lacks ' % checkpoint)
  assert '--depths' in errors[0]
  assert not os.path.exists(output)


def test_infer_main_reports_a_missing_pb_in_one_line(
    tmp_path, test_folder, caplog):
  missing = str(tmp_path / 'missing.pb')
  values = parsed_flags(infer_pb, '--pb_path', missing, '--data_path',
                        test_folder)

  assert infer_pb.main(['infer_pb.py'], values) == 1

  assert error_lines(caplog) == [
      'no .pb at %s; write one with export_pb.py.' % missing]


def test_flags_reject_bad_values_naming_the_fix():
  with pytest.raises(flags.IllegalFlagValueError) as error:
    parsed_flags(export_pb, '--model_path', 'x', '--output', 'wrn.om')
  assert '--output must name a .pb file' in str(error.value)
  with pytest.raises(flags.IllegalFlagValueError) as error:
    parsed_flags(export_pb, '--model_path', 'x', '--depths', '27')
  assert '6n+4' in str(error.value)
  with pytest.raises(flags.IllegalFlagValueError) as error:
    parsed_flags(infer_pb, '--pb_path', 'x.pb', '--data_path', 'd',
                 '--output_node', 'output/BiasAdd:0')
  assert 'without ":0"' in str(error.value)
