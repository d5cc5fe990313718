"""Data-parallel training over several devices and machines.

Every process trains the same graph on its own shard of the records, the
gradients are averaged across processes each step, and every process keeps
identical weights. Two existing engines carry the traffic:

  hccl:       Ascend NPUs, through the TF adapter's collective library
              (HCCL). One process per NPU, started by train_8p.sh with
              RANK_TABLE_FILE, RANK_SIZE and RANK_ID, as the adapter's
              documentation describes.
  collective: CPUs and GPUs, through TensorFlow's own distributed runtime:
              a tf.train.Server per process and the CollectiveReduce and
              CollectiveBcast ops (ring all-reduce over gRPC), the engine
              behind TensorFlow's multi-worker strategies. The cluster comes
              from TF_CONFIG, TensorFlow's usual JSON cluster spec.

With one process the engine is 'single' and nothing changes. Per step, the
processes also agree on the loss, the accuracy and whether to stop, so that
a signal or a non-finite loss on one of them stops all of them after the
same step.
"""

import collections
import importlib
import json
import os

from tf_compat import tf

ENGINE_SINGLE = 'single'
ENGINE_HCCL = 'hccl'
ENGINE_COLLECTIVE = 'collective'

LR_SCALING_RULES = ('linear', 'sqrt', 'none')

# Collective ops pair up across processes by these keys.
_GROUP_KEY = 1
_BROADCAST_KEYS = 100000
_METRIC_KEYS = 200000
_AVERAGE_KEYS = 300000

Cluster = collections.namedtuple('Cluster', [
    'engine',   # ENGINE_SINGLE, ENGINE_HCCL or ENGINE_COLLECTIVE
    'rank',     # this process, 0 .. size - 1; rank 0 writes all files
    'size',     # number of processes
    'target',   # session target: '' or this process's server
    'device',   # device scope for this process's graph, or None
    'config',   # extra ConfigProto settings (collective), or None
])

SINGLE = Cluster(ENGINE_SINGLE, 0, 1, '', None, None)


def _environment_int(name, environ):
  value = environ.get(name, '')
  try:
    return int(value)
  except ValueError:
    raise ValueError('environment variable %s=%r must be an integer.'
                     % (name, value))


def from_environment(on_npu, environ=None):
  """Reads this process's place in the cluster from its environment.

  Args:
    on_npu: whether the session runs on an Ascend NPU.
    environ: the environment; os.environ by default.

  Returns:
    A Cluster. For the collective engine, this process's tf.train.Server
    is started first.

  Raises:
    ValueError: on a malformed or inconsistent environment.
  """
  environ = os.environ if environ is None else environ

  if on_npu and 'RANK_SIZE' in environ:
    size = _environment_int('RANK_SIZE', environ)
    if size > 1:
      rank = _environment_int('RANK_ID', environ)
      if not 0 <= rank < size:
        raise ValueError('RANK_ID=%d is outside [0, RANK_SIZE=%d).'
                         % (rank, size))
      if not environ.get('RANK_TABLE_FILE'):
        raise ValueError('RANK_SIZE=%d needs RANK_TABLE_FILE, the HCCL rank '
                         'table (see 8p.json).' % size)
      return Cluster(ENGINE_HCCL, rank, size, '', None, None)

  if environ.get('TF_CONFIG'):
    return _collective_cluster(environ['TF_CONFIG'])
  return SINGLE


def _collective_cluster(tf_config):
  """Starts this process's server from a TF_CONFIG JSON string."""
  try:
    spec = json.loads(tf_config)
    workers = list(spec['cluster']['worker'])
    task = spec['task']
    rank = int(task['index'])
  except (ValueError, KeyError, TypeError) as error:
    raise ValueError(
        'TF_CONFIG must look like {"cluster": {"worker": ["host:port", ...]}, '
        '"task": {"type": "worker", "index": 0}}; could not read %r (%s).'
        % (tf_config, error))
  if task.get('type', 'worker') != 'worker' or not 0 <= rank < len(workers):
    raise ValueError('TF_CONFIG task %r is not one of the %d workers.'
                     % (task, len(workers)))
  if len(workers) == 1:
    return SINGLE

  config = tf.ConfigProto()
  config.experimental.collective_group_leader = (
      '/job:worker/replica:0/task:0')
  server = tf.train.Server(tf.train.ClusterSpec({'worker': workers}),
                           job_name='worker', task_index=rank, config=config)
  device = '/job:worker/replica:0/task:%d' % rank
  return Cluster(ENGINE_COLLECTIVE, rank, len(workers), server.target,
                 device, config)


def scaled_learning_rate(base_rate, rule, size):
  """The learning rate for a global batch `size` times the per-process one.

  Args:
    base_rate: the rate for one process.
    rule: 'linear' (times size), 'sqrt' (times its square root) or 'none'.
    size: number of processes.

  Returns:
    The scaled rate, a float.
  """
  if rule == 'linear':
    return base_rate * size
  if rule == 'sqrt':
    return base_rate * size ** 0.5
  return base_rate


def _npu_module(name):
  return importlib.import_module(name)


def _all_reduce(tensor, cluster, key, merge='Add', final='Div'):
  """Reduces a tensor over all processes (the mean by default)."""
  if cluster.engine == ENGINE_COLLECTIVE:
    return tf.raw_ops.CollectiveReduce(
        input=tensor, group_size=cluster.size, group_key=_GROUP_KEY,
        instance_key=key, merge_op=merge, final_op=final,
        subdiv_offsets=[0])
  if cluster.engine == ENGINE_HCCL:
    hccl_ops = _npu_module('npu_bridge.hccl.hccl_ops')
    reduced = hccl_ops.allreduce(tensor, 'sum' if merge == 'Add' else 'max')
    return reduced / cluster.size if final == 'Div' else reduced
  return tensor


class AllReduceOptimizer(tf.train.Optimizer):
  """Averages the gradients over all processes, then applies them.

  For the collective engine; on the NPU the adapter's own wrapper does this.
  """

  def __init__(self, optimizer, cluster):
    super(AllReduceOptimizer, self).__init__(False, 'AllReduce')
    self._optimizer = optimizer
    self._cluster = cluster

  def compute_gradients(self, *args, **kwargs):
    grads_and_vars = self._optimizer.compute_gradients(*args, **kwargs)
    return [(None if grad is None else
             _all_reduce(grad, self._cluster, key=index + 1), var)
            for index, (grad, var) in enumerate(grads_and_vars)]

  def apply_gradients(self, *args, **kwargs):
    return self._optimizer.apply_gradients(*args, **kwargs)

  def get_slot(self, *args, **kwargs):
    return self._optimizer.get_slot(*args, **kwargs)

  def variables(self):
    return self._optimizer.variables()


def wrap_optimizer(optimizer, cluster):
  """Makes an optimizer average its gradients over the cluster."""
  if cluster.engine == ENGINE_HCCL:
    npu_optimizer = _npu_module('npu_bridge.estimator.npu.npu_optimizer')
    return npu_optimizer.npu_distributed_optimizer_wrapper(optimizer)
  if cluster.engine == ENGINE_COLLECTIVE:
    return AllReduceOptimizer(optimizer, cluster)
  return optimizer


def broadcast_from_rank0(variables, cluster):
  """An op that sets every variable to rank 0's value.

  Run after initialising or restoring, on every process. It covers every
  variable given, batch-norm moving statistics included; the adapter's own
  helper broadcasts only trainable ones.

  Args:
    variables: the variables to align, in the same order on every process.
    cluster: a Cluster.

  Returns:
    An op; a no-op with one process.
  """
  if cluster.engine == ENGINE_SINGLE or not variables:
    return tf.no_op(name='broadcast_from_rank0')

  if cluster.engine == ENGINE_HCCL:
    hccl_ops = _npu_module('npu_bridge.hccl.hccl_ops')
    values = hccl_ops.broadcast([v.read_value() for v in variables], 0)
  else:
    values = []
    for index, var in enumerate(variables):
      arguments = dict(group_size=cluster.size, group_key=_GROUP_KEY,
                       instance_key=_BROADCAST_KEYS + index,
                       shape=var.shape.as_list())
      if cluster.rank == 0:
        values.append(tf.raw_ops.CollectiveBcastSend(
            input=var.read_value(), **arguments))
      else:
        values.append(tf.raw_ops.CollectiveBcastRecv(
            T=var.dtype.base_dtype, **arguments))
  return tf.group(*[var.assign(value) for var, value in
                    zip(variables, values)], name='broadcast_from_rank0')


def average_over_cluster(variables, cluster):
  """An op that sets each variable to its mean over all processes.

  For batch-norm moving statistics, which every process updates from its
  own batches; run it on every process at the same step.

  Args:
    variables: float variables, in the same order on every process.
    cluster: a Cluster.

  Returns:
    An op; a no-op with one process.
  """
  if cluster.engine == ENGINE_SINGLE or not variables:
    return tf.no_op(name='average_over_cluster')
  return tf.group(*[
      var.assign(_all_reduce(var.read_value(), cluster, _AVERAGE_KEYS + i))
      for i, var in enumerate(variables)], name='average_over_cluster')


def agree(loss, accuracy, stop, cluster):
  """The cluster's mean loss and accuracy, and whether any process stops.

  Args:
    loss: float32 scalar, this process's batch loss.
    accuracy: float32 scalar, this process's batch accuracy.
    stop: float32 scalar, 1 when this process wants to stop, else 0.
    cluster: a Cluster.

  Returns:
    (mean loss, mean accuracy, max stop), float32 scalars.
  """
  if cluster.engine == ENGINE_SINGLE:
    return loss, accuracy, stop
  return (_all_reduce(loss, cluster, _METRIC_KEYS),
          _all_reduce(accuracy, cluster, _METRIC_KEYS + 1),
          _all_reduce(stop, cluster, _METRIC_KEYS + 2, merge='Max',
                      final='Id'))
