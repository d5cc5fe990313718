"""Session configuration and precision on each device, NPU by stand-in."""

import pytest
from tensorflow.core.protobuf import rewriter_config_pb2

import data_input
import graphs
import npu_bridge_standin
import session_config
from tf_compat import tf

ON = rewriter_config_pb2.RewriterConfig.ON
OFF = rewriter_config_pb2.RewriterConfig.OFF


def npu_parameters(config):
  rewrite_options = config.graph_options.rewrite_options
  assert [o.name for o in rewrite_options.custom_optimizers] == [
      'NpuOptimizer']
  return rewrite_options.custom_optimizers[0].parameter_map


def test_npu_session_uses_the_npu_optimizer(monkeypatch):
  npu_bridge_standin.install(monkeypatch)

  config, device, precision = session_config.make_session_config()

  assert (device, precision) == (session_config.DEVICE_NPU, 'fp32')
  parameters = npu_parameters(config)
  assert list(parameters.keys()) == ['use_off_line']
  assert parameters['use_off_line'].b is True
  rewrite_options = config.graph_options.rewrite_options
  assert rewrite_options.remapping == OFF
  assert rewrite_options.memory_optimization == OFF
  assert config.gpu_options.allow_growth is True


def test_npu_mixed_precision_and_iterations_per_loop(monkeypatch):
  npu_bridge_standin.install(monkeypatch)

  config, device, precision = session_config.make_session_config(
      'mixed', iterations_per_loop=10)

  assert (device, precision) == (session_config.DEVICE_NPU, 'mixed')
  parameters = npu_parameters(config)
  assert sorted(parameters.keys()) == [
      'enable_data_pre_proc', 'iterations_per_loop', 'precision_mode',
      'use_off_line']
  assert parameters['precision_mode'].s == b'allow_mix_precision'
  assert parameters['iterations_per_loop'].i == 10
  assert parameters['enable_data_pre_proc'].b is True


def test_npu_precision_mode_passes_through(monkeypatch):
  npu_bridge_standin.install(monkeypatch)
  config, _, _ = session_config.make_session_config(
      'mixed', precision_mode='must_keep_origin_dtype')
  assert npu_parameters(config)['precision_mode'].s == (
      b'must_keep_origin_dtype')


def test_without_npu_bridge_the_session_is_plain(monkeypatch):
  npu_bridge_standin.remove(monkeypatch)

  config, device, precision = session_config.make_session_config()

  assert device in (session_config.DEVICE_CPU, session_config.DEVICE_GPU)
  assert precision == 'fp32'
  rewrite_options = config.graph_options.rewrite_options
  assert len(rewrite_options.custom_optimizers) == 0
  assert rewrite_options.remapping != OFF
  assert rewrite_options.auto_mixed_precision != ON
  assert rewrite_options.auto_mixed_precision_onednn_bfloat16 != ON
  assert config.gpu_options.allow_growth is True
  assert config.allow_soft_placement is True


def test_gpu_mixed_precision_is_the_float16_rewrite():
  config, device, precision = session_config.make_session_config(
      'mixed', device=session_config.DEVICE_GPU)
  rewrite_options = config.graph_options.rewrite_options
  assert (device, precision) == ('gpu', 'mixed')
  assert rewrite_options.auto_mixed_precision == ON
  assert rewrite_options.auto_mixed_precision_onednn_bfloat16 != ON


@pytest.mark.parametrize('has_bfloat16', [True, False])
def test_cpu_mixed_precision_is_bfloat16_where_the_cpu_has_it(
    monkeypatch, has_bfloat16):
  monkeypatch.setattr(session_config, 'cpu_has_bfloat16',
                      lambda: has_bfloat16)
  config, _, precision = session_config.make_session_config(
      'mixed', device=session_config.DEVICE_CPU)
  rewrite_options = config.graph_options.rewrite_options
  assert precision == ('mixed' if has_bfloat16 else 'fp32')
  assert (rewrite_options.auto_mixed_precision_onednn_bfloat16 == ON) == (
      has_bfloat16)
  assert rewrite_options.auto_mixed_precision != ON


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
  with_bf16 = tmp_path / 'with'
  with_bf16.write_text(u'flags\t\t: fpu avx512f avx512_bf16 amx_tile\n')
  without = tmp_path / 'without'
  without.write_text(u'flags\t\t: fpu avx512f avx2\n')
  assert session_config.cpu_has_bfloat16(str(with_bf16)) is True
  assert session_config.cpu_has_bfloat16(str(without)) is False
  assert session_config.cpu_has_bfloat16(str(tmp_path / 'none')) is False


def test_a_broken_npu_bridge_is_an_error_not_a_cpu_fallback(monkeypatch):
  npu_bridge_standin.break_npu_init(monkeypatch)

  with pytest.raises(ImportError, match='failed to import'):
    session_config.make_session_config()


def test_npu_training_graph_uses_the_adapter(monkeypatch, train_folder):
  calls = npu_bridge_standin.install(monkeypatch)
  files = data_input.list_record_files(train_folder)

  net = graphs.build_train_graph(
      files, 4, None, 10, 1, 10, 0.1, device='npu', precision='mixed',
      iterations_per_loop=3)

  # The NPU's dropout in each of the three blocks, at keep 0.7.
  assert [c['keep_prob'] for c in calls.named('dropout')] == [0.7] * 3
  assert calls.named('ExponentialUpdateLossScaleManager') == [dict(
      init_loss_scale=2.0**32, incr_every_n_steps=1000,
      decr_every_n_nan_or_inf=2, incr_ratio=2, decr_ratio=0.5)]
  wrapped, = calls.named('NPULossScaleOptimizer')
  assert type(wrapped['opt']).__name__ == 'MomentumWOptimizer'
  assert wrapped['is_distributed'] is False
  assert net.loss_scale is not None
  assert net.iterator_init.type == 'MakeIterator'
  assert all(slot is not None for slot in net.slot_variables)
  assert len(net.slot_variables) == 34


def test_fp32_and_bfloat16_add_no_loss_scaling(train_folder):
  files = data_input.list_record_files(train_folder)
  for precision in ('fp32', 'mixed'):
    net = graphs.build_train_graph(files, 4, None, 10, 1, 10, 0.1,
                                   device='cpu', precision=precision)
    assert net.loss_scale is None
    assert net.iterator_init.type == 'NoOp'


def test_gpu_mixed_precision_scales_the_loss(train_folder):
  files = data_input.list_record_files(train_folder)
  net = graphs.build_train_graph(files, 4, None, 10, 1, 10, 0.1,
                                 device='gpu', precision='mixed')
  with net.graph.as_default():
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(net.train_op)
      assert sess.run(net.loss_scale) == 2.0**15
      assert sess.run(net.global_step) == 1


def test_npu_overflow_dump(monkeypatch):
  npu_bridge_standin.install(monkeypatch)
  config, _, _ = session_config.make_session_config(
      overflow_dump_path='/data/dump')
  parameters = npu_parameters(config)
  assert parameters['dump_path'].s == b'/data/dump'
  assert parameters['enable_dump_debug'].b is True
  assert parameters['dump_debug_mode'].s == b'all'


@pytest.mark.parametrize('precision', ['fp32', 'mixed'])
def test_mixed_precision_keeps_the_convolution_biases(train_folder,
                                                      precision):
  # Batch norm cancels these biases; only rounding noise would move them.
  files = data_input.list_record_files(train_folder)
  net = graphs.build_train_graph(files, 8, None, 10, 1, 10, 0.5,
                                 device='cpu', precision=precision)
  with net.graph.as_default():
    variables = {v.op.name: v for v in tf.global_variables()}
    biases = [variables['conv2d%s/bias' % suffix]
              for suffix in [''] + ['_%d' % i for i in range(1, 9)]]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for _ in range(3):
        sess.run(net.train_op)
      largest = max(abs(b).max() for b in sess.run(biases))
      output_bias = abs(sess.run(variables['output/bias'])).max()
  assert output_bias > 0.01
  if precision == 'mixed':
    assert largest == 0.0
  else:
    assert 0.0 < largest < 1e-3
