"""TensorFlow's v1 graph API, imported the same way on TF 1.15 and TF 2.x.

Every module of this project takes `tf` from here. On TensorFlow 2.16 and
newer, `tf.compat.v1.layers` lives in the tf-keras package and only loads
when TF_USE_LEGACY_KERAS=1 is set before TensorFlow is first imported, so
this module sets it first. TF 1.15 ignores the variable.
"""

import os
import sys

_EARLY_TF = sys.modules.get('tensorflow')
if (_EARLY_TF is not None and os.environ.get('TF_USE_LEGACY_KERAS') != '1'
    and not getattr(_EARLY_TF, '__version__', '').startswith('1.')):
  raise ImportError(
      'TensorFlow %s was imported before tf_compat without '
      'TF_USE_LEGACY_KERAS=1, so tf.compat.v1.layers cannot load; import '
      'tf_compat first or export TF_USE_LEGACY_KERAS=1.'
      % _EARLY_TF.__version__)
os.environ['TF_USE_LEGACY_KERAS'] = '1'

import tensorflow.compat.v1 as tf  # noqa: E402  (needs the variable above)

# The whole project builds graphs and runs them in sessions, as on TF 1.15.
tf.disable_eager_execution()

# Deprecation notices about the v1 API are expected here and hide real
# messages; TensorFlow's own warnings above that level still show.
tf.logging.set_verbosity(tf.logging.ERROR)
