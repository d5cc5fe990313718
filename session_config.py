"""Session configuration for an Ascend NPU, a GPU or a CPU, and precision.

On an Ascend machine the CANN toolkit provides `npu_bridge`, TensorFlow
1.15's adapter to the NPU. When it imports, the session hands the graph to
the adapter's `NpuOptimizer`, which compiles it for the device, as the TF
adapter documentation for sess.run scripts describes. Otherwise the session
is an ordinary one that grows GPU memory on demand.

Mixed precision means, by device:
  npu: the adapter's precision_mode 'allow_mix_precision' (float16 where
       the NPU allows it), with loss scaling in the graph;
  gpu: grappler's auto_mixed_precision rewrite to float16, with dynamic loss
       scaling in the graph;
  cpu: grappler's oneDNN bfloat16 rewrite, where the CPU has bfloat16
       instructions; bfloat16 keeps float32's range, so no loss scaling.
"""

import importlib

from absl import logging

from tf_compat import tf

DEVICE_NPU = 'npu'
DEVICE_GPU = 'gpu'
DEVICE_CPU = 'cpu'

PRECISIONS = ('fp32', 'mixed')

# Linux reports these CPU flags when the cores have bfloat16 arithmetic.
_BFLOAT16_CPU_FLAGS = ('avx512_bf16', 'amx_bf16')


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


def detect_device():
  """Returns DEVICE_NPU, DEVICE_GPU or DEVICE_CPU for this machine."""
  if import_npu_bridge() is not None:
    return DEVICE_NPU
  if tf.config.experimental.list_physical_devices('GPU'):
    return DEVICE_GPU
  return DEVICE_CPU


def cpu_has_bfloat16(cpuinfo_path='/proc/cpuinfo'):
  """Whether the CPU reports bfloat16 instructions (Linux only)."""
  try:
    with open(cpuinfo_path) as stream:
      words = set(stream.read().split())
  except (IOError, OSError):
    return False
  return any(flag in words for flag in _BFLOAT16_CPU_FLAGS)


def make_session_config(precision='fp32', precision_mode=None,
                        iterations_per_loop=1, device=None,
                        overflow_dump_path=None):
  """Builds the ConfigProto for this machine and precision.

  Args:
    precision: 'fp32' or 'mixed'.
    precision_mode: NPU only: the adapter's precision_mode, overriding what
      `precision` chooses (e.g. 'must_keep_origin_dtype' for true float32,
      'allow_fp32_to_fp16'). None leaves fp32 runs at the adapter's
      default, as the original did.
    iterations_per_loop: NPU only: training steps per session.run.
    device: DEVICE_NPU, DEVICE_GPU or DEVICE_CPU; None detects it.
    overflow_dump_path: NPU only: a folder where the adapter dumps the
      operators that overflow (its "over_dump" debugging); None for none.

  Returns:
    A (tf.ConfigProto, device, effective precision) triple; the effective
    precision is 'fp32' where mixed precision is not available.

  Raises:
    ValueError: on an unknown precision.
  """
  if precision not in PRECISIONS:
    raise ValueError('precision must be one of %s; got %r.'
                     % (PRECISIONS, precision))
  device = device or detect_device()

  config = tf.ConfigProto(allow_soft_placement=True)
  config.gpu_options.allow_growth = True
  rewrite_options = config.graph_options.rewrite_options

  # Imported here, after tf_compat has imported TensorFlow.
  from tensorflow.core.protobuf import rewriter_config_pb2
  on = rewriter_config_pb2.RewriterConfig.ON
  off = rewriter_config_pb2.RewriterConfig.OFF

  if device == DEVICE_NPU:
    npu_optimizer = rewrite_options.custom_optimizers.add()
    npu_optimizer.name = 'NpuOptimizer'
    # Run the whole graph on the Ascend device.
    npu_optimizer.parameter_map['use_off_line'].b = True
    if precision_mode is None and precision == 'mixed':
      precision_mode = 'allow_mix_precision'
    if precision_mode is not None:
      npu_optimizer.parameter_map['precision_mode'].s = (
          precision_mode.encode('ascii'))
    if iterations_per_loop > 1:
      # Several steps per session.run need the input on the device too.
      npu_optimizer.parameter_map['enable_data_pre_proc'].b = True
      npu_optimizer.parameter_map['iterations_per_loop'].i = (
          iterations_per_loop)
    if overflow_dump_path:
      npu_optimizer.parameter_map['dump_path'].s = (
          overflow_dump_path.encode('utf-8'))
      npu_optimizer.parameter_map['enable_dump_debug'].b = True
      npu_optimizer.parameter_map['dump_debug_mode'].s = b'all'
    # The adapter documents both rewrites as incompatible with its compiler.
    rewrite_options.remapping = off
    rewrite_options.memory_optimization = off
    return config, device, precision

  if overflow_dump_path:
    logging.warning('The overflow dump needs an Ascend NPU; ignoring it.')
  if precision == 'mixed' and device == DEVICE_GPU:
    rewrite_options.auto_mixed_precision = on
  elif precision == 'mixed':
    # The field is missing from TF 1.15's ConfigProto.
    fields = rewrite_options.DESCRIPTOR.fields_by_name
    if 'auto_mixed_precision_onednn_bfloat16' not in fields:
      logging.warning('--precision mixed: this TensorFlow has no oneDNN '
                      'bfloat16 rewrite; using fp32.')
      precision = 'fp32'
    elif not cpu_has_bfloat16():
      logging.warning('--precision mixed: this CPU has no bfloat16 '
                      'instructions; using fp32.')
      precision = 'fp32'
    else:
      rewrite_options.auto_mixed_precision_onednn_bfloat16 = on
  return config, device, precision
