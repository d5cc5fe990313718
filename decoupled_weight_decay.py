"""Momentum SGD with decoupled weight decay, for TF 1.15 and TF 2.x alike.

The original port used TF 1.15's `tf.contrib.opt.MomentumWOptimizer`
(Loshchilov & Hutter, "Decoupled Weight Decay Regularization"). TF 2.x has
no tf.contrib, so this module provides the same update on top of the v1
`MomentumOptimizer`, which both versions share:

    var   <- var - weight_decay * var
    accum <- momentum * accum + grad
    var   <- var - learning_rate * accum      (Nesterov: see MomentumOptimizer)

The decay is not scaled by the learning rate, as in tf.contrib. The gradient
is the one computed at the undecayed weights. The optimizer's default name,
`MomentumW`, names its slot variables `<variable>/MomentumW`, which is what
the original checkpoints hold.
"""

from tf_compat import tf


class MomentumWOptimizer(tf.train.MomentumOptimizer):
  """MomentumOptimizer that first shrinks every updated variable."""

  def __init__(self, weight_decay, learning_rate, momentum,
               use_locking=False, name='MomentumW', use_nesterov=False):
    """Creates the optimizer.

    Args:
      weight_decay: float or scalar tensor; each step multiplies every
        variable that has a gradient by (1 - weight_decay) before the
        momentum update.
      learning_rate: float or scalar tensor.
      momentum: float or scalar tensor, the momentum coefficient.
      use_locking: passed to MomentumOptimizer.
      name: prefix of the slot variables; keep 'MomentumW' to read and write
        the original port's checkpoints.
      use_nesterov: use Nesterov momentum.
    """
    super(MomentumWOptimizer, self).__init__(
        learning_rate, momentum, use_locking=use_locking, name=name,
        use_nesterov=use_nesterov)
    self._weight_decay = weight_decay

  def apply_gradients(self, grads_and_vars, global_step=None, name=None):
    """Decays the variables, then applies the momentum update.

    Args:
      grads_and_vars: list of (gradient, variable) pairs, as returned by
        compute_gradients().
      global_step: optional variable to increment after the update.
      name: optional name of the returned operation.

    Returns:
      An operation that applies the decay and the update.
    """
    grads_and_vars = list(grads_and_vars)
    grads = [g for g, _ in grads_and_vars if g is not None]

    # Waiting for every gradient means the forward and backward passes have
    # read the weights before any of them shrinks. tf.contrib ordered only
    # the decay before each variable's own update.
    with tf.control_dependencies(grads):
      decays = [
          var.assign_sub(self._weight_decay * var,
                         use_locking=self._use_locking)
          for grad, var in grads_and_vars if grad is not None
      ]

    with tf.control_dependencies(decays):
      return super(MomentumWOptimizer, self).apply_gradients(
          grads_and_vars, global_step=global_step, name=name)
