r"""Freezes a Wide ResNet checkpoint into a .pb for offline inference.

Export the fine-tuned WRN-28-10 for one image at a time:

  python export_pb.py --model_path ./model_save/wideresnet.ckpt \
      --depths 28 --ks 10 --batch 1 --output ./wideresnet.pb

The .pb takes `inputx`, float32 [batch, 32, 32, 3], images already
normalised as evaluation does it (per-image standardisation unless the
model was trained with --normalization per_channel), and gives the logits
at `output/BiasAdd`, float32 [batch, class_num]. Every variable is a constant
in it and nothing of training is left. The script logs the ATC command that
converts it for an Ascend 310:

  atc --model=./wideresnet.pb --framework=3 --output=./wideresnet \
      --soc_version=Ascend310 --input_shape="inputx:1,32,32,3" \
      --out_nodes="output/BiasAdd:0"

With --saved_model_dir it also writes a SavedModel for TF Serving, whose
`serving_default` signature takes raw uint8 images and normalises them
itself.
"""

import os
import sys

from absl import app
from absl import flags
from absl import logging

import checkpoints
import command_line
import data_input
import graphs
from tf_compat import tf
import wideresnet_model

FLAGS = flags.FLAGS

# The names ATC is told about; the original port's graph used them too.
INPUT_NODE = graphs.INPUT_NAME
OUTPUT_NODE = wideresnet_model.LOGITS_LAYER_NAME + '/BiasAdd'

# Variable, input, checkpoint and dropout ops: none may survive freezing.
FORBIDDEN_OPS = frozenset([
    'Variable', 'VariableV2', 'VarHandleOp', 'ReadVariableOp', 'Assign',
    'AssignVariableOp', 'IteratorGetNext', 'IteratorV2', 'SaveV2',
    'RestoreV2', 'RandomUniform'])

# Signature of the SavedModel.
SERVING_INPUT = 'images'
SERVING_OUTPUTS = ('logits', 'probabilities', 'classes')

DEFAULT_SOC_VERSION = 'Ascend310'


def define_flags(flag_values=FLAGS):
  """Defines the command-line flags; called by run(), never on import.

  Defining them on import would clash with run_wideresnet.py's flags of the
  same names when both modules are imported, as the tests do.

  Args:
    flag_values: the absl FlagValues to define them in.
  """
  flags.DEFINE_string(
      'model_path', None,
      'Checkpoint to freeze: a prefix such as ./model_save/wideresnet.ckpt, '
      'or a folder, meaning its newest checkpoint. Required.',
      flag_values=flag_values)
  flags.DEFINE_integer(
      'depths', 28,
      'Depth d of the checkpoint\'s WRN-d-k; 6n+4 (10, 16, 22, 28, ...).',
      flag_values=flag_values)
  flags.DEFINE_integer(
      'ks', 10, 'Widening factor k of the checkpoint\'s WRN-d-k.',
      lower_bound=1, flag_values=flag_values)
  flags.DEFINE_integer(
      'class_num', 100,
      'Number of classes the checkpoint was trained for: 100 for '
      'CIFAR-100, 10 for CIFAR-10.', lower_bound=2, flag_values=flag_values)
  flags.DEFINE_integer(
      'batch', 1,
      'Images per inference: the fixed first dimension of inputx. ATC '
      'compiles the .om model for exactly this batch.', lower_bound=1,
      flag_values=flag_values)
  flags.DEFINE_string(
      'output', 'wideresnet.pb',
      'The .pb file to write; its folder is created if missing.',
      flag_values=flag_values)
  flags.DEFINE_string(
      'soc_version', DEFAULT_SOC_VERSION,
      'Ascend chip written into the logged ATC command (--soc_version), '
      'such as Ascend310 or Ascend910.', flag_values=flag_values)
  flags.DEFINE_enum(
      'normalization', 'per_image', list(data_input.NORMALIZATIONS),
      'How the model was trained to see images (run_wideresnet.py '
      '--normalization): the SavedModel applies it to raw images; feeders of '
      'the .pb apply it themselves.', flag_values=flag_values)
  flags.DEFINE_string(
      'saved_model_dir', None,
      'When set, also write a SavedModel for TF Serving to this new '
      'folder: signature serving_default takes raw uint8 images [n, 32, '
      '32, 3] and returns logits, probabilities and classes.',
      flag_values=flag_values)

  flags.register_validator(
      'model_path', lambda path: bool(path and path.strip()),
      message='--model_path is required: the checkpoint prefix to freeze, '
      'e.g. ./model_save/wideresnet.ckpt.', flag_values=flag_values)
  flags.register_validator(
      'depths', lambda depths: depths >= 10 and (depths - 4) % 6 == 0,
      message='--depths must be 6n+4 with n >= 1: 10, 16, 22, 28, 34, ...',
      flag_values=flag_values)
  flags.register_validator(
      'output', lambda path: bool(path) and path.endswith('.pb')
      and len(path) > len('.pb') and not path.endswith('/.pb'),
      message='--output must name a .pb file, e.g. ./wideresnet.pb.',
      flag_values=flag_values)
  flags.register_validator(
      'soc_version', lambda name: bool(name) and ' ' not in name,
      message='--soc_version must be one word, e.g. Ascend310.',
      flag_values=flag_values)


def build_inference_graph(batch, depths, ks, class_num):
  """Builds the network for inference on normalised images.

  Args:
    batch: images per inference, the fixed first dimension of the input.
    depths: WRN depth, 6n + 4.
    ks: widening factor.
    class_num: number of classes.

  Returns:
    (graph, inputs, logits): the tf.Graph, the float32 placeholder
    [batch, 32, 32, 3] named `inputx`, and the float32 logits
    [batch, class_num] at `output/BiasAdd`.

  Raises:
    ValueError: on a bad architecture, or if the graph's names are not
      the ones ATC is told about.
  """
  graph = tf.Graph()
  with graph.as_default():
    inputs = tf.placeholder(
        tf.float32, [batch, data_input.IMAGE_SIZE, data_input.IMAGE_SIZE,
                     data_input.CHANNELS], name=INPUT_NODE)
    logits = wideresnet_model.wide_resnet(inputs, False, depths, ks,
                                          class_num=class_num)

  if inputs.op.name != INPUT_NODE or logits.op.name != OUTPUT_NODE:
    raise ValueError(
        'the inference graph names its input %r and its logits %r, not %r '
        'and %r; build it in a fresh graph.'
        % (inputs.op.name, logits.op.name, INPUT_NODE, OUTPUT_NODE))
  return graph, inputs, logits


def check_frozen_graph(graph_def, batch, class_num):
  """Checks that a frozen GraphDef is what ATC and infer_pb.py expect.

  Args:
    graph_def: a tf.GraphDef.
    batch: the expected first dimension of the input.
    class_num: the expected width of the logits.

  Raises:
    ValueError: naming what differs: the input is not the only
      placeholder or is not float32 [batch, 32, 32, 3], the logits are
      missing, not float32 [batch, class_num] or feed another node, or a
      variable or training op is left.
  """
  placeholders = sorted(node.name for node in graph_def.node
                        if node.op == 'Placeholder')
  if placeholders != [INPUT_NODE]:
    raise ValueError('the frozen graph has placeholders %s; expected only %r.'
                     % (placeholders, INPUT_NODE))

  left = sorted('%s (%s)' % (node.name, node.op) for node in graph_def.node
                if node.op in FORBIDDEN_OPS)
  if left:
    raise ValueError('freezing left variable or training ops: %s.'
                     % ', '.join(left[:8]))

  if OUTPUT_NODE not in set(node.name for node in graph_def.node):
    raise ValueError('the frozen graph has no node %r.' % OUTPUT_NODE)
  with tf.Graph().as_default() as graph:
    tf.import_graph_def(graph_def, name='')
  inputs = graph.get_tensor_by_name(INPUT_NODE + ':0')
  logits = graph.get_tensor_by_name(OUTPUT_NODE + ':0')

  expected = [batch, data_input.IMAGE_SIZE, data_input.IMAGE_SIZE,
              data_input.CHANNELS]
  if inputs.dtype != tf.float32 or inputs.shape.as_list() != expected:
    raise ValueError('%s is %s %s in the frozen graph; expected float32 %s.'
                     % (INPUT_NODE, inputs.dtype.name, inputs.shape,
                        expected))
  if (logits.dtype != tf.float32
      or logits.shape.as_list() != [batch, class_num]):
    raise ValueError('%s is %s %s in the frozen graph; expected float32 %s.'
                     % (OUTPUT_NODE, logits.dtype.name, logits.shape,
                        [batch, class_num]))
  if logits.consumers():
    raise ValueError('%s feeds %s; it must be the graph\'s output.'
                     % (OUTPUT_NODE, sorted(op.name for op in
                                            logits.consumers())))


def freeze(model_path, depths, ks, class_num, batch):
  """Restores a checkpoint into the inference graph and freezes it.

  Args:
    model_path: checkpoint prefix, or a folder with a checkpoint.
    depths: WRN depth of the checkpoint.
    ks: widening factor of the checkpoint.
    class_num: classes of the checkpoint.
    batch: the fixed batch of the input.

  Returns:
    (graph_def, prefix): the frozen tf.GraphDef, from `inputx` float32
    [batch, 32, 32, 3] to `output/BiasAdd` float32 [batch, class_num]
    only, and the checkpoint prefix it was frozen from.

  Raises:
    ValueError: if there is no checkpoint at model_path, or it does not
      fit WRN-depths-ks with class_num classes.
  """
  prefix = checkpoints.resolve_checkpoint(model_path)
  graph, _, _ = build_inference_graph(batch, depths, ks, class_num)

  with graph.as_default():
    restorer, _ = checkpoints.make_restorer(prefix, tf.global_variables())
  graph.finalize()

  with tf.Session(graph=graph) as sess:
    restorer.restore(sess, prefix)
    frozen = tf.graph_util.convert_variables_to_constants(
        sess, graph.as_graph_def(), [OUTPUT_NODE])

  # Identities left by the variable reads go; then keep only what the
  # logits need (the Saver's ops, for one).
  frozen = tf.graph_util.remove_training_nodes(
      frozen, protected_nodes=[INPUT_NODE, OUTPUT_NODE])
  frozen = tf.graph_util.extract_sub_graph(frozen, [OUTPUT_NODE])
  for node in frozen.node:
    node.device = ''

  check_frozen_graph(frozen, batch, class_num)
  return frozen, prefix


def write_graph_def(graph_def, path):
  """Writes a GraphDef as a binary .pb, creating its folder.

  Args:
    graph_def: a tf.GraphDef.
    path: the file to write.
  """
  folder = os.path.dirname(path)
  if folder:
    tf.io.gfile.makedirs(folder)
  with tf.io.gfile.GFile(path, 'wb') as stream:
    stream.write(graph_def.SerializeToString())


def atc_command(pb_path, batch, soc_version=DEFAULT_SOC_VERSION):
  """Returns the ATC command line that converts the .pb to an .om model.

  Args:
    pb_path: the .pb file.
    batch: its fixed batch.
    soc_version: the Ascend chip to compile for.

  Returns:
    A shell command, one line. ATC appends .om to --output itself.
  """
  return ('atc --model=%s --framework=3 --output=%s --soc_version=%s '
          '--input_shape="%s:%d,%d,%d,%d" --out_nodes="%s:0"'
          % (pb_path, pb_path[:-len('.pb')], soc_version, INPUT_NODE, batch,
             data_input.IMAGE_SIZE, data_input.IMAGE_SIZE,
             data_input.CHANNELS, OUTPUT_NODE))


def export_saved_model(prefix, depths, ks, class_num, export_dir,
                       normalization='per_image'):
  """Writes a SavedModel that takes raw images, for TF Serving.

  Its `serving_default` signature takes `images`, uint8 [n, 32, 32, 3]
  (height, width, RGB, as in the records), normalises each image as
  evaluation does, and returns `logits` (float32 [n, class_num]),
  `probabilities` (float32 [n, class_num], softmax) and `classes` (int64
  [n], top-1).

  Args:
    prefix: checkpoint prefix.
    depths: WRN depth of the checkpoint.
    ks: widening factor of the checkpoint.
    class_num: classes of the checkpoint.
    export_dir: folder to create; must not exist.
    normalization: one of data_input.NORMALIZATIONS, as in training.

  Raises:
    ValueError: if export_dir exists, or the checkpoint does not fit.
  """
  if tf.io.gfile.exists(export_dir):
    raise ValueError('--saved_model_dir %s already exists; remove it or name '
                     'a new folder.' % export_dir)

  graph = tf.Graph()
  with graph.as_default():
    images = tf.placeholder(
        tf.uint8, [None, data_input.IMAGE_SIZE, data_input.IMAGE_SIZE,
                   data_input.CHANNELS], name=SERVING_INPUT)
    normalised = tf.map_fn(
        lambda image: data_input.preprocess_for_eval(image, normalization),
        images, dtype=tf.float32, back_prop=False)
    logits = wideresnet_model.wide_resnet(normalised, False, depths, ks,
                                          class_num=class_num)
    outputs = dict(zip(SERVING_OUTPUTS, (
        logits, tf.nn.softmax(logits), tf.argmax(logits, 1))))
    restorer, _ = checkpoints.make_restorer(prefix, tf.global_variables())
    signature = tf.saved_model.signature_def_utils.predict_signature_def(
        inputs={SERVING_INPUT: images}, outputs=outputs)

    with tf.Session(graph=graph) as sess:
      restorer.restore(sess, prefix)
      builder = tf.saved_model.builder.SavedModelBuilder(export_dir)
      builder.add_meta_graph_and_variables(
          sess, [tf.saved_model.tag_constants.SERVING],
          signature_def_map={
              tf.saved_model.signature_constants
              .DEFAULT_SERVING_SIGNATURE_DEF_KEY: signature},
          clear_devices=True, strip_default_attrs=True)
      builder.save()


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
    if values.saved_model_dir and tf.io.gfile.exists(values.saved_model_dir):
      raise ValueError('--saved_model_dir %s already exists; remove it or '
                       'name a new folder.' % values.saved_model_dir)

    graph_def, prefix = freeze(values.model_path, values.depths, values.ks,
                               values.class_num, values.batch)
    write_graph_def(graph_def, values.output)
    logging.info('Froze %s (WRN-%d-%d, %d classes) into %s: %d nodes, input '
                 '%s float32 [%d, 32, 32, 3] of images normalised %s, output '
                 '%s.', prefix, values.depths, values.ks, values.class_num,
                 values.output, len(graph_def.node), INPUT_NODE, values.batch,
                 values.normalization, OUTPUT_NODE)
    logging.info('Convert it for the Ascend chip with:\n  %s', atc_command(
        values.output, values.batch, values.soc_version))

    if values.saved_model_dir:
      export_saved_model(prefix, values.depths, values.ks, values.class_num,
                         values.saved_model_dir, values.normalization)
      logging.info('Wrote the SavedModel %s: signature serving_default takes '
                   '%s, uint8 [n, 32, 32, 3].', values.saved_model_dir,
                   SERVING_INPUT)
  except ValueError as error:
    logging.error('%s', error)
    return 1
  except tf.errors.OpError as error:
    logging.error('TensorFlow stopped the export of %s: %s',
                  values.model_path,
                  command_line.describe_tf_error(error))
    return 1
  return 0


def run():
  """Entry point: defines the flags, parses the command line, calls main()."""
  define_flags()
  app.run(main, argv=sys.argv)


if __name__ == '__main__':
  run()
