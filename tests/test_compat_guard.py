"""Guards for the Ascend users' TensorFlow 1.15 and Python 3.7.

Nothing here can install either, so the checks are static:

* Every TensorFlow symbol a project file uses must be in TF 1.15's
  `tf.compat.v1` (the list tools/list_tf115_symbols.py wrote from the
  1.15.5 wheel into tests/data/) and in the installed TensorFlow.
* Every file must parse with Python 3.7's grammar, and vermin must find
  nothing that needs a newer Python.

Which uses are checked. The project imports TensorFlow only as `from
tf_compat import tf` (`import tensorflow.compat.v1 as tf` and `from
tensorflow.compat import v1` are recognised too, under any alias, and so
is `tf_compat.tf` after `import tf_compat`). Every pure attribute chain on
that name, such as `tf.train.Example` or `tf.GraphKeys.UPDATE_OPS`, is one
use, reported at its line; in `tf.train.Example(...).SerializeToString`
only `tf.train.Example` is a chain, and what follows a call is an
attribute of its result, not API. The TF 1.15 list names modules and their
members but not the attributes of classes, so a chain is checked there up
to its first name that is not a module: `tf.data.experimental.AUTOTUNE` as
a whole, `tf.GraphKeys.UPDATE_OPS` as `GraphKeys`. The installed
TensorFlow is checked with getattr along the whole chain, so
`GraphKeys.UPDATE_OPS` must exist there. When a chain is assigned to or
deleted, its last name is the one being set and is not checked. Names
reached only through getattr() or another variable are not seen.

Any other TensorFlow import fails the test, unless it is one of
DIRECT_IMPORTS below, which were each looked up in the 1.15.5 wheel.
"""

import ast
import collections
import hashlib
import importlib
import importlib.util
import os
import subprocess
import sys
import zipfile

import pytest

from tf_compat import tf

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYMBOLS_FILE = os.path.join('tests', 'data', 'tf115_compat_v1_symbols.txt')
TOOL_FILE = os.path.join(REPO_ROOT, 'tools', 'list_tf115_symbols.py')

# TensorFlow modules imported directly rather than through tf.compat.v1.
# Each is a file of the tensorflow 1.15.5 wheel, under tensorflow_core/.
DIRECT_IMPORTS = frozenset([
    # tensorflow_core/core/protobuf/rewriter_config_pb2.py
    'tensorflow.core.protobuf.rewriter_config_pb2',
])

TfUse = collections.namedtuple('TfUse', ['line', 'names'])


def project_files():
  """Returns the repo-relative paths of the project's Python files.

  These are the files git tracks plus the untracked ones it does not
  ignore; without git, every .py file outside hidden folders.
  """
  try:
    listing = subprocess.run(
        ['git', 'ls-files', '-z', '--cached', '--others',
         '--exclude-standard', '--', '*.py'],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        check=True).stdout.decode('utf-8')
    paths = listing.split('\0')
  except (OSError, subprocess.CalledProcessError):
    paths = []
    for folder, subfolders, names in os.walk(REPO_ROOT):
      subfolders[:] = [name for name in subfolders
                       if not name.startswith('.') and name != '__pycache__']
      paths.extend(os.path.relpath(os.path.join(folder, name), REPO_ROOT)
                   for name in names if name.endswith('.py'))
  return sorted(set(path for path in paths
                    if path and os.path.isfile(os.path.join(REPO_ROOT, path))))


def read_source(path, root=REPO_ROOT):
  with open(os.path.join(root, path), 'rb') as stream:
    return stream.read().decode('utf-8')


def load_tf115_symbols():
  """Returns the set of dotted names in TF 1.15's tf.compat.v1."""
  with open(os.path.join(REPO_ROOT, SYMBOLS_FILE)) as stream:
    return set(line.strip() for line in stream
               if line.strip() and not line.startswith('#'))


def _is_tensorflow(module):
  return module == 'tensorflow' or module.startswith('tensorflow.')


def find_tf_uses(source, filename='<source>'):
  """Finds the TensorFlow API a module uses.

  Args:
    source: the module's text.
    filename: its name, for syntax errors.

  Returns:
    A (uses, direct_imports) pair: a list of TfUse, each a line number and
    the names after `tf` (['train', 'Example'] for `tf.train.Example`), in
    source order; and a list of (line, dotted module) for every other
    TensorFlow import.
  """
  tree = ast.parse(source, filename)
  aliases = set()
  compat_modules = set()
  direct_imports = []
  for node in ast.walk(tree):
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
      for alias in node.names:
        bound = alias.asname or alias.name
        if node.module == 'tf_compat' and alias.name == 'tf':
          aliases.add(bound)
        elif node.module == 'tensorflow.compat' and alias.name == 'v1':
          aliases.add(bound)
        elif _is_tensorflow(node.module):
          direct_imports.append(
              (node.lineno, '%s.%s' % (node.module, alias.name)))
    elif isinstance(node, ast.Import):
      for alias in node.names:
        if alias.name == 'tensorflow.compat.v1' and alias.asname:
          aliases.add(alias.asname)
        elif alias.name == 'tf_compat':
          compat_modules.add(alias.asname or alias.name)
        elif _is_tensorflow(alias.name):
          direct_imports.append((node.lineno, alias.name))

  uses = []

  class ChainFinder(ast.NodeVisitor):
    """Records each longest attribute chain on a TensorFlow name."""

    def visit_Attribute(self, node):
      names = []
      root = node
      while isinstance(root, ast.Attribute):
        names.insert(0, root.attr)
        root = root.value
      if not isinstance(root, ast.Name):
        # A chain on a call or subscript; chains may sit inside it.
        self.generic_visit(node)
        return
      if root.id in compat_modules and names[0] == 'tf':
        names = names[1:]
      elif root.id not in aliases:
        return
      if isinstance(node.ctx, (ast.Store, ast.Del)):
        names = names[:-1]
      if names:
        uses.append(TfUse(node.lineno, names))

  ChainFinder().visit(tree)
  uses.sort(key=lambda use: use.line)
  return uses, sorted(direct_imports)


def tf115_name(names, symbols):
  """Returns the part of a chain that TF 1.15's list can confirm.

  Args:
    names: the names after `tf`, e.g. ['GraphKeys', 'UPDATE_OPS'].
    symbols: the set from load_tf115_symbols().

  Returns:
    The dotted prefix up to the first name that is not a module, or up to
    the first name the list lacks: 'GraphKeys' for the example.
  """
  for end in range(1, len(names) + 1):
    dotted = '.'.join(names[:end])
    is_module = any(symbol.startswith(dotted + '.') for symbol in symbols)
    if dotted not in symbols or not is_module:
      return dotted
  return '.'.join(names)


def missing_in_installed_tf(names):
  """Returns the first prefix of a chain that the installed tf lacks.

  Args:
    names: the names after `tf`.

  Returns:
    The dotted prefix whose last name getattr cannot find, or None.
  """
  value = tf
  for end, name in enumerate(names, 1):
    try:
      value = getattr(value, name)
    except AttributeError:
      return '.'.join(names[:end])
  return None


def compat_violations(paths, symbols, root=REPO_ROOT):
  """Lists every TensorFlow use that either version lacks.

  Args:
    paths: paths of Python files, relative to root.
    symbols: the set from load_tf115_symbols().
    root: the folder the paths start from.

  Returns:
    A list of 'path:line: message' strings.
  """
  violations = []
  for path in paths:
    uses, direct_imports = find_tf_uses(read_source(path, root), path)
    for use in uses:
      checked = tf115_name(use.names, symbols)
      if checked not in symbols:
        violations.append(
            '%s:%d: tf.%s is not in TensorFlow 1.15 tf.compat.v1 (%s)'
            % (path, use.line, checked, SYMBOLS_FILE))
      missing = missing_in_installed_tf(use.names)
      if missing is not None:
        violations.append(
            '%s:%d: tf.%s is not in the installed TensorFlow %s '
            'tf.compat.v1' % (path, use.line, missing, tf.VERSION))
    for line, module in direct_imports:
      if module not in DIRECT_IMPORTS:
        violations.append(
            '%s:%d: %s is imported directly; use `from tf_compat import tf` '
            '(or add it to DIRECT_IMPORTS once it is known in TF 1.15)'
            % (path, line, module))
  return violations


def test_every_tensorflow_symbol_exists_in_tf115_and_installed_tf():
  paths = project_files()
  symbols = load_tf115_symbols()

  violations = compat_violations(paths, symbols)

  assert not violations, '\n' + '\n'.join(violations)
  # The scan itself found the project's TensorFlow code.
  uses = dict((path, find_tf_uses(read_source(path), path)[0])
              for path in paths)
  assert ['layers', 'conv2d'] in [use.names for use in
                                  uses['wideresnet_model.py']]
  assert ['data', 'experimental', 'AUTOTUNE'] in [use.names for use in
                                                  uses['data_input.py']]


def test_direct_tensorflow_imports_load_in_installed_tf():
  for module in sorted(DIRECT_IMPORTS):
    assert importlib.import_module(module).__name__ == module


def test_find_tf_uses_reads_chains_as_documented():
  source = '\n'.join([
      'from tf_compat import tf',
      'import tf_compat as compat',
      'import tensorflow.compat.v1 as tf1',
      'from tensorflow.core.protobuf import rewriter_config_pb2',
      'example = tf.train.Example(features=None).SerializeToString()',
      'keys = [tf.GraphKeys.UPDATE_OPS, tf1.data.AUTOTUNE]',
      'tf.logging.level = compat.tf.layers.conv2d',
      'del tf.app.flags',
      'other.tf.nothing = tf',
  ])

  uses, direct_imports = find_tf_uses(source)

  assert uses == [
      TfUse(5, ['train', 'Example']),
      TfUse(6, ['GraphKeys', 'UPDATE_OPS']),
      TfUse(6, ['data', 'AUTOTUNE']),
      TfUse(7, ['logging']),
      TfUse(7, ['layers', 'conv2d']),
      TfUse(8, ['app']),
  ]
  assert direct_imports == [
      (4, 'tensorflow.core.protobuf.rewriter_config_pb2')]


def test_tf115_name_stops_after_the_first_member():
  symbols = load_tf115_symbols()

  assert tf115_name(['GraphKeys', 'UPDATE_OPS'], symbols) == 'GraphKeys'
  assert tf115_name(['data', 'experimental', 'AUTOTUNE'],
                    symbols) == 'data.experimental.AUTOTUNE'
  assert tf115_name(['layers'], symbols) == 'layers'
  # tf.data.AUTOTUNE came with TF 2.x.
  assert tf115_name(['data', 'AUTOTUNE'], symbols) == 'data.AUTOTUNE'
  assert 'data.AUTOTUNE' not in symbols


def test_compat_violations_name_file_line_and_symbol(tmp_path):
  scratch = tmp_path / 'scratch.py'
  scratch.write_text('\n'.join([
      'from tf_compat import tf',
      'import tensorflow as tf2',
      'a = tf.data.AUTOTUNE',
      'b = tf.data.experimental.StatsAggregator',
      'c = tf.GraphKeys.NO_SUCH_KEY',
      'd = tf.layers.conv2d',
  ]) + '\n')

  violations = compat_violations(['scratch.py'], load_tf115_symbols(),
                                 root=str(tmp_path))

  assert violations == [
      'scratch.py:3: tf.data.AUTOTUNE is not in TensorFlow 1.15 '
      'tf.compat.v1 (%s)' % SYMBOLS_FILE,
      'scratch.py:4: tf.data.experimental.StatsAggregator is not in the '
      'installed TensorFlow %s tf.compat.v1' % tf.VERSION,
      'scratch.py:5: tf.GraphKeys.NO_SUCH_KEY is not in the installed '
      'TensorFlow %s tf.compat.v1' % tf.VERSION,
      'scratch.py:2: tensorflow is imported directly; use `from tf_compat '
      'import tf` (or add it to DIRECT_IMPORTS once it is known in TF 1.15)',
  ]


def test_symbol_list_is_sorted_and_has_the_project_api():
  with open(os.path.join(REPO_ROOT, SYMBOLS_FILE)) as stream:
    lines = stream.read().splitlines()
  header = [line for line in lines if line.startswith('#')]
  names = [line for line in lines if not line.startswith('#')]

  assert header[0] == ('# Public names of tf.compat.v1 in tensorflow 1.15.5, '
                       'one per line.')
  assert lines[:len(header)] == header
  assert names == sorted(set(names))
  for name in ['layers', 'layers.conv2d', 'train.MomentumOptimizer',
               'data.experimental.AUTOTUNE', 'GraphKeys', '__version__',
               'keras.layers.Dense', 'app.flags']:
    assert name in names


def _load_tool():
  spec = importlib.util.spec_from_file_location('list_tf115_symbols',
                                                TOOL_FILE)
  tool = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(tool)
  return tool


# A miniature wheel laid out like tensorflow 1.15's generated API.
FAKE_WHEEL = {
    'tensorflow-1.15.5.dist-info/METADATA':
        'Metadata-Version: 2.1\nName: tensorflow\nVersion: 1.15.5\n',
    'tensorflow_core/_api/v1/compat/v1/__init__.py': '\n'.join([
        'from __future__ import print_function as _print_function',
        'import sys as _sys',
        'from tensorflow._api.v1.compat.v1 import layers',
        'from tensorflow.python.ops.array_ops import placeholder',
        'from tensorflow.python.ops.variables import VariableV1 as Variable',
        'from tensorflow.python.framework.versions import VERSION as '
        '__version__',
        'from tensorflow.python.ops.hidden import secret',
        'del secret',
        'del _print_function',
        '_current_module = _sys.modules[__name__]',
        'try:',
        '  from tensorflow.python.keras.api._v1 import keras',
        '  setattr(_current_module, "keras", keras)',
        'except ImportError:',
        '  pass',
        'try:',
        '  from tensorflow_estimator.python.estimator.api._v1 import '
        'estimator',
        '  setattr(_current_module, "estimator", estimator)',
        'except ImportError:',
        '  pass',
        'from tensorflow.python.platform import flags',
        '_current_module.layers.flags = flags',
    ]),
    'tensorflow_core/_api/v1/compat/v1/layers/__init__.py':
        'from tensorflow.python.layers.core import dense\n',
    'tensorflow_core/python/keras/api/_v1/keras/__init__.py': '\n'.join([
        'from tensorflow.python.keras.api._v1.keras import layers',
        'from tensorflow.python.keras.engine.training import Model',
    ]),
    'tensorflow_core/python/keras/api/_v1/keras/layers/__init__.py':
        'from tensorflow.python.keras.layers.core import Dense\n',
    'tensorflow_core/python/platform/flags.py': 'from absl.flags import *\n',
}


def test_tool_lists_the_api_of_a_wheel(tmp_path):
  wheel_path = str(tmp_path / 'tensorflow-1.15.5-cp37-none-any.whl')
  with zipfile.ZipFile(wheel_path, 'w') as wheel:
    for name, text in sorted(FAKE_WHEEL.items()):
      wheel.writestr(name, text)
  output = str(tmp_path / 'symbols.txt')
  tool = _load_tool()

  assert tool.main([wheel_path, '--output', output]) == 0

  with open(wheel_path, 'rb') as stream:
    digest = hashlib.sha256(stream.read()).hexdigest()
  with open(output) as stream:
    assert stream.read().splitlines() == [
        '# Public names of tf.compat.v1 in tensorflow 1.15.5, one per line.',
        '# Written by tools/list_tf115_symbols.py from the wheel',
        '# tensorflow-1.15.5-cp37-none-any.whl',
        '# sha256 %s' % digest,
        'Variable',
        '__version__',
        'estimator',
        'flags',
        'keras',
        'keras.Model',
        'keras.layers',
        'keras.layers.Dense',
        'layers',
        'layers.dense',
        'layers.flags',
        'placeholder',
    ]


def test_tool_rejects_a_wheel_without_the_v1_api(tmp_path):
  wheel_path = str(tmp_path / 'other.whl')
  with zipfile.ZipFile(wheel_path, 'w') as wheel:
    wheel.writestr('tensorflow/__init__.py', '')
  tool = _load_tool()

  with zipfile.ZipFile(wheel_path) as wheel:
    with pytest.raises(ValueError, match='compat/v1/__init__.py is not in'):
      tool.list_symbols(wheel)


def test_every_file_parses_with_python37_grammar():
  errors = []
  for path in project_files():
    try:
      if sys.version_info >= (3, 8):
        # Python 3.7 has no feature_version, and needs none.
        ast.parse(read_source(path), path, feature_version=(3, 7))  # novm
      else:
        ast.parse(read_source(path), path)
    except SyntaxError as error:
      errors.append('%s:%s: %s' % (path, error.lineno, error.msg))

  assert not errors, '\n' + '\n'.join(errors)


def test_vermin_finds_nothing_newer_than_python37():
  if importlib.util.find_spec('vermin') is None:
    pytest.fail('vermin is not installed; pip install -r requirements.txt')
  paths = [os.path.join(REPO_ROOT, path) for path in project_files()]

  result = subprocess.run(
      # vermin has no __main__ module; this is what its command runs.
      [sys.executable, '-c', 'import sys, vermin; sys.exit(vermin.main())',
       '--target=3.7-', '--violations',
       '--eval-annotations', '--no-tips', '--no-make-paths-absolute']
      + paths, cwd=REPO_ROOT, stdout=subprocess.PIPE,
      stderr=subprocess.STDOUT)

  status, output = result.returncode, result.stdout.decode('utf-8')
  assert status == 0, output
  assert 'Analyzing %d files' % len(paths) in output, output
