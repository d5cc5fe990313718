r"""Trains or evaluates a Wide ResNet (WRN-d-k) on CIFAR-style TFRecords.

Fine-tune WRN-28-10 from a checkpoint (the original port's command):

  python run_wideresnet.py --model_path ./model/wideresnet.ckpt \
      --data_path ./train_data --output_path ./model_save --depths 28 \
      --ks 10 --do_train True --image_num 50000 --batch_size 32 --epoch 10 \
      --learning_rate 0.00016

Evaluate the result on every record in a folder:

  python run_wideresnet.py --model_path ./model_save/wideresnet.ckpt \
      --data_path ./test_data --image_num 10000 --batch_size 100

Runs on an Ascend NPU when CANN's npu_bridge imports, otherwise on the CPU
or GPU.
"""

import collections
import json
import math
import os
import sys
import time

from absl import app
from absl import flags
from absl import logging
import numpy as np

import checkpoints
import data_input
import progress
import graphs
import session_config
from tf_compat import tf

FLAGS = flags.FLAGS

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
    'Folder where training writes wideresnet.ckpt after every epoch; '
    'created if missing. Required for training.')
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
    'Records expected in data_path. Sets the steps per epoch '
    '(image_num // batch_size); if the folder holds a different number, a '
    'warning is logged and the real count is used.', lower_bound=1)
flags.DEFINE_integer(
    'batch_size', 32,
    'Images per step. Evaluation counts every record whatever the batch '
    'size.', lower_bound=1)
flags.DEFINE_integer(
    'epoch', 10, 'Training epochs (passes over data_path).', lower_bound=1)
flags.DEFINE_float(
    'learning_rate', 0.00016, 'Constant learning rate of the momentum '
    'optimizer.')
flags.DEFINE_integer(
    'class_num', 100, 'Number of classes: 100 for CIFAR-100, 10 for '
    'CIFAR-10. Labels must lie in [0, class_num).', lower_bound=2)

flags.DEFINE_integer(
    'max_steps', 0,
    'Stop training after this many steps in all, saving a checkpoint; 0 '
    'runs every epoch. For short performance runs.', lower_bound=0)
flags.DEFINE_enum(
    'augmentation', 'cifarnet', sorted(data_input.AUGMENTATIONS),
    'Training augmentation. cifarnet: the original recipe (pad and crop, '
    'flip, brightness, contrast). none: standardisation only, for data '
    'that flips would corrupt, such as digits. Evaluation never augments.')

flags.register_validator(
    'depths', lambda depths: depths >= 10 and (depths - 4) % 6 == 0,
    message='--depths must be 6n+4 with n >= 1: 10, 16, 22, 28, 34, 40, ...')
flags.register_validator(
    'learning_rate', lambda rate: rate > 0,
    message='--learning_rate must be positive, e.g. 0.00016.')
flags.register_validator(
    'data_path', lambda path: bool(path),
    message='--data_path is required: the folder of TFRecord files.')
flags.register_multi_flags_validator(
    ['do_train', 'output_path', 'model_path'],
    lambda values: (bool(values['output_path']) if values['do_train']
                    else checkpoint_or_none(values['model_path']) is not None),
    message='training needs --output_path; evaluation (the default, or '
    '--do_train False) needs --model_path.')

# Steps between progress lines, as in the original.
LOG_EVERY_STEPS = 10

RunConfig = collections.namedtuple('RunConfig', [
    'model_path', 'data_path', 'output_path', 'depths', 'ks', 'class_num',
    'image_num', 'batch_size', 'epoch', 'learning_rate', 'augmentation',
    'max_steps'])


def checkpoint_or_none(model_path):
  """Returns model_path, or None when it is unset, empty or 'None'."""
  if model_path is None or model_path.strip() in ('', 'None', 'none'):
    return None
  return model_path


def join_boolean_values(argv, boolean_flags):
  """Joins '--flag True' into '--flag=True' for boolean flags.

  absl reads a lone '--do_train' as true and the word after it as a
  positional argument, so the original's documented '--do_train False'
  trained. Joining the two makes it mean what it says.

  Args:
    argv: the command line, program name first.
    boolean_flags: names of the boolean flags.

  Returns:
    A new argument list.
  """
  words = ('true', 'false', 't', 'f', '1', '0')
  joined = list(argv[:1])
  index = 1
  while index < len(argv):
    arg = argv[index]
    if arg == '--':
      joined.extend(argv[index:])
      break
    following = argv[index + 1] if index + 1 < len(argv) else None
    if (arg.startswith('-') and '=' not in arg
        and arg.lstrip('-') in boolean_flags
        and following is not None and following.lower() in words):
      joined.append('%s=%s' % (arg, following))
      index += 2
    else:
      joined.append(arg)
      index += 1
  return joined


def count_parameters(graph):
  """Returns the number of trainable scalars in a graph."""
  return int(sum(np.prod(v.shape.as_list()) for v in
                 graph.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES)))


def new_session(graph):
  """Opens a session on the Ascend NPU if present, else on the CPU/GPU."""
  proto, device = session_config.make_session_config()
  if device == session_config.DEVICE_NPU:
    logging.info('Device: Ascend NPU through npu_bridge (NpuOptimizer).')
  else:
    logging.info('Device: CPU/GPU (npu_bridge is not installed).')
  return tf.Session(graph=graph, config=proto)


def checked_record_count(files, config):
  """Counts the records and reconciles the count with --image_num.

  Args:
    files: the TFRecord paths of config.data_path.
    config: a RunConfig.

  Returns:
    The real number of records.
  """
  count = data_input.count_records(files)
  if count != config.image_num:
    logging.warning(
        '--image_num=%d but %s holds %d records in %d file(s); using %d.',
        config.image_num, config.data_path, count, len(files), count)
  return count


def train(config):
  """Trains the network and saves a checkpoint after every epoch.

  Args:
    config: a RunConfig; model_path may be None to start from scratch.

  Returns:
    The checkpoint prefix written last.

  Raises:
    ValueError: on a data folder without records, fewer records than one
      batch, or a checkpoint that does not fit the network.
  """
  files = data_input.list_record_files(config.data_path)
  image_count = checked_record_count(files, config)
  steps_per_epoch = image_count // config.batch_size
  if steps_per_epoch == 0:
    raise ValueError(
        '%s holds %d records, fewer than one batch of --batch_size=%d; lower '
        'the batch size.' % (config.data_path, image_count, config.batch_size))
  total_steps = steps_per_epoch * config.epoch
  if config.max_steps:
    total_steps = min(total_steps, config.max_steps)

  net = graphs.build_train_graph(
      files, config.batch_size, config.epoch, config.depths, config.ks,
      config.class_num, config.learning_rate, config.augmentation)
  with net.graph.as_default():
    saver = tf.train.Saver()
    initializer = tf.global_variables_initializer()
    if config.model_path is not None:
      prefix = checkpoints.resolve_checkpoint(config.model_path)
      restorer, absent_slots = checkpoints.make_restorer(
          prefix, net.model_variables, net.slot_variables)
  net.graph.finalize()

  parameter_count = count_parameters(net.graph)
  logging.info('WRN-%d-%d, %d classes: %d trainable parameters.',
               config.depths, config.ks, config.class_num, parameter_count)
  logging.info('Training on %d images from %d file(s): %d epochs of %d steps '
               'at batch %d.', image_count, len(files), config.epoch,
               steps_per_epoch, config.batch_size)
  if total_steps < steps_per_epoch * config.epoch:
    logging.info('--max_steps=%d: stopping after %d steps.', config.max_steps,
                 total_steps)

  os.makedirs(config.output_path, exist_ok=True)
  checkpoint_prefix = os.path.join(config.output_path,
                                   checkpoints.CHECKPOINT_NAME)

  with new_session(net.graph) as sess:
    sess.run(initializer)
    if config.model_path is None:
      logging.info('No --model_path: training from scratch.')
    else:
      restorer.restore(sess, prefix)
      logging.info('Fine-tuning from %s.', prefix)
      if absent_slots:
        logging.info('The checkpoint has no optimizer slots for %d '
                     'variables; their momentum starts at zero.',
                     len(absent_slots))

    meter = progress.ProgressMeter(total_steps, config.batch_size)
    done = 0
    for epoch in range(1, config.epoch + 1):
      epoch_start = time.time()
      for step in range(1, min(steps_per_epoch, total_steps - done) + 1):
        _, loss_value, accuracy_value = sess.run(
            [net.train_op, net.loss, net.accuracy])
        done += 1

        if step % LOG_EVERY_STEPS == 0:
          images_per_sec, seconds_left = meter.report(done)
          print('Epoch %d, step %d, train loss = %.4f, train accuracy = %.2f%%'
                ', lr = %g, %.1f images/sec, ETA %s'
                % (epoch, step, loss_value, 100.0 * accuracy_value,
                   config.learning_rate, images_per_sec,
                   progress.format_duration(seconds_left)), flush=True)

      saved = saver.save(sess, checkpoint_prefix)
      logging.info('Epoch %d/%d took %s; saved %s (global step %d).', epoch,
                   config.epoch,
                   progress.format_duration(time.time() - epoch_start), saved,
                   sess.run(net.global_step))
      if done == total_steps:
        break
  return saved


def evaluate(config):
  """Evaluates a checkpoint on every record in config.data_path once.

  Args:
    config: a RunConfig with model_path set.

  Returns:
    A dict with 'loss' (mean cross-entropy), 'accuracy' (top-1 fraction)
    and 'images' (records evaluated), all exact over the records.

  Raises:
    ValueError: on a data folder without records, or a checkpoint that is
      missing or does not fit the network.
  """
  files = data_input.list_record_files(config.data_path)
  prefix = checkpoints.resolve_checkpoint(config.model_path)
  image_count = checked_record_count(files, config)
  batch_count = int(math.ceil(image_count / float(config.batch_size)))

  net = graphs.build_eval_graph(files, config.batch_size, config.depths,
                                config.ks, config.class_num)
  with net.graph.as_default():
    restorer, _ = checkpoints.make_restorer(prefix, net.model_variables)
  net.graph.finalize()
  logging.info('WRN-%d-%d, %d classes: %d trainable parameters.',
               config.depths, config.ks, config.class_num,
               count_parameters(net.graph))

  with new_session(net.graph) as sess:
    restorer.restore(sess, prefix)
    logging.info('Evaluating %s on %d images from %d file(s) in %d batches '
                 'of %d.', prefix, image_count, len(files), batch_count,
                 config.batch_size)

    # Summed on the host in float64 and integers, over real images only.
    loss_sum = 0.0
    correct_count = 0
    seen = 0
    meter = progress.ProgressMeter(batch_count, config.batch_size)
    for batch in range(1, batch_count + 1):
      loss_values, correct_values, real = sess.run(
          [net.losses, net.correct, net.mask])
      loss_sum += float(np.sum(loss_values[real], dtype=np.float64))
      correct_count += int(np.count_nonzero(correct_values[real]))
      seen += int(np.count_nonzero(real))
      if batch % LOG_EVERY_STEPS == 0 or batch == batch_count:
        images_per_sec, seconds_left = meter.report(batch)
        logging.info('Evaluated %d/%d images, %.1f images/sec, ETA %s.', seen,
                     image_count, images_per_sec,
                     progress.format_duration(seconds_left))

  if seen != image_count:
    raise ValueError('%s changed during evaluation: counted %d records, '
                     'evaluated %d.' % (config.data_path, image_count, seen))
  return {'loss': loss_sum / seen, 'accuracy': correct_count / float(seen),
          'images': seen}


def main(argv):
  if len(argv) > 1:
    logging.error('Unexpected argument(s): %s. Flags take the form '
                  '--name=value or --name value.', ' '.join(argv[1:]))
    return 2

  config = RunConfig(
      model_path=checkpoint_or_none(FLAGS.model_path),
      data_path=FLAGS.data_path,
      output_path=FLAGS.output_path,
      depths=FLAGS.depths,
      ks=FLAGS.ks,
      class_num=FLAGS.class_num,
      image_num=FLAGS.image_num,
      batch_size=FLAGS.batch_size,
      epoch=FLAGS.epoch,
      learning_rate=FLAGS.learning_rate,
      augmentation=FLAGS.augmentation,
      max_steps=FLAGS.max_steps)
  logging.info('Configuration: %s', json.dumps(
      dict(config._asdict(), do_train=FLAGS.do_train), sort_keys=True))
  try:
    if FLAGS.do_train:
      train(config)
    else:
      metrics = evaluate(config)
      print('wideresnet eval  loss=%.5f   acc=%.4f'
            % (metrics['loss'], metrics['accuracy']), flush=True)
  except ValueError as error:
    logging.error('%s', error)
    return 1
  return 0


def run():
  """Entry point: parses the command line and calls main()."""
  boolean_flags = [name for name in FLAGS if FLAGS[name].boolean]
  app.run(main, argv=join_boolean_values(sys.argv, boolean_flags))


if __name__ == '__main__':
  run()
