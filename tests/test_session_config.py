"""The session configuration on an Ascend NPU (stand-in) and elsewhere."""

import pytest
from tensorflow.core.protobuf import rewriter_config_pb2

import npu_bridge_standin
import session_config

OFF = rewriter_config_pb2.RewriterConfig.OFF


def test_npu_session_uses_the_npu_optimizer(monkeypatch):
  npu_bridge_standin.install(monkeypatch)

  config, device = session_config.make_session_config()

  assert device == session_config.DEVICE_NPU
  rewrite_options = config.graph_options.rewrite_options
  assert [o.name for o in rewrite_options.custom_optimizers] == [
      'NpuOptimizer']
  parameters = rewrite_options.custom_optimizers[0].parameter_map
  assert list(parameters.keys()) == ['use_off_line']
  assert parameters['use_off_line'].b is True
  assert rewrite_options.remapping == OFF
  assert rewrite_options.memory_optimization == OFF
  assert config.gpu_options.allow_growth is True


def test_without_npu_bridge_the_session_is_plain(monkeypatch):
  npu_bridge_standin.remove(monkeypatch)

  config, device = session_config.make_session_config()

  assert device == session_config.DEVICE_CPU_GPU
  rewrite_options = config.graph_options.rewrite_options
  assert len(rewrite_options.custom_optimizers) == 0
  assert rewrite_options.remapping != OFF
  assert config.gpu_options.allow_growth is True
  assert config.allow_soft_placement is True


def test_a_broken_npu_bridge_is_an_error_not_a_cpu_fallback(monkeypatch):
  npu_bridge_standin.break_npu_init(monkeypatch)

  with pytest.raises(ImportError, match='failed to import'):
    session_config.make_session_config()
