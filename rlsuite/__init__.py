"""The front door: the ``rlsuite`` command line, the registry of algorithms, the demo and the plots.

Importing it registers the ``rlsuite/`` environments with Gymnasium, so
``gym.make("rlsuite:rlsuite/GridWorld-v0")`` works without importing anything first.
"""

import envs  # noqa: F401  (registers the rlsuite/ ids with gymnasium)
