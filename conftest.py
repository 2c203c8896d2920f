"""Settings for the whole suite.

Lessons run under nbval in kernels that inherit this process's environment. They must run on
the offline MNIST sample (fast, no network), so the suite sets NNLIB_MNIST_SAMPLE and
NNLIB_OFFLINE here; tests that need full MNIST unset them with monkeypatch. Progress bars
stay quiet.
"""

import os

os.environ.setdefault("NNLIB_MNIST_SAMPLE", "1")
os.environ.setdefault("NNLIB_OFFLINE", "1")
os.environ.setdefault("NNLIB_PROGRESS", "0")
