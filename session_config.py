"""Session configuration for an Ascend NPU, or for a CPU or GPU.

On an Ascend machine the CANN toolkit provides `npu_bridge`, TensorFlow
1.15's adapter to the NPU. When it imports, the session hands the graph to
the adapter's `NpuOptimizer`, which compiles it for the device, as the TF
adapter documentation for sess.run scripts describes. Otherwise the session
is an ordinary one that grows GPU memory on demand.
"""

import importlib

from tf_compat import tf

DEVICE_NPU = 'npu'
DEVICE_CPU_GPU = 'cpu/gpu'


def import_npu_bridge():
  """Imports the Ascend adapter if this machine has it.

  `npu_bridge.npu_init` registers the NPU ops and optimizer with TensorFlow
  and also loads HCCL; on recent CANN versions it patches tf.Session as
  well, so it is imported only here, when a session is about to be made.

  Returns:
    The `npu_bridge.npu_init` module, or None when `npu_bridge` is not
    installed.

  Raises:
    ImportError: if `npu_bridge` is installed but fails to import, so a
      broken CANN setup never falls back to the CPU unnoticed.
  """
  try:
    return importlib.import_module('npu_bridge.npu_init')
  except ImportError as error:
    if getattr(error, 'name', None) == 'npu_bridge':
      return None
    raise ImportError(
        'npu_bridge is installed but failed to import (%s); source the CANN '
        'environment script (set_env.sh) or uninstall npu_bridge to run on '
        'CPU/GPU.' % error)


def make_session_config():
  """Builds the ConfigProto for this machine.

  Returns:
    A (tf.ConfigProto, device) pair; device is DEVICE_NPU or DEVICE_CPU_GPU.
  """
  config = tf.ConfigProto(allow_soft_placement=True)
  config.gpu_options.allow_growth = True

  if import_npu_bridge() is None:
    return config, DEVICE_CPU_GPU

  # Imported here, after tf_compat has imported TensorFlow.
  from tensorflow.core.protobuf import rewriter_config_pb2

  rewrite_options = config.graph_options.rewrite_options
  npu_optimizer = rewrite_options.custom_optimizers.add()
  npu_optimizer.name = 'NpuOptimizer'
  # Run the whole graph on the Ascend device.
  npu_optimizer.parameter_map['use_off_line'].b = True
  # The adapter documents both rewrites as incompatible with its compiler.
  rewrite_options.remapping = rewriter_config_pb2.RewriterConfig.OFF
  rewrite_options.memory_optimization = rewriter_config_pb2.RewriterConfig.OFF
  return config, DEVICE_NPU
