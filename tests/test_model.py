"""The network: variable names and shapes of the original port, and shapes."""

import numpy as np
import pytest

from tf_compat import tf
import wideresnet_model

# WRN-10-1 as the original port built it, in creation order. With k = 1 the
# first block keeps 16 channels at stride 1, so it has no projection.
WRN_10_1_VARIABLES = [
    ('conv2d/kernel', [3, 3, 3, 16]), ('conv2d/bias', [16]),
    # Group 1, 16 channels.
    ('batch_normalization/gamma', [16]), ('batch_normalization/beta', [16]),
    ('batch_normalization/moving_mean', [16]),
    ('batch_normalization/moving_variance', [16]),
    ('conv2d_1/kernel', [3, 3, 16, 16]), ('conv2d_1/bias', [16]),
    ('batch_normalization_1/gamma', [16]),
    ('batch_normalization_1/beta', [16]),
    ('batch_normalization_1/moving_mean', [16]),
    ('batch_normalization_1/moving_variance', [16]),
    ('conv2d_2/kernel', [3, 3, 16, 16]), ('conv2d_2/bias', [16]),
    # Group 2, 32 channels, stride 2, projection shortcut.
    ('batch_normalization_2/gamma', [16]),
    ('batch_normalization_2/beta', [16]),
    ('batch_normalization_2/moving_mean', [16]),
    ('batch_normalization_2/moving_variance', [16]),
    ('conv2d_3/kernel', [3, 3, 16, 32]), ('conv2d_3/bias', [32]),
    ('batch_normalization_3/gamma', [32]),
    ('batch_normalization_3/beta', [32]),
    ('batch_normalization_3/moving_mean', [32]),
    ('batch_normalization_3/moving_variance', [32]),
    ('conv2d_4/kernel', [3, 3, 32, 32]), ('conv2d_4/bias', [32]),
    ('conv2d_5/kernel', [1, 1, 16, 32]), ('conv2d_5/bias', [32]),
    # Group 3, 64 channels, stride 2, projection shortcut.
    ('batch_normalization_4/gamma', [32]),
    ('batch_normalization_4/beta', [32]),
    ('batch_normalization_4/moving_mean', [32]),
    ('batch_normalization_4/moving_variance', [32]),
    ('conv2d_6/kernel', [3, 3, 32, 64]), ('conv2d_6/bias', [64]),
    ('batch_normalization_5/gamma', [64]),
    ('batch_normalization_5/beta', [64]),
    ('batch_normalization_5/moving_mean', [64]),
    ('batch_normalization_5/moving_variance', [64]),
    ('conv2d_7/kernel', [3, 3, 64, 64]), ('conv2d_7/bias', [64]),
    ('conv2d_8/kernel', [1, 1, 32, 64]), ('conv2d_8/bias', [64]),
    # Head.
    ('batch_normalization_6/gamma', [64]),
    ('batch_normalization_6/beta', [64]),
    ('batch_normalization_6/moving_mean', [64]),
    ('batch_normalization_6/moving_variance', [64]),
    ('output/kernel', [64, 100]), ('output/bias', [100]),
]


def original_layout(depths, ks, class_num):
  """Lists the original port's variables for any depth and width.

  Written from the layer order of the original, independently of
  wideresnet_model: per block bn, conv, bn, conv, then the projection.
  """
  names = []
  counters = {'conv2d': 0, 'batch_normalization': 0}

  def layer(kind):
    index = counters[kind]
    counters[kind] += 1
    return kind if index == 0 else '%s_%d' % (kind, index)

  def conv(size, cin, cout):
    name = layer('conv2d')
    names.extend([(name + '/kernel', [size, size, cin, cout]),
                  (name + '/bias', [cout])])

  def batch_norm(channels):
    name = layer('batch_normalization')
    names.extend([(name + '/' + part, [channels]) for part in
                  ('gamma', 'beta', 'moving_mean', 'moving_variance')])

  conv(3, 3, 16)
  channels = 16
  for group, width in enumerate((16 * ks, 32 * ks, 64 * ks)):
    for block in range((depths - 4) // 6):
      stride = 2 if group > 0 and block == 0 else 1
      batch_norm(channels)
      conv(3, channels, width)
      batch_norm(width)
      conv(3, width, width)
      if stride != 1 or channels != width:
        conv(1, channels, width)
      channels = width
  batch_norm(channels)
  names.extend([('output/kernel', [channels, class_num]),
                ('output/bias', [class_num])])
  return names


def build(depths, ks, training=False, batch=None, **kwargs):
  graph = tf.Graph()
  with graph.as_default():
    images = tf.placeholder(tf.float32, [batch, 32, 32, 3], name='images')
    logits = wideresnet_model.wide_resnet(images, training, depths, ks,
                                          **kwargs)
  return graph, images, logits


def variables_of(graph):
  return [(v.op.name, v.shape.as_list()) for v in
          graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)]


def test_wrn_10_1_variables_match_the_original_exactly():
  graph, _, _ = build(10, 1)
  assert variables_of(graph) == WRN_10_1_VARIABLES


def test_the_independent_layout_agrees_with_the_hand_written_list():
  assert original_layout(10, 1, 100) == WRN_10_1_VARIABLES


@pytest.mark.parametrize('depths,ks,class_num',
                         [(16, 2, 100), (22, 3, 10), (10, 4, 7)])
def test_variables_match_the_original_at_other_sizes(depths, ks, class_num):
  graph, _, _ = build(depths, ks, class_num=class_num)
  assert variables_of(graph) == original_layout(depths, ks, class_num)


def test_training_adds_no_variables_and_queues_moving_average_updates():
  graph, _, _ = build(16, 2, training=True)
  assert variables_of(graph) == original_layout(16, 2, 100)
  # Two updates (mean, variance) per batch-norm layer: 2 * 6 + 1 = 13 layers.
  assert len(graph.get_collection(tf.GraphKeys.UPDATE_OPS)) == 26


def test_wrn_28_10_has_the_published_parameter_count():
  graph, _, _ = build(28, 10)
  trainable = graph.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES)
  assert sum(int(np.prod(v.shape.as_list())) for v in trainable) == 36546980


def test_stride_sits_on_the_second_convolution():
  graph, _, _ = build(10, 1)

  def strides(layer):
    return graph.get_operation_by_name(layer + '/Conv2D').get_attr('strides')

  # Group 2: conv2d_3 keeps the size, conv2d_4 halves it, as does the
  # projection conv2d_5.
  assert strides('conv2d_3') == [1, 1, 1, 1]
  assert strides('conv2d_4') == [1, 2, 2, 1]
  assert strides('conv2d_5') == [1, 2, 2, 1]


def test_projection_reads_the_raw_block_input():
  graph, _, _ = build(10, 1)
  block_input = graph.get_operation_by_name('conv2d_5/Conv2D').inputs[0]
  first_conv_input = graph.get_operation_by_name('conv2d_3/Conv2D').inputs[0]
  # The block's first convolution reads relu(bn(x)); the projection reads x.
  assert first_conv_input.op.type == 'Relu'
  assert block_input.op.type in ('Add', 'AddV2')
  assert block_input.op.name == 'add'


def test_logits_shape_at_an_odd_batch_and_class_count():
  graph, images, logits = build(10, 1, class_num=7)
  assert logits.op.name == 'output/BiasAdd'
  assert logits.shape.as_list() == [None, 7]
  with tf.Session(graph=graph) as sess:
    sess.run(tf.variables_initializer(
        graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)))
    values = sess.run(logits, {images: np.ones([3, 32, 32, 3], np.float32)})
  assert values.shape == (3, 7)
  assert values.dtype == np.float32


def test_dropout_only_in_training():
  train_graph, _, _ = build(10, 1, training=True)
  eval_graph, _, _ = build(10, 1, training=False)

  def dropout_layers(graph):
    return sorted(set(op.name.split('/')[0] for op in graph.get_operations()
                      if op.type == 'RandomUniform'))

  assert dropout_layers(eval_graph) == []
  assert dropout_layers(train_graph) == ['dropout', 'dropout_1', 'dropout_2']


@pytest.mark.parametrize('depths', [0, 9, 11, 27, 4, '28', 28.0])
def test_bad_depth_names_the_value(depths):
  with pytest.raises(ValueError, match='depths=%r' % (depths,)):
    build(depths, 1)


@pytest.mark.parametrize('ks', [0, -1, 1.5])
def test_bad_width_names_the_value(ks):
  with pytest.raises(ValueError, match=r'ks=%r' % (ks,)):
    build(10, ks)
