"""chainrule.datasets: the IDX reader on files written here byte by byte (raw and gzip, every dtype
code, corrupt and lying files), MNIST/Fashion-MNIST lookup order and downloads through file://
URLs (no network), scikit-learn's sets, the generated sets, and the real Fashion-MNIST where the
Debian package has installed it."""

import gzip
import hashlib
import os
import struct
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, default_collate
from chainrule.datasets import (
    MNIST,
    FashionMNIST,
    download_file,
    linear_regression,
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    moons,
    read_idx,
    spirals,
    write_idx,
    xor,
)
from chainrule.errors import DataFileError

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


def idx_bytes(code, dims, payload):
    """An IDX file's bytes, written out by hand from the format's definition."""
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


# dtype code, big-endian dtype, values
IDX_CASES = [
    (0x08, ">u1", [[0, 1, 255], [7, 128, 3]]),
    (0x09, ">i1", [[-128, 0, 127], [-1, 5, 9]]),
    (0x0B, ">i2", [[-32768, 0, 32767], [258, -2, 1]]),
    (0x0C, ">i4", [[-(2**31), 0, 2**31 - 1], [65536, -3, 1]]),
    (0x0D, ">f4", [[-1.5, 0.0, 3.25], [1e-3, np.inf, -7.0]]),
    (0x0E, ">f8", [[-1.5, 0.0, 3.25], [1e-300, -np.inf, 2.0**60]]),
]


def write(path, data):
    path = Path(path)
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------- IDX
@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("code, big_endian, values", IDX_CASES, ids=[c[1] for c in IDX_CASES])
def test_read_idx_reads_every_dtype_code_raw_and_gzip(tmp_path, compressed, code, big_endian, values):
    expected = np.array(values, dtype=big_endian)
    data = idx_bytes(code, expected.shape, expected.tobytes())
    path = write(tmp_path / "file.idx", gzip.compress(data) if compressed else data)
    array = read_idx(path)
    assert array.shape == (2, 3) and array.dtype == expected.dtype.newbyteorder("=")
    np.testing.assert_array_equal(array, expected)


@pytest.mark.parametrize("code, big_endian, values", IDX_CASES, ids=[c[1] for c in IDX_CASES])
def test_write_idx_writes_the_bytes_of_the_format_and_round_trips(tmp_path, code, big_endian, values):
    array = np.array(values, dtype=np.dtype(big_endian).newbyteorder("="))
    write_idx(tmp_path / "a-idx2", array)
    assert (tmp_path / "a-idx2").read_bytes() == idx_bytes(code, array.shape, np.asarray(values, big_endian).tobytes())
    write_idx(tmp_path / "a-idx2.gz", array)
    assert gzip.decompress((tmp_path / "a-idx2.gz").read_bytes()) == (tmp_path / "a-idx2").read_bytes()
    np.testing.assert_array_equal(read_idx(tmp_path / "a-idx2.gz"), array)


def test_read_idx_detects_gzip_by_content_not_by_name(tmp_path):
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    data = idx_bytes(0x08, labels.shape, labels.tobytes())
    np.testing.assert_array_equal(read_idx(write(tmp_path / "labels.gz", data)), labels)  # raw, named .gz
    np.testing.assert_array_equal(read_idx(write(tmp_path / "labels", gzip.compress(data))), labels)


def test_read_idx_of_three_dims_and_of_empty_payloads(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "i", idx_bytes(8, (2, 3, 4), images.tobytes()))), images)
    assert read_idx(write(tmp_path / "e", idx_bytes(8, (0, 28, 28), b""))).shape == (0, 28, 28)


def test_read_idx_array_is_writable(tmp_path):
    array = read_idx(write(tmp_path / "l", idx_bytes(8, (3,), b"\x01\x02\x03")))
    array[0] = 9
    assert array.tolist() == [9, 2, 3]


CORRUPT = [
    # name, file bytes, words the error must contain
    ("bad magic", b"\x12\x34\x08\x01" + struct.pack(">I", 1) + b"\x00", "magic bytes are 0x1234"),
    ("unknown dtype code", idx_bytes(0x0A, (2,), b"\x00\x00"), "unknown IDX dtype code 0x0A"),
    ("too short", b"\x00\x00", "too short for an IDX header"),
    ("dims cut off", b"\x00\x00\x08\x03" + struct.pack(">I", 5), "ends inside the list of sizes"),
    ("payload short", idx_bytes(0x08, (2, 3), b"\x00" * 5), "truncated: header says shape (2, 3) of uint8 = 6"),
    ("payload long", idx_bytes(0x08, (2, 3), b"\x00" * 7), "longer than its header says"),
    ("int32 payload short", idx_bytes(0x0C, (2,), b"\x00" * 7), "shape (2,) of int32 = 8 payload bytes, found 7"),
]


@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("data, words", [c[1:] for c in CORRUPT], ids=[c[0] for c in CORRUPT])
def test_corrupt_idx_files_name_the_file_and_the_problem(tmp_path, compressed, data, words):
    path = write(tmp_path / "broken-idx1-ubyte", gzip.compress(data) if compressed else data)
    with pytest.raises(DataFileError) as info:
        read_idx(path)
    assert str(path) in str(info.value) and words in str(info.value)


def test_broken_gzip_streams_name_the_file(tmp_path):
    good = gzip.compress(idx_bytes(0x08, (1000,), bytes(range(256)) * 3 + bytes(232)))
    cut = write(tmp_path / "cut.gz", good[: len(good) // 2])
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    damaged = write(tmp_path / "damaged.gz", bytes(flipped))
    bad_trailer = write(tmp_path / "trailer.gz", good[:-8] + b"\x00" * 8)  # CRC-32 and size wrong
    for path in (cut, damaged, bad_trailer):
        with pytest.raises(DataFileError, match="broken gzip stream") as info:
            read_idx(path)
        assert str(path) in str(info.value)


@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "gzip"])
def test_a_lying_header_allocates_nothing_near_its_claim(tmp_path, compressed):
    # The header claims 4 294 967 295**2 bytes; the file holds 10.
    data = idx_bytes(0x08, (2**32 - 1, 2**32 - 1), b"\x00" * 10)
    path = write(tmp_path / "liar", gzip.compress(data) if compressed else data)
    tracemalloc.start()
    try:
        with pytest.raises(DataFileError, match="truncated"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


def test_data_file_error_is_a_value_error():
    assert issubclass(DataFileError, ValueError)


# ---------------------------------------------------------------- MNIST / Fashion-MNIST: finding the files
def write_split(directory, label, n=3, split="train", compress=True, names=None):
    """A small, well-formed split: n images 28x28 whose pixels are i*10+label, all labels = label."""
    directory.mkdir(parents=True, exist_ok=True)
    images = (np.arange(n, dtype=np.uint8)[:, None, None] * 10 + label) * np.ones((1, 28, 28), np.uint8)
    labels = np.full(n, label, np.uint8)
    suffix = ".gz" if compress else ""
    image_name, label_name = names or (f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte")
    for name, array, code in ((image_name, images, 8), (label_name, labels, 8)):
        data = idx_bytes(code, array.shape, array.tobytes())
        write(directory / (name + suffix), gzip.compress(data) if compress else data)
    return images, labels


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Empty root, $CHAINRULE_DATA, cache and system directories; nothing is downloaded."""
    dirs = {name: tmp_path / name for name in ("root", "env", "xdg", "system")}
    for directory in dirs.values():
        directory.mkdir()
    monkeypatch.setenv("CHAINRULE_DATA", str(dirs["env"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(dirs["xdg"]))
    monkeypatch.delenv("CHAINRULE_DATA_MIRROR", raising=False)
    monkeypatch.setattr(FashionMNIST, "system_dirs", (str(dirs["system"]),))
    dirs["cache"] = dirs["xdg"] / "chainrule"
    return dirs


def test_lookup_order_root_then_env_then_cache_then_system(places, monkeypatch):
    write_split(places["root"] / "fashion-mnist", label=1)
    write_split(places["env"] / "fashion-mnist", label=2)
    write_split(places["cache"] / "fashion-mnist", label=3)
    write_split(places["system"], label=4)
    assert FashionMNIST(root=places["root"], download=False).targets.tolist() == [1, 1, 1]
    assert FashionMNIST(download=False).targets.tolist() == [2, 2, 2]
    monkeypatch.delenv("CHAINRULE_DATA")
    assert FashionMNIST(download=False).targets.tolist() == [3, 3, 3]
    monkeypatch.setenv("XDG_CACHE_HOME", str(places["root"] / "empty"))
    ds = FashionMNIST(download=False)
    assert ds.targets.tolist() == [4, 4, 4] and ds.files[0].parent == places["system"]


def test_root_accepts_its_own_folder_torchvision_layout_and_uncompressed_files(places):
    write_split(places["root"] / "FashionMNIST" / "raw", label=5, compress=False)
    assert FashionMNIST(root=places["root"], download=False).targets.tolist() == [5, 5, 5]
    flat = places["root"] / "flat"
    write_split(flat, label=6, split="t10k")
    assert FashionMNIST(root=flat, train=False, download=False).targets.tolist() == [6, 6, 6]


def test_a_directory_with_only_one_of_the_two_files_is_passed_over(places):
    write_split(places["root"] / "fashion-mnist", label=1)
    (places["root"] / "fashion-mnist" / "train-labels-idx1-ubyte.gz").unlink()
    write_split(places["env"] / "fashion-mnist", label=2)
    assert FashionMNIST(root=places["root"], download=False).targets.tolist() == [2, 2, 2]


def test_nothing_found_gives_one_error_listing_every_way(places):
    with pytest.raises(FileNotFoundError) as info:
        FashionMNIST(root=places["root"], download=False)
    message = str(info.value)
    for words in (
        "train-images-idx3-ubyte.gz",
        str(places["root"] / "fashion-mnist"),
        f"$CHAINRULE_DATA={places['env']}",
        str(places["cache"] / "fashion-mnist"),
        str(places["system"]),
        "apt install dataset-fashion-mnist",
        "download=False",
        "CHAINRULE_DATA_MIRROR",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ):
        assert words in message, words


def test_mnist_has_no_system_copy_and_says_so(places):
    with pytest.raises(FileNotFoundError) as info:
        MNIST(train=False, download=False)
    assert "no Debian package" in str(info.value) and "apt install" not in str(info.value)


def test_mnist_and_fashion_mnist_keep_separate_folders(places):
    write_split(places["env"] / "mnist", label=7)
    assert MNIST(download=False).targets.tolist() == [7, 7, 7]
    with pytest.raises(FileNotFoundError):
        FashionMNIST(download=False, root=places["root"] / "nothing")  # the system dir is empty too


# ---------------------------------------------------------------- samples
def test_samples_arrays_and_batches(places):
    images, labels = write_split(places["env"] / "fashion-mnist", label=8, n=5)
    ds = FashionMNIST(download=False)
    assert len(ds) == 5 and ds.classes[8] == "Bag" and len(ds.classes) == 10
    assert ds.data.dtype == np.uint8 and ds.data.shape == (5, 28, 28)
    assert ds.targets.dtype == np.int64 and ds.targets.shape == (5,)
    image, label = ds[2]
    assert image.shape == (1, 28, 28) and image.dtype == cr.float32
    np.testing.assert_allclose(image.numpy()[0], images[2] / 255.0, rtol=1e-6)
    assert label.dtype == cr.int64 and label.item() == 8
    fast = list(DataLoader(ds, batch_size=2, shuffle=True, seed=0))
    slow = list(DataLoader(ds, batch_size=2, shuffle=True, seed=0, collate_fn=default_collate))
    assert [x.shape for x, _ in fast] == [(2, 1, 28, 28), (2, 1, 28, 28), (1, 1, 28, 28)]
    for (xf, yf), (xs, ys) in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(xf.numpy(), xs.numpy())
        np.testing.assert_array_equal(yf.numpy(), ys.numpy())


def test_transforms_are_applied_and_bypass_the_fast_path(places):
    write_split(places["env"] / "fashion-mnist", label=3, n=4)
    ds = FashionMNIST(download=False, transform=lambda x: x.flatten(), target_transform=lambda y: y * 10)
    image, label = ds[0]
    assert image.shape == (784,) and label.item() == 30
    x, y = next(iter(DataLoader(ds, batch_size=4)))
    assert x.shape == (4, 784) and y.tolist() == [30] * 4


def test_unequal_counts_and_wrong_shapes_name_the_files(places):
    folder = places["env"] / "fashion-mnist"
    write_split(folder, label=1, n=3)
    labels = np.ones(4, np.uint8)
    write(folder / "train-labels-idx1-ubyte.gz", gzip.compress(idx_bytes(8, (4,), labels.tobytes())))
    with pytest.raises(DataFileError, match="holds 3 images but .*train-labels-idx1-ubyte.gz holds 4 labels"):
        FashionMNIST(download=False)
    write(folder / "train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(8, (4, 27, 28), bytes(4 * 27 * 28))))
    with pytest.raises(
        DataFileError, match=r"train-images-idx3-ubyte.gz: expected uint8 images of shape \(N, 28, 28\)"
    ):
        FashionMNIST(download=False)


def test_a_corrupt_local_file_is_reported_not_skipped(places):
    write_split(places["env"] / "fashion-mnist", label=1)
    path = places["env"] / "fashion-mnist" / "train-images-idx3-ubyte.gz"
    write(path, path.read_bytes()[:40])
    with pytest.raises(DataFileError, match="train-images-idx3-ubyte.gz.*broken gzip"):
        FashionMNIST(download=False)


# ---------------------------------------------------------------- downloads through file:// URLs
@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A local mirror of a small test split, and FashionMNIST's checksums set to its files' SHA-256."""
    folder = tmp_path / "mirror"
    images, labels = write_split(folder, label=2, n=4, split="t10k")
    sums = dict(FashionMNIST.resources)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        sums[name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    monkeypatch.setattr(FashionMNIST, "resources", sums)
    return folder, images, labels


def test_download_from_a_file_url_into_the_cache_then_found_there(places, mirror):
    folder, images, _ = mirror
    ds = FashionMNIST(train=False, mirror=folder.as_uri())
    np.testing.assert_array_equal(ds.data, images)
    cached = places["cache"] / "fashion-mnist"
    assert sorted(os.listdir(cached)) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    for path in folder.iterdir():
        path.unlink()
    assert FashionMNIST(train=False, download=False).files[0].parent == cached


def test_download_with_root_goes_into_root(places, mirror):
    folder, _, labels = mirror
    ds = FashionMNIST(root=places["root"], train=False, mirror=folder.as_uri())
    assert ds.files[1] == places["root"] / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    assert ds.targets.tolist() == labels.tolist()


def test_download_mirror_from_the_environment_uses_the_dataset_folder(places, mirror, monkeypatch):
    folder, _, labels = mirror
    served = folder.parent / "served"
    (served / "fashion-mnist").mkdir(parents=True)
    for path in folder.iterdir():
        (served / "fashion-mnist" / path.name).write_bytes(path.read_bytes())
    monkeypatch.setenv("CHAINRULE_DATA_MIRROR", served.as_uri())
    assert FashionMNIST(train=False).targets.tolist() == labels.tolist()


def test_download_with_a_wrong_checksum_deletes_the_file_and_says_so(places, mirror, monkeypatch):
    folder, _, _ = mirror
    sums = dict(FashionMNIST.resources, **{"t10k-images-idx3-ubyte.gz": "0" * 64})
    monkeypatch.setattr(FashionMNIST, "resources", sums)
    with pytest.raises(FileNotFoundError) as info:
        FashionMNIST(train=False, mirror=folder.as_uri())
    message = str(info.value)
    assert "SHA-256 mismatch: expected " + "0" * 64 in message and "was deleted" in message
    assert "apt install dataset-fashion-mnist" in message  # still one error listing every way
    cached = places["cache"] / "fashion-mnist"
    assert not (cached / "t10k-images-idx3-ubyte.gz").exists()
    assert not (cached / "t10k-images-idx3-ubyte.gz.part").exists()


def test_download_from_an_unreachable_mirror_lists_the_url_and_reason(places, tmp_path):
    missing = (tmp_path / "no-such-mirror").as_uri()
    with pytest.raises(FileNotFoundError) as info:
        FashionMNIST(train=False, mirror=missing)
    assert missing + "/t10k-images-idx3-ubyte.gz" in str(info.value)
    assert "No such file or directory" in str(info.value)


def test_download_file_checks_the_sha256(tmp_path):
    source = write(tmp_path / "source.bin", b"chain rule" * 1000)
    good = hashlib.sha256(source.read_bytes()).hexdigest()
    target = download_file(source.as_uri(), tmp_path / "out" / "copy.bin", good)
    assert target.read_bytes() == source.read_bytes()
    with pytest.raises(DataFileError, match=f"{source.as_uri()}: SHA-256 mismatch: expected {'f' * 64}, got {good}"):
        download_file(source.as_uri(), tmp_path / "out" / "bad.bin", "f" * 64)
    assert sorted(os.listdir(tmp_path / "out")) == ["copy.bin"]


# ---------------------------------------------------------------- the real Fashion-MNIST (Debian's copy)
# Debian's dataset-fashion-mnist stores the official gzip files with the header's file name
# dropped and its time stamp reset. Putting back the name and the original time stamps (found by
# search: Aug 31 2017) must give the official SHA-256 in FashionMNIST.resources byte for byte.
ORIGINAL_MTIME = {"train": 1504176606, "t10k": 1504176627}


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="apt package dataset-fashion-mnist not installed")
@pytest.mark.parametrize("name", sorted(FashionMNIST.resources))
def test_debian_copy_is_the_official_gzip_file_with_the_official_sha256(name):
    data = (DEBIAN_FASHION / name).read_bytes()
    assert data[:4] == b"\x1f\x8b\x08\x00"  # deflate, no flags: the name field was removed
    mtime = ORIGINAL_MTIME[name.split("-")[0]]
    original = b"\x1f\x8b\x08\x08" + struct.pack("<I", mtime) + data[8:10] + name[:-3].encode() + b"\0" + data[10:]
    assert hashlib.sha256(original).hexdigest() == FashionMNIST.resources[name]


@pytest.mark.slow
@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="apt package dataset-fashion-mnist not installed")
def test_real_fashion_mnist_from_the_debian_copy(monkeypatch, tmp_path):
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # so a cached copy cannot stand in for it
    train, test = FashionMNIST(train=True, download=False), FashionMNIST(train=False, download=False)
    assert train.files[0].parent == DEBIAN_FASHION
    assert (len(train), len(test)) == (60000, 10000)
    assert train.data.shape == (60000, 28, 28) and test.data.shape == (10000, 28, 28)
    # Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class.
    assert np.bincount(train.targets).tolist() == [6000] * 10
    assert np.bincount(test.targets).tolist() == [1000] * 10
    assert train.classes[train.targets[0]] == "Ankle boot"  # the data set's well-known first image
    assert 0 < train.data.mean() < 255 and train.data.max() == 255


# ---------------------------------------------------------------- scikit-learn's sets
SKLEARN_SETS = [
    # loader, samples, features, classes
    (load_digits, 1797, 64, 10),
    (load_iris, 150, 4, 3),
    (load_wine, 178, 13, 3),
    (load_breast_cancer, 569, 30, 2),
]
SKLEARN_IDS = [s[0].__name__ for s in SKLEARN_SETS]


@pytest.mark.parametrize("loader, samples, features, classes", SKLEARN_SETS, ids=SKLEARN_IDS)
def test_sklearn_sets_shapes_dtypes_and_split_sizes(loader, samples, features, classes):
    train, test, full = loader("train"), loader("test"), loader("all")
    assert len(full) == samples and len(test) == int(np.ceil(0.2 * samples)) and len(train) + len(test) == samples
    x, y = train.tensors
    assert x.shape == (len(train), features) and x.dtype == cr.float32 and y.dtype == cr.int64
    assert train.num_classes == classes == len(train.classes) and len(train.feature_names) == features
    assert sorted(set(full.tensors[1].tolist())) == list(range(classes))


@pytest.mark.parametrize("loader, samples, features, classes", SKLEARN_SETS, ids=SKLEARN_IDS)
def test_sklearn_split_is_stratified_and_complete(loader, samples, features, classes):
    counts = {split: np.bincount(loader(split).tensors[1].numpy(), minlength=classes) for split in SPLITS}
    np.testing.assert_array_equal(counts["train"] + counts["test"], counts["all"])
    assert np.all(np.abs(counts["test"] - 0.2 * counts["all"]) <= 1)  # each class in proportion, to one sample


SPLITS = ("train", "test", "all")


def test_sklearn_split_is_deterministic_per_seed():
    first = load_iris("test", seed=0).tensors[0].numpy()
    np.testing.assert_array_equal(load_iris("test", seed=0).tensors[0].numpy(), first)
    assert not np.array_equal(load_iris("test", seed=1, standardize=False).tensors[0].numpy(),
                              load_iris("test", seed=0, standardize=False).tensors[0].numpy())  # fmt: skip
    assert len(load_iris("test", test_size=0.5)) == 75


def test_digits_are_pixels_over_16_as_in_scikit_learn():
    from sklearn.datasets import load_digits as sklearn_digits

    reference = sklearn_digits()
    x, y = load_digits("all").tensors
    np.testing.assert_array_equal(x.numpy(), (reference.data / 16).astype(np.float32))
    np.testing.assert_array_equal(y.numpy(), reference.target)
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0


@pytest.mark.parametrize("loader", [load_iris, load_wine, load_breast_cancer], ids=lambda f: f.__name__)
def test_tabular_sets_are_standardized_with_the_training_split(loader):
    import sklearn.datasets

    train, full = loader("train"), loader("all")
    x = train.tensors[0].numpy().astype(np.float64)
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=0), 1, rtol=1e-5)
    raw = getattr(sklearn.datasets, loader.__name__)().data
    np.testing.assert_allclose(full.tensors[0].numpy() * full.std + full.mean, raw, rtol=1e-5, atol=1e-4)
    assert not np.allclose(full.tensors[0].numpy().mean(axis=0), 0, atol=1e-5)  # stats of train only
    unscaled = loader("all", standardize=False).tensors[0].numpy()
    np.testing.assert_allclose(unscaled, raw.astype(np.float32))


def test_sklearn_missing_says_how_to_install(monkeypatch):
    for module in ("sklearn", "sklearn.datasets", "sklearn.model_selection"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[datasets\]'"):
        load_digits()


def test_sklearn_bad_split_names_the_choices():
    with pytest.raises(ValueError, match=r"split must be one of \('train', 'test', 'all'\), got 'val'"):
        load_wine("val")


# ---------------------------------------------------------------- generated sets
def test_xor_is_the_four_points():
    x, y = xor().tensors
    assert x.dtype == cr.float32 and y.dtype == cr.float32 and y.shape == (4, 1)
    assert x.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and y.tolist() == [[0], [1], [1], [0]]


def test_moons_without_noise_are_scikit_learns_moons():
    from sklearn.datasets import make_moons

    x, y = moons(101, noise=0.0, seed=0).tensors
    assert x.shape == (101, 2) and x.dtype == cr.float32 and y.dtype == cr.int64
    ref_x, ref_y = make_moons(101, noise=0.0, random_state=0)
    ours = sorted(zip(np.round(x.numpy(), 5).tolist(), y.tolist()))
    theirs = sorted(zip(np.round(ref_x.astype(np.float32), 5).tolist(), ref_y.tolist()))
    assert ours == theirs


def test_moons_noise_and_seed():
    a, b, c = moons(50, noise=0.2, seed=1), moons(50, noise=0.2, seed=1), moons(50, noise=0.2, seed=2)
    np.testing.assert_array_equal(a.tensors[0].numpy(), b.tensors[0].numpy())
    assert not np.array_equal(a.tensors[0].numpy(), c.tensors[0].numpy())
    assert np.bincount(a.tensors[1].numpy()).tolist() == [25, 25]


def test_spirals_shapes_classes_and_radius():
    x, y = spirals(302, n_classes=3, noise=0.3, seed=0).tensors
    assert x.shape == (302, 2) and x.dtype == cr.float32 and y.dtype == cr.int64
    assert np.bincount(y.numpy()).tolist() == [101, 101, 100]
    radius = np.linalg.norm(x.numpy(), axis=1)  # noise turns the angle only
    assert radius.max() <= 1 + 1e-6 and radius.min() >= 0


def test_linear_regression_is_y_equals_2x():
    x, y = linear_regression(64).tensors
    assert x.shape == (64, 1) and y.shape == (64, 1) and x.dtype == y.dtype == cr.float32
    np.testing.assert_allclose(y.numpy(), 2 * x.numpy(), rtol=1e-6)
    assert float(x.min()) >= -1 and float(x.max()) <= 1


def test_linear_regression_with_noise_bias_and_several_weights():
    x, y = linear_regression(2000, weight=[1.0, -3.0], bias=0.5, noise=0.1, seed=4).tensors
    assert x.shape == (2000, 2) and y.shape == (2000, 1)
    design = np.hstack([x.numpy(), np.ones((2000, 1), np.float32)]).astype(np.float64)
    fitted, *_ = np.linalg.lstsq(design, y.numpy().astype(np.float64), rcond=None)
    np.testing.assert_allclose(fitted.ravel(), [1.0, -3.0, 0.5], atol=0.02)
    residual = y.numpy().ravel() - design @ fitted.ravel()
    assert 0.09 < residual.std() < 0.11


def test_generated_sets_reject_bad_sizes():
    with pytest.raises(ValueError, match="n_samples must be an integer >= 2"):
        moons(1)
    with pytest.raises(ValueError, match="n_classes must be a positive integer"):
        spirals(10, n_classes=0)
