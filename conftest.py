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


# The modules that take longest (minutes, seconds) start first: `make test` runs three workers
# that each take one module at a time (`--dist loadfile`), so a long module picked up last
# would leave the others idle at the end. Measured with `--durations=0` (-n 3); the rest keep
# pytest's order.
LONGEST_FIRST = (
    "tests/test_class_grading.py", "tests/test_binder.py", "tests/test_autograded.py",
    "tests/test_grading.py", "tests/test_jupyterhub.py", "tests/test_dask_grading.py",
    "tests/test_robust_grading.py", "tests/test_site.py", "tests/test_cli.py",
    "tests/test_browser.py", "tests/test_adversarial.py", "lessons/10_mnist.ipynb",
    "lessons/11_where_next.ipynb", "tests/test_publish.py", "lessons/09_pytorch.ipynb",
    "lessons/04_forward_pass.ipynb", "lessons/06_backprop.ipynb", "tests/test_formgrader.py",
    "tests/test_grading_postgres.py",
)


def pytest_collection_modifyitems(session, config, items) -> None:  # noqa: ANN001 - pytest's
    rank = {path: index for index, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
