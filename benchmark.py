r"""Measures training and evaluation throughput side by side, in one process.

  python benchmark.py --depths 16 --ks 4 --batch_size 64 --steps 40 \
      --json benchmark.json

The same training step is timed four ways:

  (a) compute only: the training graph on one constant batch held in memory,
      the bound that any input pipeline can at best reach;
  (b) pipeline: the real training path, tf.data from TFRecords with the
      augmentation, straight into the network (run_wideresnet.py's path);
  (c) feed_dict: the original port's design, each batch fetched with
      sess.run and fed back into `inputx` and the labels;
  (d) mixed: (b) with --precision mixed;

and then evaluation (evaluation.Evaluator) on records of its own. Every
mode first takes --warmup_steps untimed steps; the timed steps then run in
--rounds interleaved rounds, each round in a different order, so that a
change in the machine's load touches every mode alike. A mode's images/sec
is the median of its rounds, which a burst of other work in one round does
not move. The records are synthetic (random images and labels), written to
a temporary folder that is removed at the end. A table with the ratios
(b)/(a), (b)/(c) and (d)/(b) goes to stdout, the numbers to --json.
"""

import collections
import json
import os
import platform
import shutil
import tempfile
import time

from absl import app
from absl import flags
from absl import logging
import numpy as np

import command_line
import data_input
from evaluation import Evaluator
import graphs
import session_config
from tf_compat import tf

FLAGS = flags.FLAGS

flags.DEFINE_integer(
    'depths', 16, 'Network depth d of WRN-d-k; must be 6n+4 (10, 16, 28...).')
flags.DEFINE_integer(
    'ks', 4, 'Widening factor k of WRN-d-k.', lower_bound=1)
flags.DEFINE_integer(
    'batch_size', 64, 'Images per step, training and evaluation.',
    lower_bound=1)
flags.DEFINE_integer(
    'class_num', 100, 'Number of classes of the network and the records.',
    lower_bound=2)
flags.DEFINE_integer(
    'steps', 40, 'Timed training steps per mode; evaluation times as many '
    'batches.', lower_bound=1)
flags.DEFINE_integer(
    'warmup_steps', 5,
    'Untimed steps per mode before timing: graph optimisation, the first '
    'input fill and oneDNN set-up happen here.', lower_bound=1)
flags.DEFINE_integer(
    'rounds', 8,
    'The timed steps of every mode are split into this many interleaved '
    'rounds, each in another order; a mode\'s images/sec is the median of '
    'its rounds. At most --steps.', lower_bound=1)
flags.DEFINE_integer(
    'records', 5000,
    'Synthetic training records written for (b), (c) and (d); at least '
    '--batch_size.', lower_bound=1)
flags.DEFINE_enum(
    'precision', 'fp32', list(session_config.PRECISIONS),
    'Precision of (a), (b), (c) and evaluation. (d) always runs --precision '
    'mixed, so with mixed here (d)/(b) compares mixed with itself.')
flags.DEFINE_string(
    'json', None, 'Write the measurements to this JSON file; its folder '
    'must exist.')
flags.DEFINE_integer(
    'seed', 1, 'Seed of the synthetic records and the constant batch.',
    lower_bound=0)

flags.register_validator(
    'depths', lambda depths: depths >= 10 and (depths - 4) % 6 == 0,
    message='--depths must be 6n+4 with n >= 1: 10, 16, 22, 28, 34, 40, ...')
flags.register_multi_flags_validator(
    ['rounds', 'steps'], lambda values: values['rounds'] <= values['steps'],
    message='--rounds must be at most --steps: each round times at least '
    'one step of every mode.')
flags.register_multi_flags_validator(
    ['records', 'batch_size'],
    lambda values: values['records'] >= values['batch_size'],
    message='--records must be at least --batch_size: training takes only '
    'full batches.')
flags.register_validator(
    'json', lambda path: not path or (
        os.path.isdir(os.path.dirname(os.path.abspath(path)))
        and not os.path.isdir(path)),
    message='--json must be a file in an existing folder.')

# The modes, in table order: JSON key, table label.
MODES = collections.OrderedDict([
    ('compute_only', '(a) compute only, one constant batch'),
    ('pipeline', '(b) pipeline: TFRecords, augmentation'),
    ('feed_dict', '(c) feed_dict: the original\'s design'),
    ('mixed_pipeline', '(d) pipeline, --precision mixed'),
])

# JSON key, table label, numerator, denominator, and the target on the
# reference CPU (2 AMD EPYC cores with AVX-512 BF16; WRN-16-4, batch 64).
RATIOS = [
    ('b_over_a', '(b)/(a)', 'pipeline', 'compute_only', 0.95),
    ('b_over_c', '(b)/(c)', 'pipeline', 'feed_dict', 1.0),
    ('d_over_b', '(d)/(b)', 'mixed_pipeline', 'pipeline', 1.3),
]

# Learning rate of the timed steps: the original port's.
LEARNING_RATE = 0.00016

Mode = collections.namedtuple('Mode', [
    'key',        # a key of MODES
    'session',    # the tf.Session running the graph
    'step',       # function of no arguments running one training step
    'precision',  # the effective precision of the session
    'saver',      # tf.train.Saver of the network's variables
    'fetching',   # [seconds spent fetching batches to feed], or None
])


def write_records(path, count, class_num, rng):
  """Writes `count` random images with random labels as TFRecords.

  Args:
    path: the file to write.
    count: number of records.
    class_num: labels are drawn from [0, class_num).
    rng: numpy RandomState.
  """
  with tf.io.TFRecordWriter(path) as writer:
    for _ in range(count):
      image = rng.randint(0, 256, size=(32, 32, 3)).astype(np.uint8)
      label = int(rng.randint(0, class_num))
      example = data_input.make_example(image, label, label % 20)
      writer.write(example.SerializeToString())


def constant_batch(batch_size, class_num, rng):
  """One batch as the pipeline delivers it: standardised images, labels.

  Returns:
    (images float32 [batch_size, 32, 32, 3], labels int64 [batch_size]).
  """
  images = rng.standard_normal(
      (batch_size, data_input.IMAGE_SIZE, data_input.IMAGE_SIZE,
       data_input.CHANNELS)).astype(np.float32)
  labels = rng.randint(0, class_num, size=batch_size).astype(np.int64)
  return images, labels


def fed_tensors(graph):
  """Finds the tensors the original's design feeds in a training graph.

  Returns:
    (inputx, batch images, batch labels): the `inputx` placeholder, and
    the two outputs of the iterator it defaults to.

  Raises:
    RuntimeError: if `inputx` does not default to an iterator's images.
  """
  inputx = graph.get_tensor_by_name(graphs.INPUT_NAME + ':0')
  images = inputx.op.inputs[0]
  if images.op.type != 'IteratorGetNext' or len(images.op.outputs) != 2:
    raise RuntimeError(
        '%s defaults to %s (%s), not to the images of the input iterator; '
        'graphs.build_train_graph changed.'
        % (graphs.INPUT_NAME, images.name, images.op.type))
  return inputx, images, images.op.outputs[1]


def build_mode(key, files, precision, batch):
  """Builds the graph and session of one mode and initialises it.

  Args:
    key: a key of MODES.
    files: the training records.
    precision: 'fp32' or 'mixed', as asked.
    batch: the (images, labels) numpy batch of the compute-only mode.

  Returns:
    A Mode.
  """
  config, device, effective = session_config.make_session_config(precision)
  dataset_fn = None
  if key == 'compute_only':
    def dataset_fn():
      return tf.data.Dataset.from_tensors(batch).repeat()

  net = graphs.build_train_graph(
      files, FLAGS.batch_size, None, FLAGS.depths, FLAGS.ks, FLAGS.class_num,
      LEARNING_RATE, device=device, precision=effective,
      seed=FLAGS.seed, dataset_fn=dataset_fn)
  with net.graph.as_default():
    initializer = tf.global_variables_initializer()
    saver = tf.train.Saver(net.model_variables)
  net.graph.finalize()

  session = tf.Session(graph=net.graph, config=config)
  session.run([initializer, net.iterator_init])
  fetches = [net.train_op, net.loss]

  fetching = None
  if key == 'feed_dict':
    inputx, images, labels = fed_tensors(net.graph)
    fetching = [0.0]

    def step():
      start = time.perf_counter()
      fed_images, fed_labels = session.run([images, labels])
      fetching[0] += time.perf_counter() - start
      return session.run(fetches, {inputx: fed_images, labels: fed_labels})
  else:
    def step():
      return session.run(fetches)

  return Mode(key, session, step, effective, saver, fetching)


def split_steps(steps, rounds):
  """Splits `steps` into `rounds` near-equal positive parts."""
  return [steps * (r + 1) // rounds - steps * r // rounds
          for r in range(rounds)]


def cpu_seconds():
  """CPU time this process used so far, user and system."""
  times = os.times()
  return times[0] + times[1]


def time_training(modes, warmup_steps, steps, rounds, batch_size):
  """Warms up every mode, then times them in interleaved rounds.

  Args:
    modes: list of Mode.
    warmup_steps: untimed steps per mode.
    steps: timed steps per mode.
    rounds: number of rounds; round r runs the modes rotated by r.
    batch_size: images per step.

  Returns:
    A dict from mode key to a dict with 'round_img_s' (images/sec of each
    round, in order), 'seconds', 'cpu_seconds' (this process, all threads)
    and 'steps', summed over the rounds, 'last_loss', and for a mode that
    fetches its batches to feed them, 'fetch_seconds' (the part of
    'seconds' spent fetching).

  Raises:
    ValueError: if a mode's loss is not finite.
  """
  for mode in modes:
    logging.info('Warming up %s: %d steps.', mode.key, warmup_steps)
    for _ in range(warmup_steps):
      mode.step()

  totals = dict((mode.key, {'round_img_s': [], 'seconds': 0.0,
                            'cpu_seconds': 0.0, 'steps': 0})
                for mode in modes)
  for mode in modes:
    if mode.fetching is not None:
      mode.fetching[0] = 0.0
      totals[mode.key]['fetch_seconds'] = 0.0
  for index, count in enumerate(split_steps(steps, rounds)):
    shift = index % len(modes)
    for mode in modes[shift:] + modes[:shift]:
      cpu_start = cpu_seconds()
      start = time.perf_counter()
      for _ in range(count):
        _, loss = mode.step()
      seconds = time.perf_counter() - start

      total = totals[mode.key]
      if mode.fetching is not None:
        total['fetch_seconds'] = mode.fetching[0]
      total['round_img_s'].append(count * batch_size / seconds)
      total['seconds'] += seconds
      total['cpu_seconds'] += cpu_seconds() - cpu_start
      total['steps'] += count
      total['last_loss'] = float(loss)
      logging.info('Round %d/%d, %s: %d steps, %.1f images/sec.',
                   index + 1, rounds, mode.key, count,
                   total['round_img_s'][-1])
      if not np.isfinite(loss):
        raise ValueError('the %s loss became %s; the benchmark is void.'
                         % (mode.key, loss))
  return totals


def time_evaluation(files, image_count, prefix, precision):
  """Evaluates a checkpoint twice; the second, warm pass is timed.

  Returns:
    (images per second, effective precision).
  """
  config, _, effective = session_config.make_session_config(precision)
  evaluator = Evaluator(files, image_count, FLAGS.batch_size, FLAGS.depths,
                        FLAGS.ks, FLAGS.class_num, 'per_image', prefix,
                        config)
  try:
    logging.info('Evaluation warm-up pass over %d images.', image_count)
    evaluator.run(prefix)
    start = time.perf_counter()
    result = evaluator.run(prefix)
    seconds = time.perf_counter() - start
  finally:
    evaluator.close()
  return result['images'] / seconds, effective


def describe_device(device):
  """A line naming the device, e.g. the CPU model and its core count."""
  if device != session_config.DEVICE_CPU:
    return device
  model = platform.processor() or platform.machine()
  try:
    with open('/proc/cpuinfo') as stream:
      for line in stream:
        if line.startswith('model name'):
          model = line.split(':', 1)[1].strip()
          break
  except (IOError, OSError):
    pass
  return 'cpu: %s, %d logical cores, bfloat16 %s' % (
      model, os.cpu_count() or 0,
      'yes' if session_config.cpu_has_bfloat16() else 'no')


def load_average():
  """The 1, 5 and 15 minute load averages, or None where unknown."""
  try:
    return [round(value, 2) for value in os.getloadavg()]
  except (AttributeError, OSError):
    return None


def format_table(result):
  """The human-readable table of a benchmark result dict."""
  settings = result['settings']
  lines = [
      'WRN-%d-%d, batch %d, TensorFlow %s, Python %s' % (
          settings['depths'], settings['ks'], settings['batch_size'],
          result['tensorflow'], result['python']),
      'Device: %s' % result['device'],
      '%d timed steps per mode in %d interleaved rounds, after %d warm-up '
      'steps' % (settings['steps'], settings['rounds'],
                 settings['warmup_steps']),
      'Load average (1/5/15 min): %s before, %s after' % (
          _load_text(result['load_average_before']),
          _load_text(result['load_average_after'])),
      '',
      '%-38s %-9s %8s %15s %6s' % ('mode', 'precision', 'img/s',
                                   'rounds min-max', 'cores'),
  ]
  for key, label in MODES.items():
    mode = result['modes'][key]
    lines.append('%-38s %-9s %8.1f %15s %6.2f' % (
        label, mode['precision'], result[key + '_img_s'],
        '%.1f-%.1f' % (min(mode['round_img_s']), max(mode['round_img_s'])),
        mode['cpu_seconds'] / mode['seconds']))
  lines.append('%-38s %-9s %8.1f' % (
      'evaluation', result['eval_precision'], result['eval_img_s']))
  feed_dict = result['modes']['feed_dict']
  lines += [
      '',
      'img/s: median over the rounds; cores: CPU time of the process over '
      'wall time.',
      '(c) spent %.2f ms a step fetching the batch it fed.'
      % (1000.0 * feed_dict['fetch_seconds'] / feed_dict['steps']),
      '',
      '%-8s %7s %8s' % ('ratio', 'value', 'target'),
  ]
  for key, label, _, _, target in RATIOS:
    lines.append('%-8s %7.3f %8s' % (label, result['ratios'][key],
                                     '>= %.2f' % target))
  return '\n'.join(lines)


def _load_text(load):
  return 'unknown' if load is None else '/'.join('%.2f' % v for v in load)


def run_benchmark(folder):
  """Writes the records into `folder`, measures, and returns the result."""
  rng = np.random.RandomState(FLAGS.seed)
  train_file = os.path.join(folder, 'train', 'part-00.tfrecord')
  eval_file = os.path.join(folder, 'eval', 'part-00.tfrecord')
  eval_count = FLAGS.steps * FLAGS.batch_size
  os.makedirs(os.path.dirname(train_file))
  os.makedirs(os.path.dirname(eval_file))
  logging.info('Writing %d training and %d evaluation records to %s.',
               FLAGS.records, eval_count, folder)
  write_records(train_file, FLAGS.records, FLAGS.class_num, rng)
  write_records(eval_file, eval_count, FLAGS.class_num, rng)
  batch = constant_batch(FLAGS.batch_size, FLAGS.class_num, rng)

  load_before = load_average()
  modes = []
  try:
    for key in MODES:
      precision = 'mixed' if key == 'mixed_pipeline' else FLAGS.precision
      logging.info('Building %s (%s).', key, precision)
      modes.append(build_mode(key, [train_file], precision, batch))
    if modes[-1].precision != 'mixed':
      logging.warning('Mixed precision is not available here; (d) runs '
                      '%s.', modes[-1].precision)
    totals = time_training(modes, FLAGS.warmup_steps, FLAGS.steps,
                           FLAGS.rounds, FLAGS.batch_size)
    # Evaluation restores the weights that (b) trained.
    pipeline = [mode for mode in modes if mode.key == 'pipeline'][0]
    prefix = pipeline.saver.save(
        pipeline.session, os.path.join(folder, 'checkpoint', 'wrn.ckpt'))
  finally:
    for mode in modes:
      mode.session.close()
  eval_img_s, eval_precision = time_evaluation(
      [eval_file], eval_count, prefix, FLAGS.precision)
  load_after = load_average()

  result = collections.OrderedDict()
  for mode in modes:
    result[mode.key + '_img_s'] = float(
        np.median(totals[mode.key]['round_img_s']))
  result['eval_img_s'] = eval_img_s
  result['ratios'] = collections.OrderedDict(
      (key, result[top + '_img_s'] / result[bottom + '_img_s'])
      for key, _, top, bottom, _ in RATIOS)
  result['targets'] = collections.OrderedDict(
      (key, target) for key, _, _, _, target in RATIOS)
  result['modes'] = collections.OrderedDict()
  for mode in modes:
    total = totals[mode.key]
    result['modes'][mode.key] = dict(
        total, precision=mode.precision,
        mean_img_s=total['steps'] * FLAGS.batch_size / total['seconds'])
  result['eval_precision'] = eval_precision
  device = session_config.detect_device()
  result['device'] = describe_device(device)
  result['device_kind'] = device
  result['tensorflow'] = tf.VERSION
  result['python'] = platform.python_version()
  result['load_average_before'] = load_before
  result['load_average_after'] = load_after
  result['settings'] = collections.OrderedDict(
      (name, FLAGS[name].value) for name in (
          'depths', 'ks', 'batch_size', 'class_num', 'steps',
          'warmup_steps', 'rounds', 'records', 'precision', 'seed'))
  result['settings']['eval_records'] = eval_count
  result['settings']['learning_rate'] = LEARNING_RATE
  return result


def main(argv):
  if command_line.stray_arguments(argv):
    return 2

  folder = tempfile.mkdtemp(prefix='wrn_benchmark_')
  try:
    result = run_benchmark(folder)
  except (ValueError, RuntimeError) as error:
    logging.error('%s', error)
    return 1
  except tf.errors.OpError as error:
    logging.error('TensorFlow stopped the benchmark: %s',
                  command_line.describe_tf_error(error))
    return 1
  finally:
    shutil.rmtree(folder, ignore_errors=True)

  print(format_table(result), flush=True)
  if FLAGS.json:
    with open(FLAGS.json, 'w') as stream:
      json.dump(result, stream, indent=2)
      stream.write('\n')
    logging.info('Wrote %s.', FLAGS.json)
  return 0


if __name__ == '__main__':
  app.run(main)
