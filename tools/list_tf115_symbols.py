r"""Lists the public `tf.compat.v1` API of a TensorFlow 1.15 wheel.

The wheel is read as a zip archive; nothing is installed or imported. Fetch
it with:

  pip download --no-deps --only-binary=:all: --python-version 3.7 \
      --platform manylinux2010_x86_64 tensorflow==1.15.5 -d /tmp/tf115

and write the list the tests use with:

  python3 tools/list_tf115_symbols.py \
      /tmp/tf115/tensorflow-1.15.5-cp37-cp37m-manylinux2010_x86_64.whl \
      --output tests/data/tf115_compat_v1_symbols.txt

How the wheel exposes the API: `tensorflow_core/_api/v1/compat/v1/` is a
tree of generated `__init__.py` files, one per API module. Each binds its
public names with `from <module> import <name> [as <alias>]`; a bound name
is a sub-module when `<module>.<name>` is itself a package in the wheel
(`tensorflow.` maps to the wheel's `tensorflow_core/`), and an API member
(function, class, constant) otherwise. The top-level file also attaches
modules from outside its tree with `setattr(_current_module, 'keras',
keras)` and `_current_module.app.flags = flags`; those names are followed
the same way. Names starting with '_' are private and left out, except
'__dunder__' ones such as `__version__`.

The output has one dotted name per line, relative to `tf.compat.v1`
(`layers`, `layers.conv2d`, `data.experimental.AUTOTUNE`), sorted, after
'#' comment lines naming the wheel. A sub-module is listed along with its
members, so a name is a module exactly when other names start with it and
a dot. A module that is not a package of the wheel is listed alone,
without members: `estimator` (from the separate tensorflow-estimator
package) and `flags` (a plain module re-exporting absl's flags).
"""

import argparse
import ast
import hashlib
import os
import posixpath
import sys
import zipfile

API_ROOT = 'tensorflow_core/_api/v1/compat/v1'
API_MODULE = 'tensorflow._api.v1.compat.v1'
# The name the generated files give their own module object.
CURRENT_MODULE = '_current_module'


def package_path(module):
  """Returns the wheel path of a module's package folder.

  Args:
    module: dotted module name, e.g. 'tensorflow._api.v1.compat.v1.layers'.

  Returns:
    The folder in the wheel, e.g. 'tensorflow_core/_api/v1/compat/v1/layers'.
  """
  parts = module.split('.')
  if parts[0] == 'tensorflow':
    parts[0] = 'tensorflow_core'
  return '/'.join(parts)


def is_public(name):
  """Tells a public name ('conv2d', '__version__') from a private one."""
  if name.startswith('__') and name.endswith('__'):
    return True
  return not name.startswith('_')


def _string_value(node):
  """Returns the value of a string literal node, or None for other nodes."""
  # Python 3.7 parses string literals as ast.Str, later ones as ast.Constant.
  if isinstance(node, ast.Constant):
    return node.value
  return getattr(node, 's', None)


def _setattr_name(call):
  """Returns NAME of `setattr(_current_module, 'NAME', value)`, else None."""
  if (isinstance(call.func, ast.Name) and call.func.id == 'setattr'
      and len(call.args) == 3 and isinstance(call.args[0], ast.Name)
      and call.args[0].id == CURRENT_MODULE
      and isinstance(_string_value(call.args[1]), str)):
    return _string_value(call.args[1])
  return None


def _attribute_path(node):
  """Returns ['app', 'flags'] for `_current_module.app.flags`, else None."""
  parts = []
  while isinstance(node, ast.Attribute):
    parts.insert(0, node.attr)
    node = node.value
  if isinstance(node, ast.Name) and node.id == CURRENT_MODULE and parts:
    return parts
  return None


def module_bindings(source):
  """Finds the public names one generated `__init__.py` binds.

  Args:
    source: the file's text.

  Returns:
    A dict from dotted name (relative to the file's module; 'app.flags' for
    an attribute set on a sub-module) to the full dotted name of what is
    bound there, e.g. {'conv2d': 'tensorflow.python.layers.convolutional.
    conv2d', 'keras': 'tensorflow.python.keras.api._v1.keras'}.
  """
  nodes = sorted(ast.walk(ast.parse(source)),
                 key=lambda node: getattr(node, 'lineno', 0))
  imported = {}
  bindings = {}
  # Statements in source order, so a `del` undoes only an earlier import.
  for node in nodes:
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
      for alias in node.names:
        bound = alias.asname or alias.name
        imported[bound] = '%s.%s' % (node.module, alias.name)
        if is_public(bound):
          bindings[bound] = imported[bound]
    elif isinstance(node, ast.Delete):
      for target in node.targets:
        if isinstance(target, ast.Name):
          bindings.pop(target.id, None)
    elif isinstance(node, ast.Call) and _setattr_name(node):
      # A module attached from outside the tree.
      value = node.args[2]
      if isinstance(value, ast.Name) and value.id in imported:
        bindings[_setattr_name(node)] = imported[value.id]
    elif isinstance(node, ast.Assign) and len(node.targets) == 1:
      path = _attribute_path(node.targets[0])
      value = node.value
      if path and isinstance(value, ast.Name) and value.id in imported:
        bindings['.'.join(path)] = imported[value.id]
  return bindings


def list_symbols(wheel):
  """Lists every public name under `tf.compat.v1` in a wheel.

  Args:
    wheel: an open zipfile.ZipFile of a TensorFlow 1.15 wheel.

  Returns:
    A sorted list of dotted names relative to `tf.compat.v1`.

  Raises:
    ValueError: if the wheel has no `compat/v1` API tree.
  """
  files = set(wheel.namelist())

  def init_file(module):
    path = posixpath.join(package_path(module), '__init__.py')
    return path if path in files else None

  if not init_file(API_MODULE):
    raise ValueError('%s/__init__.py is not in the wheel; is it '
                     'tensorflow 1.15?' % API_ROOT)

  symbols = set()
  pending = [('', API_MODULE, (API_MODULE,))]
  while pending:
    prefix, module, ancestors = pending.pop()
    source = wheel.read(init_file(module)).decode('utf-8')
    for name, target in module_bindings(source).items():
      dotted = prefix + name
      symbols.add(dotted)
      # A package that is not one of its own ancestors is a sub-module.
      if init_file(target) and target not in ancestors:
        pending.append((dotted + '.', target, ancestors + (target,)))
  return sorted(symbols)


def _wheel_version(wheel):
  for name in wheel.namelist():
    if name.endswith('.dist-info/METADATA'):
      for line in wheel.read(name).decode('utf-8').splitlines():
        if line.startswith('Version:'):
          return line.split(':', 1)[1].strip()
  return 'unknown'


def _sha256(path):
  digest = hashlib.sha256()
  with open(path, 'rb') as stream:
    for block in iter(lambda: stream.read(1 << 20), b''):
      digest.update(block)
  return digest.hexdigest()


def main(argv):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('wheel', help='path of the tensorflow 1.15 .whl file')
  parser.add_argument('--output', default='-',
                      help="file to write, or '-' for standard output")
  args = parser.parse_args(argv)

  with zipfile.ZipFile(args.wheel) as wheel:
    symbols = list_symbols(wheel)
    version = _wheel_version(wheel)

  lines = [
      '# Public names of tf.compat.v1 in tensorflow %s, one per line.'
      % version,
      '# Written by tools/list_tf115_symbols.py from the wheel',
      '# %s' % os.path.basename(args.wheel),
      '# sha256 %s' % _sha256(args.wheel),
  ] + symbols
  text = '\n'.join(lines) + '\n'
  if args.output == '-':
    sys.stdout.write(text)
  else:
    with open(args.output, 'w') as stream:
      stream.write(text)
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
