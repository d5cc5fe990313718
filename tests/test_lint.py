"""The code passes `ruff check` under the project's ruff.toml.

ruff.toml holds the settings: 80 columns, Google-style imports (one per
line, sorted by module name whatever their form) and Python 3.7 as the
target, so syntax newer than 3.7 is an error too.
"""

import os
import subprocess

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO_ROOT, 'ruff.toml')


def run_ruff(args, stdin=None):
  """Runs `ruff check` with the project's settings from the repo root.

  Args:
    args: further arguments, such as the paths to check.
    stdin: optional source text to check instead of files.

  Returns:
    (exit status, output text).
  """
  try:
    from ruff.__main__ import find_ruff_bin
  except ImportError:
    pytest.fail('ruff is not installed; pip install -r requirements.txt')
  result = subprocess.run(
      [find_ruff_bin(), 'check', '--config', CONFIG, '--no-cache',
       '--output-format=concise'] + list(args),
      cwd=REPO_ROOT, input=None if stdin is None else stdin.encode('utf-8'),
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
  return result.returncode, result.stdout.decode('utf-8')


def test_project_passes_ruff():
  status, output = run_ruff(['.'])

  assert status == 0, output
  assert output == 'All checks passed!\n'


def test_google_import_style_passes():
  source = '\n'.join([
      'import os',
      '',
      'from absl import app',
      'import numpy as np',
      '',
      'import conftest',
      'import data_input',
      'from tf_compat import tf',
      '',
      'print(os, app, np, conftest, data_input, tf)',
      '',
  ])

  status, output = run_ruff(['--stdin-filename', 'tests/snippet.py', '-'],
                            stdin=source)

  assert (status, output) == (0, 'All checks passed!\n')


def test_long_lines_unsorted_imports_and_new_syntax_fail():
  source = '\n'.join([
      'import sys',
      'import os',
      '',
      'if (count := len(sys.argv)) > 1:',
      '  print(os.sep, count, %r)' % ('x' * 60),
      '',
  ])

  status, output = run_ruff(['--stdin-filename', 'snippet.py', '-'],
                            stdin=source)

  assert status == 1
  assert output.splitlines()[:3] == [
      'snippet.py:1:1: I001 [*] Import block is un-sorted or un-formatted',
      'snippet.py:4:5: invalid-syntax: Cannot use named assignment '
      'expression (`:=`) on Python 3.7 (syntax was added in Python 3.8)',
      'snippet.py:5:81: E501 Line too long (86 > 80)',
  ]
