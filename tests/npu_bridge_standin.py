"""A stand-in for CANN's `npu_bridge` package, for machines without it.

It mirrors the module paths and signatures of the TF adapter's API that
the project calls, as the adapter's documentation gives them:

  npu_bridge.npu_init                        imported to enable the NPU
  npu_bridge.estimator.npu_ops               dropout(x, keep_prob, ...)
  npu_bridge.estimator.npu.util              IterationPerLoop
  npu_bridge.estimator.npu.npu_loss_scale_manager
                                             ExponentialUpdateLossScaleManager
  npu_bridge.estimator.npu.npu_loss_scale_optimizer
                                             NPULossScaleOptimizer
  npu_bridge.estimator.npu.npu_optimizer     npu_distributed_optimizer_wrapper
  npu_bridge.hccl.hccl_ops                   allreduce, broadcast

The stand-ins work on the CPU with plain TensorFlow and record how they were
called, in `Calls`. Install them into sys.modules with install(), or hide a
real adapter with remove().
"""

import sys
import types

from tf_compat import tf


class Calls(object):
  """What the project asked of the stand-in adapter, in order."""

  def __init__(self):
    self.log = []

  def add(self, function, **arguments):
    self.log.append((function, arguments))

  def named(self, function):
    return [arguments for called, arguments in self.log
            if called == function]


def _module(monkeypatch, name, **members):
  module = types.ModuleType(name)
  module.__path__ = []
  for key, value in members.items():
    setattr(module, key, value)
  monkeypatch.setitem(sys.modules, name, module)
  parent, _, child = name.rpartition('.')
  if parent:
    setattr(sys.modules[parent], child, module)
  return module


def install(monkeypatch):
  """Makes the adapter's modules importable for the current test.

  Args:
    monkeypatch: pytest's monkeypatch fixture; the modules vanish after the
      test.

  Returns:
    A Calls object that records the calls into the stand-in.
  """
  calls = Calls()

  def dropout(x, keep_prob, noise_shape=None, seed=None, name=None):
    calls.add('dropout', keep_prob=keep_prob, noise_shape=noise_shape,
              seed=seed, name=name)
    return tf.nn.dropout(x, rate=1.0 - keep_prob)

  class IterationPerLoop(object):

    def create_iteration_per_loop_var(self, train_op):
      calls.add('create_iteration_per_loop_var', train_op=train_op)
      return train_op

    def load_iteration_per_loop_var(self, sess, iterations_per_loop=1):
      calls.add('load_iteration_per_loop_var', sess=sess,
                iterations_per_loop=iterations_per_loop)

  def set_iteration_per_loop(sess, train_op, iterations_per_loop=1):
    calls.add('set_iteration_per_loop', sess=sess, train_op=train_op,
              iterations_per_loop=iterations_per_loop)
    return train_op

  class ExponentialUpdateLossScaleManager(object):

    def __init__(self, init_loss_scale, incr_every_n_steps,
                 decr_every_n_nan_or_inf=2, incr_ratio=2, decr_ratio=0.8):
      calls.add('ExponentialUpdateLossScaleManager',
                init_loss_scale=init_loss_scale,
                incr_every_n_steps=incr_every_n_steps,
                decr_every_n_nan_or_inf=decr_every_n_nan_or_inf,
                incr_ratio=incr_ratio, decr_ratio=decr_ratio)
      self._scale = tf.Variable(float(init_loss_scale), trainable=False,
                                name='loss_scale')

    def get_loss_scale(self):
      return self._scale

  class NPULossScaleOptimizer(tf.train.Optimizer):
    """Delegates to the wrapped optimizer; scales nothing."""

    def __init__(self, opt, loss_scale_manager, is_distributed=False):
      super(NPULossScaleOptimizer, self).__init__(False, 'NPULossScale')
      calls.add('NPULossScaleOptimizer', opt=opt,
                loss_scale_manager=loss_scale_manager,
                is_distributed=is_distributed)
      self._opt = opt

    def compute_gradients(self, *args, **kwargs):
      return self._opt.compute_gradients(*args, **kwargs)

    def apply_gradients(self, *args, **kwargs):
      return self._opt.apply_gradients(*args, **kwargs)

  def npu_distributed_optimizer_wrapper(optimizer):
    calls.add('npu_distributed_optimizer_wrapper', optimizer=optimizer)
    return optimizer

  def allreduce(tensor, reduction, fusion=1, fusion_id=-1,
                group='hccl_world_group'):
    calls.add('allreduce', tensor=tensor, reduction=reduction, fusion=fusion,
              fusion_id=fusion_id, group=group)
    return tf.identity(tensor)

  def broadcast(tensor, root_rank, fusion=2, fusion_id=0,
                group='hccl_world_group'):
    calls.add('broadcast', tensor=tensor, root_rank=root_rank, fusion=fusion,
              fusion_id=fusion_id, group=group)
    return [tf.identity(t) for t in tensor]

  _module(monkeypatch, 'npu_bridge')
  _module(monkeypatch, 'npu_bridge.npu_init')
  _module(monkeypatch, 'npu_bridge.estimator')
  _module(monkeypatch, 'npu_bridge.estimator.npu_ops', dropout=dropout)
  _module(monkeypatch, 'npu_bridge.estimator.npu')
  _module(monkeypatch, 'npu_bridge.estimator.npu.util',
          IterationPerLoop=IterationPerLoop,
          set_iteration_per_loop=set_iteration_per_loop)
  _module(monkeypatch, 'npu_bridge.estimator.npu.npu_loss_scale_manager',
          ExponentialUpdateLossScaleManager=ExponentialUpdateLossScaleManager)
  _module(monkeypatch, 'npu_bridge.estimator.npu.npu_loss_scale_optimizer',
          NPULossScaleOptimizer=NPULossScaleOptimizer)
  _module(monkeypatch, 'npu_bridge.estimator.npu.npu_optimizer',
          npu_distributed_optimizer_wrapper=npu_distributed_optimizer_wrapper)
  _module(monkeypatch, 'npu_bridge.hccl')
  _module(monkeypatch, 'npu_bridge.hccl.hccl_ops', allreduce=allreduce,
          broadcast=broadcast)
  return calls


class _AbsentFinder(object):
  """Import finder that reports npu_bridge as not installed."""

  def find_spec(self, name, path=None, target=None):
    del path, target  # Unused.
    if name.split('.')[0] == 'npu_bridge':
      raise ModuleNotFoundError("No module named 'npu_bridge'",
                                name='npu_bridge')
    return None


def remove(monkeypatch):
  """Makes `import npu_bridge` fail as on a machine without CANN."""
  for name in [n for n in sys.modules if n.split('.')[0] == 'npu_bridge']:
    monkeypatch.delitem(sys.modules, name)
  monkeypatch.setattr(sys, 'meta_path', [_AbsentFinder()] + sys.meta_path)


def break_npu_init(monkeypatch):
  """Makes `npu_bridge.npu_init` fail to import while `npu_bridge` exists.

  That is what a CANN install without its libraries on the path looks like.
  """
  install(monkeypatch)
  monkeypatch.setitem(sys.modules, 'npu_bridge.npu_init', None)
