"""The graphs hold nothing the Ascend NPU rejects.

The NPU's graph compiler takes no float64 tensors and no Python callbacks
(py_func), and it compiles the training step for one static batch shape.
This builds WRN-10-1 on a few records and inspects both graphs, with the
tf.data functions of their function libraries (the map functions run on
the device too when the input pipeline is offloaded).

In the library, an op's output dtypes are not recorded, so a function node
counts as float64 when a dtype attribute (T, dtype, DstT, output_types...)
or a constant's tensor is float64, or when it is an op whose output is
always float64; the function signatures are checked as well.
"""

import re

import numpy as np
import pytest

import data_input
import graphs
from tf_compat import tf

RECORDS = 7
TRAIN_BATCH = 4
EVAL_BATCH = 5
DEPTH = 10
WIDTH = 1
CLASSES = 10

PY_FUNC_OPS = frozenset(['PyFunc', 'PyFuncStateless', 'EagerPyFunc'])
# Ops whose float64 output no attribute names.
FLOAT64_OPS = frozenset(['Timestamp'])


def _is_float64(enum):
  return enum != 0 and tf.as_dtype(enum).base_dtype == tf.float64


def _float64_attrs(attrs):
  """Returns the sorted keys of a NodeDef's attrs that name float64."""
  keys = []
  for key, value in attrs.items():
    kind = value.WhichOneof('value')
    enums = []
    if kind == 'type':
      enums = [value.type]
    elif kind == 'tensor':
      enums = [value.tensor.dtype]
    elif kind == 'list':
      enums = list(value.list.type) + [t.dtype for t in value.list.tensor]
    if any(_is_float64(enum) for enum in enums):
      keys.append(key)
  return sorted(keys)


def _functions(graph):
  return list(graph.as_graph_def().library.function)


def float64_findings(graph):
  """Lists every place a graph or its function library holds float64.

  Args:
    graph: a tf.Graph.

  Returns:
    Sorted strings: 'tensor NAME' for a float64 op output, 'op NAME attr
    KEY' for a float64 attribute, 'op NAME' for an op of FLOAT64_OPS; the
    same prefixed by 'function FNAME: ' inside the library, and 'function
    FNAME: arg NAME' for a float64 argument or result.
  """
  findings = []
  for op in graph.get_operations():
    findings.extend('tensor %s' % tensor.name for tensor in op.outputs
                    if tensor.dtype.base_dtype == tf.float64)
    findings.extend('op %s attr %s' % (op.name, key)
                    for key in _float64_attrs(op.node_def.attr))
    if op.type in FLOAT64_OPS:
      findings.append('op %s' % op.name)

  for function in _functions(graph):
    where = 'function %s: ' % function.signature.name
    signature = function.signature
    findings.extend(where + 'arg %s' % arg.name
                    for arg in list(signature.input_arg)
                    + list(signature.output_arg) if _is_float64(arg.type))
    for node in function.node_def:
      findings.extend(where + 'op %s attr %s' % (node.name, key)
                      for key in _float64_attrs(node.attr))
      if node.op in FLOAT64_OPS:
        findings.append(where + 'op %s' % node.name)
  return sorted(findings)


def py_func_findings(graph):
  """Lists the py_func ops of a graph and of its function library."""
  findings = ['op %s' % op.name for op in graph.get_operations()
              if op.type in PY_FUNC_OPS]
  for function in _functions(graph):
    findings.extend('function %s: op %s' % (function.signature.name,
                                            node.name)
                    for node in function.node_def if node.op in PY_FUNC_OPS)
  return sorted(findings)


def path_tensors(sources, targets):
  """Returns the tensors on some data path from sources to targets.

  Args:
    sources: tensors the path starts from (included).
    targets: tensors the path ends at (included).

  Returns:
    The set of tensors that depend on a source and that a target depends on.
  """
  downstream = set()
  pending = list(sources)
  while pending:
    tensor = pending.pop()
    if tensor not in downstream:
      downstream.add(tensor)
      for consumer in tensor.consumers():
        pending.extend(consumer.outputs)

  upstream = set()
  pending = list(targets)
  while pending:
    tensor = pending.pop()
    if tensor not in upstream:
      upstream.add(tensor)
      pending.extend(tensor.op.inputs)
  return downstream & upstream


def dynamic_shapes(tensors):
  """Returns 'NAME SHAPE' for each tensor whose shape is not fully known."""
  return sorted('%s %s' % (tensor.name, tensor.shape) for tensor in tensors
                if not tensor.shape.is_fully_defined())


def shape(tensor):
  """Returns a tensor's static shape as a list, or None for unknown rank."""
  if tensor.shape.ndims is None:
    return None
  return tensor.shape.as_list()


def iterator_outputs(graph):
  ops = [op for op in graph.get_operations() if op.type == 'IteratorGetNext']
  assert len(ops) == 1
  return list(ops[0].outputs)


@pytest.fixture(scope='module')
def record_files(tmp_path_factory):
  """One TFRecord file of 7 records: no batch of 4 or 5 divides it."""
  path = str(tmp_path_factory.mktemp('npu_records') / 'records.tfrecord')
  with tf.io.TFRecordWriter(path) as writer:
    for index in range(RECORDS):
      image = np.full([32, 32, 3], index * 30, np.uint8)
      example = data_input.make_example(image, index, index // 2)
      writer.write(example.SerializeToString())
  return [path]


@pytest.fixture(scope='module')
def train_net(record_files):
  return graphs.build_train_graph(
      record_files, batch_size=TRAIN_BATCH, epochs=1, depths=DEPTH, ks=WIDTH,
      class_num=CLASSES, learning_rate=0.1)


@pytest.fixture(scope='module')
def eval_net(record_files):
  return graphs.build_eval_graph(record_files, EVAL_BATCH, DEPTH, WIDTH,
                                 CLASSES)


def test_graphs_hold_no_float64(train_net, eval_net):
  for graph in (train_net.graph, eval_net.graph):
    findings = float64_findings(graph)
    assert findings == [], '\n'.join(findings)


def test_function_libraries_hold_the_input_pipelines(train_net, eval_net):
  train_functions = [f.signature.name for f in _functions(train_net.graph)]
  eval_functions = [f.signature.name for f in _functions(eval_net.graph)]

  # The map functions of data_input are among what the checks read.
  assert any('parse_and_augment' in name for name in train_functions)
  assert any('parse_and_standardise' in name for name in eval_functions)
  assert any('pad_to_batch_size' in name for name in eval_functions)


def test_graphs_hold_no_py_func(train_net, eval_net):
  for graph in (train_net.graph, eval_net.graph):
    findings = py_func_findings(graph)
    assert findings == [], '\n'.join(findings)


def test_training_path_has_static_batch_shapes(train_net):
  graph = train_net.graph
  images, labels = iterator_outputs(graph)
  inputs = graph.get_tensor_by_name(graphs.INPUT_NAME + ':0')
  logits = graph.get_tensor_by_name('output/BiasAdd:0')

  path = path_tensors([images, labels], [train_net.loss])

  assert shape(images) == [TRAIN_BATCH, 32, 32, 3]
  assert shape(labels) == [TRAIN_BATCH]
  assert shape(inputs) == [TRAIN_BATCH, 32, 32, 3]
  assert shape(logits) == [TRAIN_BATCH, CLASSES]
  assert shape(train_net.loss) == []
  assert {images, labels, inputs, logits, train_net.loss} <= path
  assert dynamic_shapes(path) == [], '\n'.join(dynamic_shapes(path))


def test_evaluation_path_has_static_batch_shapes(eval_net):
  images, labels, mask = iterator_outputs(eval_net.graph)

  path = path_tensors([images, labels, mask],
                      [eval_net.losses, eval_net.correct, eval_net.mask])

  assert shape(images) == [EVAL_BATCH, 32, 32, 3]
  assert shape(eval_net.inputs) == [EVAL_BATCH, 32, 32, 3]
  assert shape(eval_net.logits) == [EVAL_BATCH, CLASSES]
  for tensor in (labels, mask, eval_net.losses, eval_net.correct):
    assert shape(tensor) == [EVAL_BATCH]
  assert {eval_net.inputs, eval_net.logits, eval_net.losses} <= path
  assert dynamic_shapes(path) == [], '\n'.join(dynamic_shapes(path))


def _without_uid(finding):
  # Function names end in a process-wide counter or a hash.
  return re.sub(r'^(function \S+)_[0-9A-Za-z]+: ', r'\1: ', finding)


def test_checks_find_float64_py_func_and_dynamic_batches():
  graph = tf.Graph()
  with graph.as_default():

    def to_float64(value):
      return tf.cast(value, tf.float64) * 0.5

    def to_float32(value):
      return tf.cast(value, tf.float32)

    dataset = tf.data.Dataset.range(5).map(to_float64).map(to_float32)
    values = tf.data.make_one_shot_iterator(dataset.batch(2)).get_next()
    doubled = tf.py_func(lambda array: array * 2, [values], tf.float32,
                         name='doubled')
    total = tf.reduce_sum(doubled, name='total')

  assert [_without_uid(finding) for finding in float64_findings(graph)] == [
      'function __inference_Dataset_map_to_float32: arg args_0',
      'function __inference_Dataset_map_to_float32: op Cast attr SrcT',
      'function __inference_Dataset_map_to_float64: arg identity',
      'function __inference_Dataset_map_to_float64: op Cast attr DstT',
      'function __inference_Dataset_map_to_float64: op Identity attr T',
      'function __inference_Dataset_map_to_float64: op mul attr T',
      'function __inference_Dataset_map_to_float64: op mul/y attr dtype',
      'function __inference_Dataset_map_to_float64: op mul/y attr value',
      'function _make_dataset: op MapDataset attr output_types',
      'op MapDataset attr output_types',
  ]
  assert py_func_findings(graph) == ['op doubled']
  # reduce_sum of a tensor of unknown rank reduces over range(rank).
  assert dynamic_shapes(path_tensors([values], [total])) == [
      'IteratorGetNext:0 (None,)', 'doubled:0 <unknown>', 'range:0 (None,)']
