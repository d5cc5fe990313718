r"""Evaluates a frozen .pb from export_pb.py on a folder of TFRecords.

  python infer_pb.py --pb_path ./wideresnet.pb --data_path ./test_data

Every record is read once and normalised as evaluation does it, then fed
to the .pb's input `inputx` in batches of the .pb's own size; the last
batch is padded and the padding is left out of the results. It prints the
evaluation line of run_wideresnet.py, exact over the records and equal to
evaluating the checkpoint the .pb was frozen from:

  wideresnet eval  loss=0.75691   acc=0.8159

and the latency of the .pb alone, input pipeline excluded, after one
warm-up run (milliseconds per run of a batch, and per image):

  wideresnet latency  batch=1   ms/batch=3.012   ms/image=3.012

Runs on an Ascend NPU when CANN's npu_bridge imports, otherwise on the CPU
or GPU.
"""

import sys
import time

from absl import app
from absl import flags
from absl import logging
from google.protobuf.message import DecodeError
import numpy as np

import command_line
import data_input
import session_config
from tf_compat import tf

FLAGS = flags.FLAGS

DEFAULT_INPUT_NODE = 'inputx'
DEFAULT_OUTPUT_NODE = 'output/BiasAdd'

# Batches between progress messages.
LOG_EVERY_BATCHES = 100


def define_flags(flag_values=FLAGS):
  """Defines the command-line flags; called by run(), never on import.

  Defining them on import would clash with run_wideresnet.py's flags of the
  same names when both modules are imported, as the tests do.

  Args:
    flag_values: the absl FlagValues to define them in.
  """
  flags.DEFINE_string(
      'pb_path', None,
      'Frozen graph to evaluate, as written by export_pb.py. Required.',
      flag_values=flag_values)
  flags.DEFINE_string(
      'data_path', None,
      'Folder of TFRecord files; every file in it is read, except hidden '
      'files and sub-folders. Required.', flag_values=flag_values)
  flags.DEFINE_integer(
      'batch_size', 0,
      'Images per run. 0 takes the .pb\'s own batch (the --batch it was '
      'exported with); a value is needed only for a .pb whose input batch '
      'is not fixed.', lower_bound=0, flag_values=flag_values)
  flags.DEFINE_enum(
      'normalization', 'per_image', list(data_input.NORMALIZATIONS),
      'How the model was trained to see images (run_wideresnet.py '
      '--normalization); the records are normalised so before feeding.',
      flag_values=flag_values)
  flags.DEFINE_string(
      'input_node', DEFAULT_INPUT_NODE,
      'Name of the .pb\'s input placeholder, float32 [batch, 32, 32, 3] of '
      'normalised images.', flag_values=flag_values)
  flags.DEFINE_string(
      'output_node', DEFAULT_OUTPUT_NODE,
      'Name of the .pb\'s logits node, float32 [batch, classes].',
      flag_values=flag_values)
  flags.DEFINE_integer(
      'warmup_runs', 1,
      'Untimed runs on the first batch before timing, which absorb graph '
      'optimisation and memory allocation.', lower_bound=0,
      flag_values=flag_values)

  flags.register_validator(
      'pb_path', lambda path: bool(path),
      message='--pb_path is required: the .pb file export_pb.py wrote.',
      flag_values=flag_values)
  flags.register_validator(
      'data_path', lambda path: bool(path),
      message='--data_path is required: the folder of TFRecord files.',
      flag_values=flag_values)
  for name in ('input_node', 'output_node'):
    flags.register_validator(
        name, lambda node: bool(node) and ':' not in node,
        message='--%s must be a node name without ":0", e.g. %s.'
        % (name, DEFAULT_INPUT_NODE if name == 'input_node'
           else DEFAULT_OUTPUT_NODE), flag_values=flag_values)


def load_graph_def(pb_path):
  """Reads a binary GraphDef.

  Args:
    pb_path: the .pb file.

  Returns:
    A tf.GraphDef.

  Raises:
    ValueError: if the file is missing or is not a binary GraphDef.
  """
  if not tf.io.gfile.exists(pb_path):
    raise ValueError('no .pb at %s; write one with export_pb.py.' % pb_path)
  with tf.io.gfile.GFile(pb_path, 'rb') as stream:
    content = stream.read()
  graph_def = tf.GraphDef()
  try:
    graph_def.ParseFromString(content)
  except DecodeError as error:
    raise ValueError('%s is not a binary GraphDef (%s); pass the .pb that '
                     'export_pb.py wrote.' % (pb_path, error))
  if not graph_def.node:
    raise ValueError('%s holds no graph; pass the .pb that export_pb.py '
                     'wrote.' % pb_path)
  return graph_def


def import_model(graph_def, input_node, output_node):
  """Imports a frozen graph and finds its input and logits.

  Args:
    graph_def: a frozen tf.GraphDef.
    input_node: name of its input placeholder.
    output_node: name of its logits node.

  Returns:
    (graph, inputs, logits): a finalized tf.Graph, the input tensor,
    float32 [batch, 32, 32, 3] where batch may be None, and the logits,
    float32 [batch, classes] with a known class count.

  Raises:
    ValueError: naming the node that is missing or of the wrong kind.
  """
  names = set(node.name for node in graph_def.node)
  placeholders = sorted(node.name for node in graph_def.node
                        if node.op == 'Placeholder')
  if input_node not in placeholders:
    raise ValueError('the .pb has no input placeholder %r; its placeholders '
                     'are %s. Set --input_node.' % (input_node, placeholders))
  if output_node not in names:
    raise ValueError('the .pb has no node %r; set --output_node (export_pb.py '
                     'writes %s).' % (output_node, DEFAULT_OUTPUT_NODE))

  graph = tf.Graph()
  with graph.as_default():
    tf.import_graph_def(graph_def, name='')
  graph.finalize()
  inputs = graph.get_tensor_by_name(input_node + ':0')
  logits = graph.get_tensor_by_name(output_node + ':0')

  image_shape = [data_input.IMAGE_SIZE, data_input.IMAGE_SIZE,
                 data_input.CHANNELS]
  if inputs.dtype != tf.float32 or inputs.shape.as_list()[1:] != image_shape:
    raise ValueError('%s is %s %s; this script feeds float32 [batch, 32, 32, '
                     '3] images.' % (input_node, inputs.dtype.name,
                                     inputs.shape))
  if (logits.shape.ndims != 2 or logits.shape.as_list()[1] is None
      or not logits.dtype.is_floating):
    raise ValueError('%s is %s %s; expected float logits [batch, classes].'
                     % (output_node, logits.dtype.name, logits.shape))
  return graph, inputs, logits


def cross_entropy(logits, labels):
  """Softmax cross-entropy of each image, in float64.

  Args:
    logits: float [n, classes].
    labels: int [n], each in [0, classes).

  Returns:
    float64 [n].
  """
  logits = logits.astype(np.float64)
  top = logits.max(axis=1, keepdims=True)
  log_sum = np.log(np.exp(logits - top).sum(axis=1)) + top[:, 0]
  return log_sum - logits[np.arange(len(labels)), labels]


def evaluate_pb(pb_path, data_path, batch_size=0, normalization='per_image',
                input_node=DEFAULT_INPUT_NODE,
                output_node=DEFAULT_OUTPUT_NODE, warmup_runs=1):
  """Evaluates a frozen graph on every record in a folder once.

  Args:
    pb_path: the .pb file.
    data_path: folder of TFRecord files.
    batch_size: images per run; 0 takes the .pb's fixed batch.
    normalization: one of data_input.NORMALIZATIONS, as in training.
    input_node: name of the input placeholder.
    output_node: name of the logits node.
    warmup_runs: untimed runs on the first batch before timing.

  Returns:
    A dict with 'loss' (mean cross-entropy), 'accuracy' (top-1 fraction)
    and 'images' (records evaluated), exact over the records as
    run_wideresnet.evaluate() computes them; 'batch_size'; and the .pb's
    latency, input excluded: 'ms_per_batch' (mean), 'ms_per_batch_median',
    'ms_per_image' and 'images_per_sec', counting padded images as the
    work they are.

  Raises:
    ValueError: on a missing or unusable .pb, a batch size that does not
      fit it, a data folder without records, or a label outside the
      .pb's classes.
  """
  graph_def = load_graph_def(pb_path)
  graph, inputs, logits = import_model(graph_def, input_node, output_node)

  fixed_batch = inputs.shape.as_list()[0]
  if fixed_batch is None and not batch_size:
    raise ValueError('%s takes batches of any size; pass --batch_size.'
                     % pb_path)
  if fixed_batch is not None and batch_size and batch_size != fixed_batch:
    raise ValueError(
        '--batch_size=%d but %s takes batches of exactly %d; drop '
        '--batch_size or export with --batch %d.'
        % (batch_size, pb_path, fixed_batch, batch_size))
  batch_size = fixed_batch or batch_size
  class_count = logits.shape.as_list()[1]

  # The trainer's checks: schema, image size and labels in the .pb's
  # classes, each failure naming the file and the record.
  files = data_input.list_record_files(data_path)
  image_count = sum(data_input.check_records(files, class_count))
  if not image_count:
    raise ValueError('%s holds no records; point --data_path at the folder '
                     'of TFRecord files.' % data_path)
  batch_count = -(-image_count // batch_size)
  with tf.Graph().as_default() as input_graph:
    next_batch = tf.data.make_one_shot_iterator(
        data_input.eval_dataset(files, batch_size,
                                normalization)).get_next()
  input_graph.finalize()

  # The first two of what make_session_config returns: the ConfigProto and
  # the device.
  proto, device = session_config.make_session_config()[:2]
  logging.info('Device: %s.', 'Ascend NPU through npu_bridge'
               if device == session_config.DEVICE_NPU else device)
  logging.info('Evaluating %s (%d classes) on %d images from %d file(s) in '
               '%d batches of %d.', pb_path, class_count, image_count,
               len(files), batch_count, batch_size)

  loss_sum = 0.0
  correct_count = 0
  seen = 0
  seconds = []
  with tf.Session(graph=input_graph) as input_sess, tf.Session(
      graph=graph, config=proto) as model_sess:
    for batch in range(1, batch_count + 1):
      images, labels, real = input_sess.run(next_batch)

      if batch == 1:
        for _ in range(warmup_runs):
          model_sess.run(logits, {inputs: images})
      start = time.perf_counter()
      values = model_sess.run(logits, {inputs: images})
      seconds.append(time.perf_counter() - start)

      values, labels = values[real], labels[real]
      loss_sum += float(np.sum(cross_entropy(values, labels)))
      correct_count += int(np.count_nonzero(values.argmax(axis=1) == labels))
      seen += len(labels)
      if batch % LOG_EVERY_BATCHES == 0 or batch == batch_count:
        logging.info('Evaluated %d/%d images.', seen, image_count)

  if seen != image_count:
    raise ValueError('%s changed during evaluation: counted %d records, '
                     'evaluated %d.' % (data_path, image_count, seen))
  ms_per_batch = 1000.0 * float(np.mean(seconds))
  return {
      'loss': loss_sum / seen,
      'accuracy': correct_count / float(seen),
      'images': seen,
      'batch_size': batch_size,
      'ms_per_batch': ms_per_batch,
      'ms_per_batch_median': 1000.0 * float(np.median(seconds)),
      'ms_per_image': ms_per_batch / batch_size,
      'images_per_sec': 1000.0 * batch_size / ms_per_batch,
  }


def main(argv, flag_values=None):
  """Runs the command line; returns the exit status.

  Args:
    argv: the words left after the flags, program name first.
    flag_values: the parsed flags; None for the command line's.

  Returns:
    0 on success, 1 on an error it logged, 2 on stray arguments.
  """
  values = flag_values or FLAGS
  if command_line.stray_arguments(argv):
    return 2

  try:
    metrics = evaluate_pb(values.pb_path, values.data_path, values.batch_size,
                          values.normalization, values.input_node,
                          values.output_node, values.warmup_runs)
  except ValueError as error:
    logging.error('%s', error)
    return 1
  except tf.errors.OpError as error:
    logging.error('TensorFlow stopped the evaluation of %s: %s',
                  values.pb_path, command_line.describe_tf_error(error))
    return 1

  logging.info('Latency of %s: mean %.3f ms, median %.3f ms per batch of %d '
               'over %d batches; %.1f images/sec.', values.pb_path,
               metrics['ms_per_batch'], metrics['ms_per_batch_median'],
               metrics['batch_size'],
               -(-metrics['images'] // metrics['batch_size']),
               metrics['images_per_sec'])
  print('wideresnet eval  loss=%.5f   acc=%.4f'
        % (metrics['loss'], metrics['accuracy']), flush=True)
  print('wideresnet latency  batch=%d   ms/batch=%.3f   ms/image=%.3f'
        % (metrics['batch_size'], metrics['ms_per_batch'],
           metrics['ms_per_image']), flush=True)
  return 0


def run():
  """Entry point: defines the flags, parses the command line, calls main()."""
  define_flags()
  app.run(main, argv=sys.argv)


if __name__ == '__main__':
  run()
