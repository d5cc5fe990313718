r"""Trains or evaluates a Wide ResNet (WRN-d-k) on CIFAR-style TFRecords.

Fine-tune WRN-28-10 from a checkpoint (the original port's command):

  python run_wideresnet.py --model_path ./model/wideresnet.ckpt \
      --data_path ./train_data --output_path ./model_save --depths 28 \
      --ks 10 --do_train True --image_num 50000 --batch_size 32 --epoch 10 \
      --learning_rate 0.00016

Run the same command again after a crash or a kill to resume from the
newest checkpoint in output_path. Train from scratch with the WRN paper's
recipe:

  python run_wideresnet.py --recipe paper --data_path ./train_data \
      --eval_data_path ./test_data --output_path ./wrn_paper --do_train True

Evaluate a checkpoint on every record in a folder:

  python run_wideresnet.py --model_path ./model_save/wideresnet.ckpt \
      --data_path ./test_data --image_num 10000 --batch_size 100

Runs on an Ascend NPU when CANN's npu_bridge imports, otherwise on the CPU
or GPU.
"""

import collections
import hashlib
import json
import os
import signal
import sys
import time

from absl import app
from absl import flags
from absl import logging
import numpy as np

import checkpoints
import command_line
import data_input
import distributed
from evaluation import Evaluator
import graphs
import lr_schedules
import progress
import run_metrics
import session_config
from stop_signals import StopSignals
from tf_compat import tf

FLAGS = flags.FLAGS

# The original port's flags, with its defaults.
flags.DEFINE_string(
    'model_path', None,
    'Checkpoint to start from, as a prefix such as ./model/wideresnet.ckpt '
    '(or a folder, meaning its newest checkpoint). Required for evaluation. '
    'When training, None or an empty value starts from scratch.')
flags.DEFINE_string(
    'data_path', None,
    'Folder of TFRecord files; every file in it is read, except hidden '
    'files and sub-folders.')
flags.DEFINE_string(
    'output_path', None,
    'Folder for checkpoints, TensorBoard events, metrics.jsonl and '
    'config.json; created if missing. Required for training. If it already '
    'holds checkpoints, training resumes from the newest.')
flags.DEFINE_integer(
    'depths', 28, 'Network depth d of WRN-d-k; must be 6n+4 (10, 16, 28...).')
flags.DEFINE_integer(
    'ks', 10, 'Widening factor k of WRN-d-k.', lower_bound=1)
flags.DEFINE_boolean(
    'do_train', False,
    'Train when true, otherwise evaluate. "--do_train True", '
    '"--do_train=false" and "--nodo_train" all work.')
flags.DEFINE_integer(
    'image_num', 50000,
    'Records expected in data_path. The records are counted; if the count '
    'differs, a warning is logged and the real count is used.',
    lower_bound=1)
flags.DEFINE_integer(
    'batch_size', 32,
    'Images per step. Evaluation counts every record whatever the batch '
    'size.', lower_bound=1)
flags.DEFINE_integer(
    'epoch', 10, 'Training epochs (passes over data_path).', lower_bound=1)
flags.DEFINE_float(
    'learning_rate', 0.00016,
    'Base learning rate: the constant rate, or where a schedule starts.')

# Added by this port.
flags.DEFINE_integer(
    'class_num', 100, 'Number of classes: 100 for CIFAR-100, 10 for '
    'CIFAR-10. Labels must lie in [0, class_num).', lower_bound=2)
flags.DEFINE_enum(
    'recipe', 'original', ['original', 'paper'],
    'original: the Ascend port (constant rate, decoupled weight decay 5e-6, '
    'cifarnet augmentation). paper: the WRN paper (Nesterov, lr 0.1 times '
    '0.2 at epochs 60/120/160 of 200, L2 5e-4, batch 128, crop and flip, '
    'per-channel normalisation). Flags given explicitly override it.')
flags.DEFINE_enum(
    'lr_schedule', 'constant', list(lr_schedules.SCHEDULES),
    'constant; step (multiply by --lr_decay_factor at each of '
    '--lr_boundaries); cosine (down to zero at the last step).')
flags.DEFINE_list(
    'lr_boundaries', [],
    'Comma-separated epochs at which the step schedule decays, e.g. '
    '60,120,160.')
flags.DEFINE_float(
    'lr_decay_factor', 0.2, 'Factor of the step schedule at each boundary.')
flags.DEFINE_float(
    'warmup_epochs', 0.0,
    'Epochs of linear learning-rate warm-up before the schedule.',
    lower_bound=0.0)
flags.DEFINE_float(
    'momentum', graphs.MOMENTUM, 'Momentum coefficient.', lower_bound=0.0)
flags.DEFINE_boolean('nesterov', False, 'Use Nesterov momentum.')
flags.DEFINE_float(
    'weight_decay', graphs.WEIGHT_DECAY,
    'Weight decay coefficient; see --weight_decay_mode.', lower_bound=0.0)
flags.DEFINE_enum(
    'weight_decay_mode', 'decoupled', list(graphs.WEIGHT_DECAY_MODES),
    'decoupled: shrink weights by weight_decay * w each step (the original '
    'port). l2: add weight_decay / 2 * |w|^2 to the loss (the paper).')
flags.DEFINE_float(
    'dropout_rate', 0.3, 'Dropout rate inside the residual blocks.',
    lower_bound=0.0, upper_bound=0.99)
flags.DEFINE_enum(
    'augmentation', 'cifarnet', sorted(data_input.AUGMENTATIONS),
    'Training augmentation. cifarnet: the original (pad and crop, flip, '
    'brightness, contrast). paper: reflect-pad and crop, flip. none: no '
    'augmentation, for data that flips would corrupt, such as digits.')
flags.DEFINE_enum(
    'normalization', 'per_image', list(data_input.NORMALIZATIONS),
    'per_image: each image to zero mean, unit variance (the original). '
    'per_channel: CIFAR-100 channel mean and deviation (the paper). '
    'Evaluate with the value the model was trained with.')
flags.DEFINE_string(
    'eval_data_path', None,
    'Folder of validation TFRecords, evaluated exactly after every epoch; '
    'the best checkpoint is kept in output_path/best.')
flags.DEFINE_integer(
    'keep_checkpoints', 5, 'Newest checkpoints kept in output_path.',
    lower_bound=1)
flags.DEFINE_integer(
    'save_every_steps', 0,
    'Also save every this many steps; 0 saves only at epoch ends and on '
    'the minute timer.', lower_bound=0)
flags.DEFINE_float(
    'save_every_minutes', 10.0,
    'Also save when this many minutes passed since the last save; 0 turns '
    'the timer off.', lower_bound=0.0)
flags.DEFINE_enum(
    'precision', 'fp32', list(session_config.PRECISIONS),
    'fp32 (the original), or mixed: float16 with loss scaling on the NPU '
    'and GPU, bfloat16 on CPUs that have it (fp32 elsewhere, logged).')
flags.DEFINE_string(
    'precision_mode', None,
    'Ascend NPU only: the adapter\'s precision_mode, passed through and '
    'overriding --precision, e.g. must_keep_origin_dtype, '
    'allow_fp32_to_fp16, allow_mix_precision.')
flags.DEFINE_integer(
    'iterations_per_loop', 1,
    'Ascend NPU only: training steps run on the device per session.run. '
    'Must divide the steps per epoch. Ignored elsewhere, with a log line.',
    lower_bound=1)
flags.DEFINE_enum(
    'lr_scaling', 'linear', list(distributed.LR_SCALING_RULES),
    'With several processes, how the learning rate follows the global '
    'batch (--batch_size times the processes): linear, sqrt or none.')
flags.DEFINE_integer(
    'seed', None, 'Graph-level random seed, for repeatable runs.')
flags.DEFINE_boolean(
    'over_dump', False,
    'Ascend NPU only: dump the data of operators that overflow into '
    '--over_dump_path, for debugging mixed precision.')
flags.DEFINE_string(
    'over_dump_path', None, 'Folder for --over_dump; created if missing.')
flags.DEFINE_integer(
    'max_steps', 0,
    'Stop training after this many steps in all, saving a checkpoint; 0 '
    'runs every epoch. For short performance runs.', lower_bound=0)


def _increasing_integers(values):
  try:
    numbers = [int(v) for v in values]
  except ValueError:
    return False
  return numbers == sorted(set(numbers)) and all(n > 0 for n in numbers)


flags.register_validator(
    'depths', lambda depths: depths >= 10 and (depths - 4) % 6 == 0,
    message='--depths must be 6n+4 with n >= 1: 10, 16, 22, 28, 34, 40, ...')
flags.register_validator(
    'learning_rate', lambda rate: rate > 0,
    message='--learning_rate must be positive, e.g. 0.00016.')
flags.register_validator(
    'lr_boundaries', _increasing_integers,
    message='--lr_boundaries must be increasing positive epochs, e.g. '
    '60,120,160.')
flags.register_validator(
    'data_path', bool,
    message='--data_path is required: the folder of TFRecord files.')
flags.register_multi_flags_validator(
    ['do_train', 'output_path', 'model_path'],
    lambda values: (bool(values['output_path']) if values['do_train']
                    else checkpoint_or_none(values['model_path']) is not None),
    message='training needs --output_path; evaluation (the default, or '
    '--do_train False) needs --model_path.')

# What --recipe paper changes; explicit flags win over it. Zagoruyko and
# Komodakis, "Wide Residual Networks" (2016), section 3.
PAPER_RECIPE = {
    'learning_rate': 0.1,
    'lr_schedule': 'step',
    'lr_boundaries': ['60', '120', '160'],
    'lr_decay_factor': 0.2,
    'epoch': 200,
    'batch_size': 128,
    'momentum': 0.9,
    'nesterov': True,
    'weight_decay': 5e-4,
    'weight_decay_mode': 'l2',
    'dropout_rate': 0.3,
    'augmentation': 'paper',
    'normalization': 'per_channel',
}

# Steps between progress lines, as in the original.
LOG_EVERY_STEPS = 10

CONFIG_FIELDS = [
    'model_path', 'data_path', 'output_path', 'depths', 'ks', 'do_train',
    'image_num', 'batch_size', 'epoch', 'learning_rate', 'class_num',
    'recipe', 'lr_schedule', 'lr_boundaries', 'lr_decay_factor',
    'warmup_epochs', 'momentum', 'nesterov', 'weight_decay',
    'weight_decay_mode', 'dropout_rate', 'augmentation', 'normalization',
    'eval_data_path', 'keep_checkpoints', 'save_every_steps',
    'save_every_minutes', 'max_steps', 'precision', 'precision_mode',
    'iterations_per_loop', 'over_dump', 'over_dump_path', 'lr_scaling',
    'seed']

RunConfig = collections.namedtuple('RunConfig', CONFIG_FIELDS)


class TrainingInterrupted(Exception):
  """A stop signal ended training after a checkpoint was saved."""

  def __init__(self, signum, checkpoint):
    super(TrainingInterrupted, self).__init__(signum, checkpoint)
    self.signum = signum
    self.checkpoint = checkpoint


def checkpoint_or_none(model_path):
  """Returns model_path, or None when it is unset, empty or 'None'."""
  if model_path is None or model_path.strip() in ('', 'None', 'none'):
    return None
  return model_path


def make_config(**values):
  """A RunConfig with the flags' defaults, overridden by `values`."""
  config = {name: FLAGS[name].default for name in CONFIG_FIELDS}
  config.update(values)
  config['model_path'] = checkpoint_or_none(config['model_path'])
  config['lr_boundaries'] = [int(b) for b in config['lr_boundaries']]
  return RunConfig(**config)


def config_from_flags():
  """The parsed flags, with --recipe filling what was not given.

  Raises:
    ValueError: on a combination of values that cannot work.
  """
  recipe = PAPER_RECIPE if FLAGS.recipe == 'paper' else {}
  values = {}
  for name in CONFIG_FIELDS:
    if FLAGS[name].present:
      values[name] = FLAGS[name].value
    else:
      values[name] = recipe.get(name, FLAGS[name].value)
  config = make_config(**values)

  if config.lr_schedule == 'step' and not config.lr_boundaries:
    raise ValueError('--lr_schedule step needs --lr_boundaries, e.g. '
                     '60,120,160.')
  if config.over_dump and not config.over_dump_path:
    raise ValueError('--over_dump needs --over_dump_path, the folder for the '
                     'dump.')
  if config.lr_boundaries and config.lr_schedule != 'step':
    raise ValueError('--lr_boundaries %s only apply to --lr_schedule step; '
                     'got --lr_schedule %s.' % (
                         ','.join(map(str, config.lr_boundaries)),
                         config.lr_schedule))
  return config


def count_parameters(graph):
  """Returns the number of trainable scalars in a graph."""
  return int(sum(np.prod(v.shape.as_list()) for v in
                 graph.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES)))


def make_session_config(config, iterations_per_loop=1):
  """The session configuration for this machine, with the choice logged.

  Returns:
    (tf.ConfigProto, device, effective precision), as
    session_config.make_session_config.
  """
  dump_path = config.over_dump_path if config.over_dump else None
  if dump_path:
    os.makedirs(dump_path, exist_ok=True)
  proto, device, precision = session_config.make_session_config(
      config.precision, config.precision_mode, iterations_per_loop,
      overflow_dump_path=dump_path)
  if device == session_config.DEVICE_NPU:
    logging.info('Device: Ascend NPU through npu_bridge (NpuOptimizer), '
                 'precision %s%s.', precision,
                 ', precision_mode %s' % config.precision_mode
                 if config.precision_mode else '')
  else:
    logging.info('Device: %s (npu_bridge is not installed), precision %s.',
                 device.upper(), precision)
  return proto, device, precision


def checked_records(data_path, config):
  """Lists and checks the records of a folder; reconciles --image_num.

  Args:
    data_path: folder of TFRecord files.
    config: a RunConfig.

  Returns:
    (files, record count).

  Raises:
    ValueError: on a folder without records or a record that does not fit
      the schema or the class count.
  """
  files = data_input.list_record_files(data_path)
  count = sum(data_input.check_records(files, config.class_num))
  if count == 0:
    raise ValueError('the files in %s hold no records.' % data_path)
  if data_path == config.data_path and count != config.image_num:
    logging.warning(
        '--image_num=%d but %s holds %d records in %d file(s); using %d.',
        config.image_num, data_path, count, len(files), count)
  return files, count


def _check_output_path(output_path):
  if os.path.exists(output_path) and not os.path.isdir(output_path):
    raise ValueError('output_path %r is a file; pass a folder (it is created '
                     'if missing).' % output_path)


def _schedule(config, steps_per_epoch, total_steps):
  """The learning rate as a function of the global step tensor."""
  def rate(global_step):
    return lr_schedules.learning_rate(
        global_step, config.learning_rate, config.lr_schedule, total_steps,
        boundaries=[b * steps_per_epoch for b in config.lr_boundaries],
        decay_factor=config.lr_decay_factor,
        warmup_steps=int(round(config.warmup_epochs * steps_per_epoch)))
  return rate


def _restore_or_initialise(sess, net, initializer, restorer):
  """Initialises the variables, then restores a run or a starting point.

  Returns:
    A line saying where training starts from.
  """
  sess.run(initializer)
  if restorer is None:
    return 'No --model_path: training from scratch.'

  saver, prefix, resuming, absent = restorer
  saver.restore(sess, prefix)
  if resuming:
    return 'Resuming from %s at global step %d.' % (
        prefix, sess.run(net.global_step))
  line = 'Fine-tuning from %s.' % prefix
  if absent:
    line += (' It has no optimizer slots for %d variables; their momentum '
             'starts at zero.' % len(absent))
  return line


def _build_restorer(net, config):
  """Chooses between resuming, fine-tuning and starting from scratch.

  The newest checkpoint in output_path wins: the same command run again
  resumes there. Otherwise --model_path, if any, is fine-tuned from.

  Returns:
    None, or (saver, prefix, resuming, absent optional variable names).

  Raises:
    ValueError: if the checkpoint is missing or does not fit the network.
  """
  latest = tf.train.latest_checkpoint(config.output_path)
  if latest is not None:
    required = net.model_variables + net.slot_variables + [net.global_step]
    names = set(v.op.name for v in required)
    # Loss-scaling state, when there is any, restores if present.
    optional = [v for v in net.graph.get_collection(
        tf.GraphKeys.GLOBAL_VARIABLES) if v.op.name not in names]
    try:
      saver, _ = checkpoints.make_restorer(latest, required, optional)
    except ValueError as error:
      raise ValueError(
          'cannot resume the run in output_path %s: %s Use another '
          '--output_path for a different network.'
          % (config.output_path, error))
    if config.model_path is not None:
      logging.info('output_path already holds a run; resuming it instead '
                   'of fine-tuning from %s.', config.model_path)
    return saver, latest, True, []

  if config.model_path is None:
    return None
  prefix = checkpoints.resolve_checkpoint(config.model_path)
  saver, absent = checkpoints.make_restorer(
      prefix, net.model_variables, net.slot_variables)
  return saver, prefix, False, absent


def _best_accuracy(output_path):
  accuracies = [e['val_accuracy'] for e in run_metrics.read_epochs(
      output_path) if e.get('val_accuracy') is not None]
  return max(accuracies) if accuracies else None


def train(config):
  """Trains, saving checkpoints; resumes the run in output_path if any.

  Args:
    config: a RunConfig; model_path may be None to start from scratch.

  Returns:
    The newest checkpoint prefix.

  Raises:
    ValueError: on bad input (records, checkpoints, paths) or a loss that
      stops being finite; nothing is saved after the problem.
    TrainingInterrupted: after SIGINT or SIGTERM, once saved.
    tf.errors.OpError: if the TensorFlow runtime fails mid-run.
  """
  # Everything that can be checked is checked before anything is written.
  _check_output_path(config.output_path)
  files, image_count = checked_records(config.data_path, config)
  device = session_config.detect_device()
  cluster = distributed.from_environment(
      device == session_config.DEVICE_NPU)
  chief = cluster.rank == 0

  # --batch_size is per process; an epoch is one pass over all records.
  global_batch = config.batch_size * cluster.size
  steps_per_epoch = image_count // global_batch
  if steps_per_epoch == 0:
    raise ValueError(
        '%s holds %d records, fewer than one global batch of %d '
        '(--batch_size=%d per process, %d process(es)); lower the batch '
        'size.'
        % (config.data_path, image_count, global_batch, config.batch_size,
           cluster.size))
  total_steps = steps_per_epoch * config.epoch
  if config.max_steps:
    total_steps = min(total_steps, config.max_steps)
  if config.eval_data_path:
    eval_files, eval_count = checked_records(config.eval_data_path, config)

  steps_per_run = 1
  if config.iterations_per_loop > 1 and device != session_config.DEVICE_NPU:
    logging.warning('--iterations_per_loop=%d needs an Ascend NPU; running '
                    'one step per session.run.', config.iterations_per_loop)
  elif config.iterations_per_loop > 1:
    steps_per_run = config.iterations_per_loop
    if steps_per_epoch % steps_per_run or total_steps % steps_per_run:
      raise ValueError(
          '--iterations_per_loop=%d must divide the %d steps per epoch and '
          'the %d steps of the run.'
          % (steps_per_run, steps_per_epoch, total_steps))
  proto, device, precision = make_session_config(config, steps_per_run)
  if cluster.config is not None:
    proto.MergeFrom(cluster.config)
  if cluster.size > 1:
    learning_rate = distributed.scaled_learning_rate(
        config.learning_rate, config.lr_scaling, cluster.size)
    logging.info('Rank %d of %d (%s): batch %d here, %d in all; learning '
                 'rate %g scaled %s to %g.', cluster.rank, cluster.size,
                 cluster.engine, config.batch_size, global_batch,
                 config.learning_rate, config.lr_scaling, learning_rate)
    config = config._replace(learning_rate=learning_rate)

  net = graphs.build_train_graph(
      files, config.batch_size, None, config.depths, config.ks,
      config.class_num, _schedule(config, steps_per_epoch, total_steps),
      augmentation=config.augmentation, normalization=config.normalization,
      dropout_rate=config.dropout_rate, momentum=config.momentum,
      nesterov=config.nesterov, weight_decay=config.weight_decay,
      weight_decay_mode=config.weight_decay_mode, device=device,
      precision=precision, iterations_per_loop=steps_per_run,
      seed=config.seed, cluster=cluster)
  with net.graph.as_default(), tf.device(cluster.device):
    saver = tf.train.Saver(max_to_keep=config.keep_checkpoints)
    best_saver = tf.train.Saver(max_to_keep=1)
    initializer = tf.global_variables_initializer()
    # Only rank 0 reads checkpoints; the broadcast hands its state to all.
    restorer = _build_restorer(net, config) if chief else None
    broadcast = distributed.broadcast_from_rank0(
        net.graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES), cluster)
    trainable = set(v.op.name for v in net.graph.get_collection(
        tf.GraphKeys.TRAINABLE_VARIABLES))
    # Each process updates the moving statistics from its own batches.
    average_statistics = distributed.average_over_cluster(
        [v for v in net.model_variables if v.op.name not in trainable],
        cluster)
    weights_finite = tf.reduce_all(tf.stack(
        [tf.reduce_all(tf.is_finite(v)) for v in net.model_variables]))
    if steps_per_run > 1:
      # The adapter's documented way to run several steps per session.run
      # in a graph that is finalised afterwards.
      iteration = graphs._npu_module('estimator.npu.util').IterationPerLoop()
      net = net._replace(
          train_op=iteration.create_iteration_per_loop_var(net.train_op))
  net.graph.finalize()

  logging.info('WRN-%d-%d, %d classes: %d trainable parameters.',
               config.depths, config.ks, config.class_num,
               count_parameters(net.graph))
  logging.info('Training on %d images from %d file(s): %d steps of batch %d '
               '(%d epochs of %d steps).', image_count, len(files),
               total_steps, config.batch_size, config.epoch, steps_per_epoch)

  evaluator = None
  if config.eval_data_path and chief:
    evaluator = _LazyEvaluator(eval_files, eval_count, config)

  if chief:
    os.makedirs(config.output_path, exist_ok=True)
    run_metrics.write_config(config.output_path, dict(
        config._asdict(), tensorflow=tf.VERSION, image_count=image_count,
        steps_per_epoch=steps_per_epoch, total_steps=total_steps,
        processes=cluster.size, engine=cluster.engine))
  checkpoint_prefix = os.path.join(config.output_path,
                                   checkpoints.CHECKPOINT_NAME)
  best_prefix = os.path.join(config.output_path, 'best',
                             checkpoints.CHECKPOINT_NAME)

  with tf.Session(cluster.target, graph=net.graph, config=proto) as sess:
    logging.info('%s', _restore_or_initialise(sess, net, initializer,
                                              restorer))
    if restorer and restorer[2]:
      saver.recover_last_checkpoints(tf.train.get_checkpoint_state(
          config.output_path).all_model_checkpoint_paths)
    sess.run(broadcast)
    sess.run(net.iterator_init)
    if steps_per_run > 1:
      iteration.load_iteration_per_loop_var(sess, steps_per_run)

    loop = _TrainingLoop(sess, net, config, saver, weights_finite,
                         average_statistics, checkpoint_prefix,
                         steps_per_epoch, total_steps, steps_per_run,
                         cluster)
    try:
      saved = loop.run(evaluator, best_saver, best_prefix)
      if cluster.size > 1:
        logging.info('Rank %d of %d finished at global step %d; weights '
                     'fingerprint %s.', cluster.rank, cluster.size,
                     sess.run(net.global_step),
                     _fingerprint(sess, net.model_variables))
      return saved
    finally:
      loop.close()
      if evaluator is not None:
        evaluator.close()


def _fingerprint(sess, variables):
  """A SHA-1 of the variables' values, to compare processes' weights."""
  digest = hashlib.sha1()
  for value in sess.run(variables):
    digest.update(np.ascontiguousarray(value).tobytes())
  return digest.hexdigest()


class _LazyEvaluator(object):
  """Validation during training: the graph is built at the first epoch end.

  Built lazily so a run that starts from scratch has a checkpoint to check
  the evaluation graph against.
  """

  def __init__(self, files, image_count, config):
    self._args = (files, image_count, config.batch_size, config.depths,
                  config.ks, config.class_num, config.normalization)
    # One step per session.run: evaluation needs no iterations_per_loop.
    self._session_proto = session_config.make_session_config(
        config.precision, config.precision_mode)[0]
    self._evaluator = None

  def run(self, prefix):
    if self._evaluator is None:
      self._evaluator = Evaluator(*self._args, prefix=prefix,
                                  session_config=self._session_proto)
    return self._evaluator.run(prefix)

  def close(self):
    if self._evaluator is not None:
      self._evaluator.close()


class _TrainingLoop(object):
  """The step loop: progress lines, saves, validation, signals, NaN guard."""

  def __init__(self, sess, net, config, saver, weights_finite,
               average_statistics, checkpoint_prefix, steps_per_epoch,
               total_steps, steps_per_run, cluster):
    self._sess = sess
    self._net = net
    self._config = config
    self._saver = saver
    self._weights_finite = weights_finite
    self._average_statistics = average_statistics
    self._prefix = checkpoint_prefix
    self._steps_per_epoch = steps_per_epoch
    self._total_steps = total_steps
    self._steps_per_run = steps_per_run
    self._cluster = cluster
    self._chief = cluster.rank == 0
    # The loss, accuracy and stop request agreed over all processes.
    self._fetches = [net.train_op] + list(net.agreed) + [net.learning_rate]
    if net.loss_scale is not None:
      self._fetches.append(net.loss_scale)
    # Only rank 0 writes files.
    self._recorder = (run_metrics.RunRecorder(config.output_path)
                      if self._chief else None)
    self._last_saved = None

  def _save(self, step):
    if not self._chief:
      return None
    # A finite loss was computed with the weights before this step's update;
    # the update itself may have overflowed.
    if not self._sess.run(self._weights_finite):
      raise ValueError(
          'the weights stopped being finite at global step %d; stopped '
          'without saving. The last good checkpoint is %s. Lower '
          '--learning_rate or check the data.' % (step, self._last_saved))
    self._last_saved = self._saver.save(self._sess, self._prefix,
                                        global_step=step)
    return self._last_saved

  def _stop_decision(self, stop, stop_votes):
    """The signal to stop for after this step, or None to go on.

    With several processes, only the request agreed within the step
    counts, so that all of them stop after the same step.
    """
    if self._cluster.size == 1:
      return stop.received
    if stop_votes > 0:
      return stop.received or signal.SIGTERM
    return None

  def _log_progress(self, epoch, step, done, loss, accuracy, rate,
                    loss_scale, speed):
    """The original's progress line on rank 0; throughput on the others."""
    images_per_sec, seconds_left = speed
    if not self._chief:
      logging.info('Rank %d: epoch %d, step %d, %.1f images/sec.',
                   self._cluster.rank, epoch, step, images_per_sec)
      return

    print('Epoch %d, step %d, train loss = %.4f, train accuracy = %.2f%%'
          ', lr = %g, %.1f images/sec, ETA %s%s'
          % (epoch, step, loss, 100.0 * accuracy, rate, images_per_sec,
             progress.format_duration(seconds_left),
             '' if loss_scale is None else ', loss scale %g' % loss_scale),
          flush=True)
    scalars = {'train/loss': loss, 'train/accuracy': accuracy,
               'train/learning_rate': rate,
               'train/images_per_sec': images_per_sec}
    if loss_scale is not None:
      scalars['train/loss_scale'] = loss_scale
    self._recorder.scalars(done, scalars)

  def run(self, evaluator, best_saver, best_prefix):
    """Trains until the last step; returns the newest checkpoint prefix."""
    config = self._config
    done = int(self._sess.run(self._net.global_step))
    if self._chief:
      self._last_saved = tf.train.latest_checkpoint(config.output_path)
    if done >= self._total_steps:
      logging.info('The run in %s already took its %d steps; nothing to do.',
                   config.output_path, done)
      return self._last_saved

    best = _best_accuracy(config.output_path) if self._chief else None
    schedule = checkpoints.SaveSchedule(config.save_every_steps,
                                        config.save_every_minutes)
    meter = progress.ProgressMeter(self._total_steps - done,
                                   config.batch_size)
    started_at = done
    epoch_sums = np.zeros(3)  # loss, accuracy, steps
    epoch_start = time.time()

    with StopSignals() as stop:
      while done < self._total_steps:
        # One session.run takes steps_per_run steps (several only on an
        # NPU with --iterations_per_loop); step is the last one's number.
        epoch = done // self._steps_per_epoch + 1
        step = done % self._steps_per_epoch + self._steps_per_run
        _, loss, accuracy, stop_votes, rate, loss_scale = (
            self._sess.run(self._fetches, {
                self._net.stop_request: 1.0 if stop.received else 0.0,
            }) + [None])[:6]
        done += self._steps_per_run

        if not np.isfinite(loss):
          raise ValueError(
              'the training loss became %s at global step %d (epoch %d, '
              'step %d); stopped without saving. The last good checkpoint '
              'is %s. Lower --learning_rate or check the data.'
              % (loss, done, epoch, step, self._last_saved))
        epoch_sums += (loss * self._steps_per_run,
                       accuracy * self._steps_per_run, self._steps_per_run)

        if step // LOG_EVERY_STEPS > (step - self._steps_per_run) // (
            LOG_EVERY_STEPS):
          self._log_progress(epoch, step, done, loss, accuracy, rate,
                             loss_scale, meter.report(done - started_at))

        stopping = self._stop_decision(stop, stop_votes)
        epoch_end = (done % self._steps_per_epoch == 0
                     or done == self._total_steps)
        if epoch_end or stopping:
          # Every process reaches these steps together.
          self._sess.run(self._average_statistics)
        if epoch_end or stopping or schedule.due(done):
          saved = self._save(done)
          schedule.saved()
          if saved:
            logging.info('Saved %s.', saved)

        if epoch_end and self._chief:
          record = {
              'epoch': epoch, 'global_step': done,
              'train_loss': epoch_sums[0] / epoch_sums[2],
              'train_accuracy': epoch_sums[1] / epoch_sums[2],
              'learning_rate': float('%.7g' % rate),
              'seconds': round(time.time() - epoch_start, 3)}
          if evaluator is not None:
            metrics = evaluator.run(saved)
            record.update(val_loss=metrics['loss'],
                          val_accuracy=metrics['accuracy'])
            self._recorder.scalars(done, {
                'validation/loss': metrics['loss'],
                'validation/accuracy': metrics['accuracy']})
            logging.info('Epoch %d validation: loss %.5f, accuracy %.4f on '
                         '%d images.', epoch, metrics['loss'],
                         metrics['accuracy'], metrics['images'])
            if best is None or metrics['accuracy'] > best:
              best = metrics['accuracy']
              best_saver.save(self._sess, best_prefix)
              logging.info('New best validation accuracy %.4f; saved %s.',
                           best, best_prefix)
          self._recorder.epoch(record)
          logging.info('Epoch %d: %s', epoch, json.dumps(record,
                                                         sort_keys=True))
          epoch_sums[:] = 0
          epoch_start = time.time()

        if stopping:
          raise TrainingInterrupted(stopping, saved)
    return self._last_saved

  def close(self):
    if self._recorder is not None:
      self._recorder.close()


def evaluate(config):
  """Evaluates a checkpoint on every record in config.data_path once.

  Args:
    config: a RunConfig with model_path set.

  Returns:
    A dict with 'loss' (mean cross-entropy), 'accuracy' (top-1 fraction)
    and 'images' (records evaluated), all exact over the records.

  Raises:
    ValueError: on bad records, or a checkpoint that is missing or does
      not fit the network.
  """
  prefix = checkpoints.resolve_checkpoint(config.model_path)
  files, image_count = checked_records(config.data_path, config)
  evaluator = Evaluator(files, image_count, config.batch_size, config.depths,
                        config.ks, config.class_num, config.normalization,
                        prefix, make_session_config(config)[0])
  logging.info('Evaluating %s on %d images from %d file(s) in batches of '
               '%d.', prefix, image_count, len(files), config.batch_size)
  try:
    return evaluator.run(prefix)
  finally:
    evaluator.close()


def main(argv):
  if command_line.stray_arguments(argv):
    return 2

  try:
    config = config_from_flags()
    logging.info('Configuration: %s', json.dumps(config._asdict(),
                                                 sort_keys=True))
    if config.do_train:
      train(config)
    else:
      metrics = evaluate(config)
      print('wideresnet eval  loss=%.5f   acc=%.4f'
            % (metrics['loss'], metrics['accuracy']), flush=True)
  except ValueError as error:
    logging.error('%s', error)
    return 1
  except tf.errors.OpError as error:
    logging.error('TensorFlow stopped the run: %s',
                  command_line.describe_tf_error(error))
    return 1
  except TrainingInterrupted as stop:
    logging.info('Stopped by %s; saved %s. Run the same command to resume.',
                 signal.Signals(stop.signum).name, stop.checkpoint)
    return 128 + stop.signum
  return 0


def run():
  """Entry point: parses the command line and calls main()."""
  app.run(main, argv=command_line.join_boolean_values(
      sys.argv, command_line.boolean_flag_names(FLAGS)))


if __name__ == '__main__':
  run()
