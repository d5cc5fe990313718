"""What the command-line tools share: argument checks and one-line errors.

User mistakes end a run with one logged line and a non-zero exit status,
never a traceback.
"""

from absl import logging

# Words a boolean flag takes, as absl reads them.
_BOOLEAN_WORDS = ('true', 'false', 't', 'f', '1', '0')


def join_boolean_values(argv, boolean_flags):
  """Joins '--flag True' into '--flag=True' for boolean flags.

  absl reads a lone '--do_train' as true and the word after it as a
  positional argument, so the original's documented '--do_train False'
  trained. Joining the two makes it mean what it says.

  Args:
    argv: the command line, program name first.
    boolean_flags: names of the boolean flags.

  Returns:
    A new argument list.
  """
  joined = list(argv[:1])
  index = 1
  while index < len(argv):
    arg = argv[index]
    if arg == '--':
      joined.extend(argv[index:])
      break
    following = argv[index + 1] if index + 1 < len(argv) else None
    if (arg.startswith('-') and '=' not in arg
        and arg.lstrip('-') in boolean_flags
        and following is not None and following.lower() in _BOOLEAN_WORDS):
      joined.append('%s=%s' % (arg, following))
      index += 2
    else:
      joined.append(arg)
      index += 1
  return joined


def boolean_flag_names(flag_values):
  """The names of the boolean flags defined in an absl FlagValues."""
  return [name for name in flag_values if flag_values[name].boolean]


def stray_arguments(argv):
  """Logs and reports words left over after the flags.

  Args:
    argv: what absl left after parsing, program name first.

  Returns:
    True if there were any; the caller then exits with status 2.
  """
  if len(argv) <= 1:
    return False
  logging.error('Unexpected argument(s): %s. Flags take the form '
                '--name=value or --name value.', ' '.join(argv[1:]))
  return True


def describe_tf_error(error):
  """The first line of a TensorFlow runtime error, for a one-line report."""
  lines = (error.message or '').strip().splitlines() or ['(no message)']
  return '%s: %s' % (type(error).__name__, lines[0])
