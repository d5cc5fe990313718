"""Wide Residual Network (WRN-d-k) for 32x32 images, in the original layout.

The layers are created with `tf.compat.v1.layers` in the same order as the
Ascend port this project replaces, so the automatic variable names
(`conv2d`, `conv2d_1`, ..., `batch_normalization`, ...) and the dense layer
`output` match that port's checkpoints exactly.

Two details differ from the WRN paper (Zagoruyko & Komodakis, 2016) and
are kept on purpose, because the original checkpoints were trained with
them: a block's stride sits on its second 3x3 convolution, and the 1x1
projection shortcut reads the raw block input instead of the normalised
one.

This module builds graph only: it reads no flags, touches no files and
logs nothing.
"""

import warnings

from tf_compat import tf

# Widths of the three groups before multiplying by the widening factor.
GROUP_BASE_WIDTHS = (16, 32, 64)

# Stride of the first block of each group.
GROUP_STRIDES = (1, 2, 2)

STEM_WIDTH = 16
HEAD_BATCH_NORM_MOMENTUM = 0.9
LOGITS_LAYER_NAME = 'output'


def blocks_per_group(depths):
  """Returns n, the residual blocks in each group of a WRN of this depth.

  Args:
    depths: network depth; must be 6n + 4 with n >= 1 (10, 16, 22, 28, ...).

  Returns:
    n = (depths - 4) / 6, a positive int.

  Raises:
    ValueError: if `depths` is not 6n + 4 for a positive integer n.
  """
  if (isinstance(depths, bool) or not isinstance(depths, int) or depths < 10
      or (depths - 4) % 6):
    raise ValueError(
        'WRN depth must be 6n+4 with n >= 1 (10, 16, 22, 28, 34, 40, ...); '
        'got depths=%r.' % (depths,))
  return (depths - 4) // 6


def _check_width(ks):
  if isinstance(ks, bool) or not isinstance(ks, int) or ks < 1:
    raise ValueError(
        'WRN widening factor must be an integer >= 1 (10 for WRN-28-10); '
        'got ks=%r.' % (ks,))


def _residual_block(inputs, width, stride, training, dropout_rate,
                    dropout_fn):
  """One pre-activation residual block of the original port.

  Args:
    inputs: float32 [batch, height, width_in, channels_in].
    width: output channels.
    stride: 1, or 2 to halve height and width.
    training: Python bool; batch statistics and dropout when True.
    dropout_rate: fraction of activations dropped between the convolutions.
    dropout_fn: None for tf.layers.dropout, or a function (tensor, rate) ->
      tensor used when training.

  Returns:
    float32 [batch, height / stride, width / stride, width].
  """
  shortcut = inputs
  in_width = inputs.shape.as_list()[-1]

  net = tf.layers.batch_normalization(inputs, training=training)
  net = tf.nn.relu(net)
  # Stride 1 here and the block's stride on the second convolution, as the
  # original port did (the paper strides the first one).
  net = tf.layers.conv2d(net, width, 3, strides=1, padding='same')

  net = tf.layers.batch_normalization(net, training=training)
  net = tf.nn.relu(net)
  if training and dropout_fn is not None:
    net = dropout_fn(net, dropout_rate)
  else:
    net = tf.layers.dropout(net, rate=dropout_rate, training=training)
  net = tf.layers.conv2d(net, width, 3, strides=stride, padding='same')

  if stride != 1 or in_width != width:
    # Projection of the raw block input, not of its normalised form.
    shortcut = tf.layers.conv2d(
        inputs, width, 1, strides=stride, padding='same')

  return net + shortcut


def wide_resnet(images, training, depths, ks, class_num=100,
                dropout_rate=0.3, dropout_fn=None):
  """Builds WRN-depths-ks and returns its logits.

  Build it once per graph: a second call in the same graph creates a second
  set of variables with suffixed names.

  Args:
    images: float32 [batch, 32, 32, 3], standardised per image.
    training: Python bool. True uses batch statistics, queues the moving
      average updates in tf.GraphKeys.UPDATE_OPS and applies dropout.
    depths: network depth, 6n + 4 (28 for WRN-28-10).
    ks: widening factor k >= 1 (10 for WRN-28-10).
    class_num: number of classes, the width of the logits.
    dropout_rate: dropout rate inside each residual block, in [0, 1).
    dropout_fn: optional function (tensor, rate) -> tensor that replaces
      tf.layers.dropout when training, such as the Ascend NPU's own
      dropout. Dropout has no variables, so names stay the same.

  Returns:
    float32 logits [batch, class_num]; the tensor is `output/BiasAdd`.

  Raises:
    ValueError: on a depth that is not 6n + 4, a widening factor below 1,
      a class count below 1, a dropout rate outside [0, 1), or images that
      are not [batch, 32, 32, 3].
  """
  blocks = blocks_per_group(depths)
  _check_width(ks)
  if isinstance(class_num, bool) or not isinstance(class_num, int) or (
      class_num < 1):
    raise ValueError('class_num must be a positive integer; got %r.'
                     % (class_num,))
  if not 0.0 <= dropout_rate < 1.0:
    raise ValueError('dropout_rate must be in [0, 1); got %r.'
                     % (dropout_rate,))
  if images.shape.as_list()[1:] != [32, 32, 3]:
    raise ValueError('images must be [batch, 32, 32, 3]; got %s.'
                     % (images.shape,))

  with warnings.catch_warnings():
    # tf.compat.v1.layers warns on every call under TF 2.x; the layers are
    # kept because their automatic names are the checkpoint format.
    warnings.filterwarnings('ignore', message='`tf.layers', category=Warning)

    net = tf.layers.conv2d(images, STEM_WIDTH, 3, strides=1, padding='same')

    for base_width, group_stride in zip(GROUP_BASE_WIDTHS, GROUP_STRIDES):
      for block in range(blocks):
        stride = group_stride if block == 0 else 1
        net = _residual_block(net, base_width * ks, stride, training,
                              dropout_rate, dropout_fn)

    net = tf.layers.batch_normalization(
        net, momentum=HEAD_BATCH_NORM_MOMENTUM, training=training)
    net = tf.nn.relu(net)
    net = tf.layers.average_pooling2d(net, pool_size=8, strides=1,
                                      padding='valid')
    net = tf.layers.flatten(net)
    return tf.layers.dense(net, class_num, name=LOGITS_LAYER_NAME)
