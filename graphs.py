"""The training and evaluation graphs: input, network, loss and optimizer.

Both graphs take their batches straight from tf.data; each still exposes
the original port's float32 input `inputx` (a placeholder that defaults to
the batch) and its logits `output/BiasAdd`, so tools that feed images or
freeze the graph find them by name.
"""

import collections
import importlib

import data_input
from decoupled_weight_decay import MomentumWOptimizer
import distributed
from tf_compat import tf
import wideresnet_model

# Optimizer of the original port.
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-6

# decoupled: weights shrink by weight_decay * w each step, apart from the
# gradient (the original port). l2: weight_decay / 2 * |w|^2 of every
# trainable variable is added to the loss (the WRN paper's 5e-4).
WEIGHT_DECAY_MODES = ('decoupled', 'l2')

INPUT_NAME = 'inputx'

TrainGraph = collections.namedtuple('TrainGraph', [
    'graph',            # the tf.Graph holding everything below
    'train_op',         # one optimizer step, with batch-norm updates
    'loss',             # float32 scalar, mean cross-entropy of the batch
    'learning_rate',    # float32 scalar, the rate of this step
    'accuracy',         # float32 scalar, top-1 fraction of the batch
    'global_step',      # int64 variable, steps taken
    'model_variables',  # the network's variables, as the original saved
    'slot_variables',   # the optimizer's momentum slots
    'loss_scale',       # float32 scalar, or None without loss scaling
    'iterator_init',    # op that starts the input (a no-op if one-shot)
    'stop_request',     # float32 scalar to feed: 1 asks every process to stop
    'agreed',           # (loss, accuracy, stop) agreed over the cluster
])

EvalGraph = collections.namedtuple('EvalGraph', [
    'graph',            # the tf.Graph holding everything below
    'inputs',           # float32 [batch, 32, 32, 3], the `inputx` tensor
    'logits',           # float32 [batch, class_num]
    'losses',           # float32 [batch], cross-entropy per image
    'correct',          # bool [batch], top-1 hit per image
    'mask',             # bool [batch], false on padding images
    'model_variables',  # the network's variables
    'iterator_init',    # op that restarts the records (a no-op if one-shot)
])


# Dynamic loss scaling on the NPU: the values most Ascend ports use.
NPU_LOSS_SCALE = dict(init_loss_scale=2.0**32, incr_every_n_steps=1000,
                      decr_every_n_nan_or_inf=2, decr_ratio=0.5)


def _npu_module(name):
  """A module of CANN's TF adapter, by its documented path."""
  return importlib.import_module('npu_bridge.' + name)


def _npu_dropout(inputs, rate):
  return _npu_module('estimator.npu_ops').dropout(inputs,
                                                  keep_prob=1.0 - rate)


def _with_loss_scaling(optimizer, device, distributed_training=False):
  """Wraps an optimizer in dynamic loss scaling for float16 training.

  Steps whose gradients overflow are skipped and lower the scale.

  Returns:
    (optimizer, float32 scalar tensor of the current loss scale).
  """
  if device == 'npu':
    manager = _npu_module(
        'estimator.npu.npu_loss_scale_manager'
    ).ExponentialUpdateLossScaleManager(**NPU_LOSS_SCALE)
    wrapped = _npu_module(
        'estimator.npu.npu_loss_scale_optimizer'
    ).NPULossScaleOptimizer(optimizer, manager,
                            is_distributed=distributed_training)
    return wrapped, manager.get_loss_scale()
  loss_scale = tf.train.experimental.DynamicLossScale()
  wrapped = tf.train.experimental.MixedPrecisionLossScaleOptimizer(
      optimizer, loss_scale)
  return wrapped, tf.identity(loss_scale(), name='loss_scale')


def _without_bias_noise(grads_and_vars):
  """Zeroes the gradients of the convolution biases, for mixed precision.

  Every convolution's output reaches the logits only through a batch norm,
  directly or through linear shortcuts, and batch norm removes any constant
  per channel; so these biases have a true gradient of zero. In float32 it
  comes out as about zero. In bfloat16 or float16 the batch-norm backward
  pass leaves rounding noise in it, the biases drift, and the moving
  statistics lag behind, which costs 10 to 25 points of evaluation accuracy
  on small tasks. The biases stay in the graph and the checkpoints.
  """
  def is_convolution_bias(var):
    scope, _, name = var.op.name.rpartition('/')
    return name == 'bias' and scope.split('_')[0] == 'conv2d'

  return [(tf.zeros_like(grad) if grad is not None and is_convolution_bias(var)
           else grad, var) for grad, var in grads_and_vars]


def _named_input(images):
  return tf.placeholder_with_default(images, images.shape, name=INPUT_NAME)


def build_train_graph(files, batch_size, epochs, depths, ks, class_num,
                      learning_rate, augmentation='cifarnet',
                      normalization='per_image', dropout_rate=0.3,
                      momentum=MOMENTUM, nesterov=False,
                      weight_decay=WEIGHT_DECAY,
                      weight_decay_mode='decoupled', device='cpu',
                      precision='fp32', iterations_per_loop=1, seed=None,
                      dataset_fn=None, cluster=distributed.SINGLE):
  """Builds the training graph, fed by tf.data; defaults are the original's.

  Args:
    files: TFRecord paths.
    batch_size: images per step.
    epochs: passes over the records the input provides; None for endless.
    depths: WRN depth, 6n + 4.
    ks: widening factor.
    class_num: number of classes.
    learning_rate: a float, or a function from the int64 global step
      tensor to a float32 scalar tensor (see lr_schedules).
    augmentation: a key of data_input.AUGMENTATIONS.
    normalization: one of data_input.NORMALIZATIONS.
    dropout_rate: dropout inside the residual blocks.
    momentum: momentum coefficient.
    nesterov: use Nesterov momentum.
    weight_decay: decay coefficient; 0 for none.
    weight_decay_mode: one of WEIGHT_DECAY_MODES.
    device: 'npu', 'gpu' or 'cpu' (see session_config). On the NPU the
      network uses the adapter's dropout.
    precision: 'fp32' or 'mixed', as the session configuration made it
      effective. Mixed precision on the NPU and GPU (float16) adds dynamic
      loss scaling; the CPU's bfloat16 needs none.
    iterations_per_loop: NPU steps per session.run; above 1 the input
      uses an initializable iterator, started by `iterator_init`.
    seed: optional graph-level seed for a repeatable run.
    dataset_fn: optional function of no arguments, called inside the new
      graph, returning a dataset of (images float32 [batch_size, 32, 32, 3],
      labels int64 [batch_size]) batches to train on instead of `files`
      (which are then unused); for example one constant batch repeated,
      to measure the network's compute alone.
    cluster: a distributed.Cluster; with several processes each reads its
      shard of the records and the gradients are averaged over all.

  Returns:
    A TrainGraph.

  Raises:
    ValueError: on an unknown weight decay mode, augmentation or
      normalization.
  """
  if weight_decay_mode not in WEIGHT_DECAY_MODES:
    raise ValueError('weight_decay_mode must be one of %s; got %r.'
                     % (WEIGHT_DECAY_MODES, weight_decay_mode))

  graph = tf.Graph()
  with graph.as_default(), tf.device(cluster.device):
    if seed is not None:
      tf.set_random_seed(seed)
    global_step = tf.train.get_or_create_global_step()
    if dataset_fn is None:
      dataset = data_input.train_dataset(
          files, batch_size, epochs, augmentation=augmentation,
          normalization=normalization, seed=seed,
          shard=(cluster.size, cluster.rank) if cluster.size > 1 else None)
    else:
      dataset = dataset_fn()
    if iterations_per_loop > 1:
      iterator = tf.data.make_initializable_iterator(dataset)
      iterator_init = iterator.initializer
    else:
      iterator = tf.data.make_one_shot_iterator(dataset)
      iterator_init = tf.no_op()
    images, labels = iterator.get_next()

    logits = wideresnet_model.wide_resnet(
        _named_input(images), True, depths, ks, class_num=class_num,
        dropout_rate=dropout_rate,
        dropout_fn=_npu_dropout if device == 'npu' else None)
    model_variables = [v for v in tf.global_variables()
                       if v is not global_step]

    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    accuracy = tf.reduce_mean(
        tf.cast(tf.equal(tf.argmax(logits, 1), labels), tf.float32))

    if callable(learning_rate):
      rate = learning_rate(global_step)
    else:
      rate = tf.constant(learning_rate, tf.float32, name='learning_rate')

    objective = loss
    if weight_decay_mode == 'l2' and weight_decay:
      objective += weight_decay * tf.add_n(
          [tf.nn.l2_loss(v) for v in tf.trainable_variables()])
    if weight_decay_mode == 'decoupled':
      optimizer = MomentumWOptimizer(weight_decay, rate, momentum,
                                     use_nesterov=nesterov)
    else:
      optimizer = tf.train.MomentumOptimizer(rate, momentum,
                                             use_nesterov=nesterov)
    momentum_optimizer = optimizer
    optimizer = distributed.wrap_optimizer(optimizer, cluster)
    loss_scale = None
    if precision == 'mixed' and device in ('npu', 'gpu'):
      # Built outside control_dependencies, as the NPU adapter requires.
      optimizer, loss_scale = _with_loss_scaling(optimizer, device,
                                                 cluster.size > 1)

    # The batch-norm moving averages update with every step.
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
      grads_and_vars = optimizer.compute_gradients(objective)
      if precision == 'mixed':
        grads_and_vars = _without_bias_noise(grads_and_vars)
      train_op = optimizer.apply_gradients(grads_and_vars,
                                           global_step=global_step)
    slot_variables = [momentum_optimizer.get_slot(v, 'momentum')
                      for v in tf.trainable_variables()]

    stop_request = tf.placeholder_with_default(0.0, [], name='stop_request')
    agreed = distributed.agree(loss, accuracy, stop_request, cluster)

  return TrainGraph(graph, train_op, loss, rate, accuracy, global_step,
                    model_variables, slot_variables, loss_scale,
                    iterator_init, stop_request, agreed)


def build_eval_graph(files, batch_size, depths, ks, class_num,
                     normalization='per_image', initializable=False):
  """Builds the evaluation graph over every record once, padded to batches.

  Args:
    files: TFRecord paths.
    batch_size: images per step; the last batch is padded and masked.
    depths: WRN depth, 6n + 4.
    ks: widening factor.
    class_num: number of classes.
    normalization: one of data_input.NORMALIZATIONS, as in training.
    initializable: when True, the records are read anew each time
      `iterator_init` runs; otherwise once.

  Returns:
    An EvalGraph.
  """
  graph = tf.Graph()
  with graph.as_default():
    dataset = data_input.eval_dataset(files, batch_size, normalization)
    if initializable:
      iterator = tf.data.make_initializable_iterator(dataset)
      iterator_init = iterator.initializer
    else:
      iterator = tf.data.make_one_shot_iterator(dataset)
      iterator_init = tf.no_op()
    images, labels, mask = iterator.get_next()

    inputs = _named_input(images)
    logits = wideresnet_model.wide_resnet(
        inputs, False, depths, ks, class_num=class_num)
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=logits)
    correct = tf.equal(tf.argmax(logits, 1), labels)

  return EvalGraph(graph, inputs, logits, losses, correct, mask,
                   graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES),
                   iterator_init)
