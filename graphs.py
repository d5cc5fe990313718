"""The training and evaluation graphs: input, network, loss and optimizer.

Both graphs take their batches straight from tf.data; each still exposes
the original port's float32 input `inputx` (a placeholder that defaults to
the batch) and its logits `output/BiasAdd`, so tools that feed images or
freeze the graph find them by name.
"""

import collections

import data_input
from decoupled_weight_decay import MomentumWOptimizer
from tf_compat import tf
import wideresnet_model

# Optimizer of the original port.
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-6

INPUT_NAME = 'inputx'

TrainGraph = collections.namedtuple('TrainGraph', [
    'graph',            # the tf.Graph holding everything below
    'train_op',         # one optimizer step, with batch-norm updates
    'loss',             # float32 scalar, mean cross-entropy of the batch
    'accuracy',         # float32 scalar, top-1 fraction of the batch
    'global_step',      # int64 variable, steps taken
    'model_variables',  # the network's variables, as the original saved
    'slot_variables',   # the optimizer's momentum slots
])

EvalGraph = collections.namedtuple('EvalGraph', [
    'graph',            # the tf.Graph holding everything below
    'inputs',           # float32 [batch, 32, 32, 3], the `inputx` tensor
    'logits',           # float32 [batch, class_num]
    'losses',           # float32 [batch], cross-entropy per image
    'correct',          # bool [batch], top-1 hit per image
    'mask',             # bool [batch], false on padding images
    'model_variables',  # the network's variables
])


def _named_input(images):
  return tf.placeholder_with_default(images, images.shape, name=INPUT_NAME)


def build_train_graph(files, batch_size, epochs, depths, ks, class_num,
                      learning_rate, augmentation='cifarnet', seed=None):
  """Builds the training graph of the original port, fed by tf.data.

  Args:
    files: TFRecord paths.
    batch_size: images per step.
    epochs: passes over the records the input provides.
    depths: WRN depth, 6n + 4.
    ks: widening factor.
    class_num: number of classes.
    learning_rate: constant learning rate.
    augmentation: training preprocessing, a key of
      data_input.AUGMENTATIONS.
    seed: optional graph-level seed for a repeatable run.

  Returns:
    A TrainGraph.
  """
  graph = tf.Graph()
  with graph.as_default():
    if seed is not None:
      tf.set_random_seed(seed)
    global_step = tf.train.get_or_create_global_step()
    dataset = data_input.train_dataset(files, batch_size, epochs,
                                       augmentation=augmentation, seed=seed)
    images, labels = tf.data.make_one_shot_iterator(dataset).get_next()

    logits = wideresnet_model.wide_resnet(
        _named_input(images), True, depths, ks, class_num=class_num)
    model_variables = [v for v in tf.global_variables()
                       if v is not global_step]

    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    accuracy = tf.reduce_mean(
        tf.cast(tf.equal(tf.argmax(logits, 1), labels), tf.float32))

    optimizer = MomentumWOptimizer(WEIGHT_DECAY, learning_rate, MOMENTUM)
    # The batch-norm moving averages update with every step.
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
      train_op = optimizer.minimize(loss, global_step=global_step)
    slot_variables = [optimizer.get_slot(v, 'momentum')
                      for v in tf.trainable_variables()]

  return TrainGraph(graph, train_op, loss, accuracy, global_step,
                    model_variables, slot_variables)


def build_eval_graph(files, batch_size, depths, ks, class_num):
  """Builds the evaluation graph over every record once, padded to batches.

  Args:
    files: TFRecord paths.
    batch_size: images per step; the last batch is padded and masked.
    depths: WRN depth, 6n + 4.
    ks: widening factor.
    class_num: number of classes.

  Returns:
    An EvalGraph.
  """
  graph = tf.Graph()
  with graph.as_default():
    dataset = data_input.eval_dataset(files, batch_size)
    images, labels, mask = tf.data.make_one_shot_iterator(dataset).get_next()

    inputs = _named_input(images)
    logits = wideresnet_model.wide_resnet(
        inputs, False, depths, ks, class_num=class_num)
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=logits)
    correct = tf.equal(tf.argmax(logits, 1), labels)

  return EvalGraph(graph, inputs, logits, losses, correct, mask,
                   graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES))
