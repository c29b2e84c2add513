"""TensorFlow import with the log noise turned down (imported only where TF is needed)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf

tf.get_logger().setLevel("ERROR")

__all__ = ["tf"]
