"""A stand-in for CANN's `npu_bridge` package, for machines without it.

It mirrors the module paths of the TF adapter that the project imports:
`npu_bridge` and `npu_bridge.npu_init`. Install it into sys.modules with
install(), or hide any real one with remove().
"""

import sys
import types


def install(monkeypatch):
  """Makes `import npu_bridge.npu_init` succeed for the current test.

  Args:
    monkeypatch: pytest's monkeypatch fixture; the modules vanish after the
      test.

  Returns:
    The stand-in `npu_bridge.npu_init` module.
  """
  package = types.ModuleType('npu_bridge')
  package.__path__ = []
  npu_init = types.ModuleType('npu_bridge.npu_init')
  package.npu_init = npu_init
  monkeypatch.setitem(sys.modules, 'npu_bridge', package)
  monkeypatch.setitem(sys.modules, 'npu_bridge.npu_init', npu_init)
  return npu_init


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
