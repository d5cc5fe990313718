"""Restoring the original port's checkpoints, and clear errors on misfits."""

import os

import numpy as np
import pytest

import checkpoints
import data_input
from decoupled_weight_decay import MomentumWOptimizer
import graphs
from tf_compat import tf
import wideresnet_model


def save_original_checkpoint(folder, depths, ks, class_num=10, slots=True):
  """Saves a checkpoint as the original port did: no global step, MomentumW.

  Returns:
    (prefix, {variable name: saved value}).
  """
  with tf.Graph().as_default():
    tf.set_random_seed(5)
    images = tf.placeholder(tf.float32, [2, 32, 32, 3], name='inputx')
    labels = tf.placeholder(tf.int64, [2], name='inputy')
    logits = wideresnet_model.wide_resnet(images, True, depths, ks,
                                          class_num=class_num)
    if slots:
      loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
      MomentumWOptimizer(5e-6, 0.1, 0.9).minimize(loss)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      values = {v.op.name: sess.run(v) for v in tf.global_variables()}
      prefix = tf.train.Saver().save(
          sess, os.path.join(folder, 'wideresnet.ckpt'))
  return prefix, values


def test_the_original_checkpoint_restores_fully_for_fine_tuning(
    tmp_path, train_folder):
  prefix, saved = save_original_checkpoint(str(tmp_path), 10, 1)
  assert 'global_step' not in saved
  assert 'conv2d/kernel/MomentumW' in saved

  files = data_input.list_record_files(train_folder)
  net = graphs.build_train_graph(files, 4, 1, 10, 1, 10, 0.1)
  with net.graph.as_default():
    restorer, absent = checkpoints.make_restorer(
        prefix, net.model_variables, net.slot_variables)
    initializer = tf.global_variables_initializer()
    with tf.Session() as sess:
      sess.run(initializer)
      restorer.restore(sess, prefix)
      restored = {v.op.name: sess.run(v) for v in tf.global_variables()}

  assert absent == []
  assert sorted(restored) == sorted(list(saved) + ['global_step'])
  for name, value in saved.items():
    np.testing.assert_array_equal(restored[name], value, err_msg=name)
  assert restored['global_step'] == 0


def test_the_original_checkpoint_restores_for_evaluation(tmp_path,
                                                         test_folder):
  prefix, saved = save_original_checkpoint(str(tmp_path), 10, 1)
  files = data_input.list_record_files(test_folder)
  net = graphs.build_eval_graph(files, 5, 10, 1, 10)
  with net.graph.as_default():
    restorer, absent = checkpoints.make_restorer(prefix, net.model_variables)
    with tf.Session() as sess:
      restorer.restore(sess, prefix)
      kernel, = [v for v in net.model_variables
                 if v.op.name == 'conv2d_8/kernel']
      value = sess.run(kernel)
  assert absent == []
  np.testing.assert_array_equal(value, saved['conv2d_8/kernel'])


def test_a_checkpoint_without_slots_restores_the_model_only(tmp_path,
                                                            train_folder):
  prefix, _ = save_original_checkpoint(str(tmp_path), 10, 1, slots=False)
  files = data_input.list_record_files(train_folder)
  net = graphs.build_train_graph(files, 4, 1, 10, 1, 10, 0.1)
  with net.graph.as_default():
    _, absent = checkpoints.make_restorer(
        prefix, net.model_variables, net.slot_variables)
  assert absent == sorted(v.op.name for v in net.slot_variables)
  # 9 convolutions and the dense layer (2 each), 7 batch norms (2 each).
  assert len(absent) == 34


def test_a_deeper_graph_lists_what_the_checkpoint_lacks(tmp_path,
                                                        test_folder):
  prefix, _ = save_original_checkpoint(str(tmp_path), 10, 1)
  files = data_input.list_record_files(test_folder)
  net = graphs.build_eval_graph(files, 5, 16, 1, 10)
  with net.graph.as_default():
    with pytest.raises(ValueError) as error:
      checkpoints.make_restorer(prefix, net.model_variables)
  message = str(error.value)
  assert 'lacks 36 variable(s)' in message
  assert 'batch_normalization_10/beta' in message
  assert '--depths, --ks and --class_num' in message


def test_a_wider_graph_names_the_shape_mismatch(tmp_path, test_folder):
  prefix, _ = save_original_checkpoint(str(tmp_path), 10, 2)
  files = data_input.list_record_files(test_folder)
  net = graphs.build_eval_graph(files, 5, 10, 3, 10)
  with net.graph.as_default():
    with pytest.raises(ValueError) as error:
      checkpoints.make_restorer(prefix, net.model_variables)
  assert ('batch_normalization_1/beta [32] in the checkpoint, [48] in the '
          'graph') in str(error.value)


def test_resolve_checkpoint(tmp_path):
  prefix, _ = save_original_checkpoint(str(tmp_path), 10, 1, slots=False)
  assert checkpoints.resolve_checkpoint(prefix) == prefix
  assert checkpoints.resolve_checkpoint(str(tmp_path)) == prefix

  missing = os.path.join(str(tmp_path), 'other.ckpt')
  with pytest.raises(ValueError, match='no checkpoint at model_path'):
    checkpoints.resolve_checkpoint(missing)
  empty = str(tmp_path / 'empty')
  os.mkdir(empty)
  with pytest.raises(ValueError, match='without a checkpoint state file'):
    checkpoints.resolve_checkpoint(empty)
