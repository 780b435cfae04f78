"""Tests of numopt.datasets: the svmlight parser against scikit-learn, data lookup, IDX, SSNS."""

import doctest
import gzip
import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest

import numopt.datasets
from numopt.datasets import (
    _paths,
    data_roots,
    libsvm,
    load_libsvm,
    load_mnist,
    load_ssns_features,
    mnist,
    read_idx,
    read_svmlight,
    shared_fallback_enabled,
    shipped_libsvm,
    ssns,
)
from tests.conftest import require_data

REPO_ROOT = Path(__file__).resolve().parents[1]


# Every file in the libsvm/ folder of each data root ($NUMOPT_DATA; shared/data unless switched
# off by NUMOPT_SHARED_FALLBACK=0).
ROOT_LIBSVM_FILES = [path for root in data_roots() if (root / "libsvm").is_dir()
                     for path in sorted((root / "libsvm").iterdir())
                     if path.is_file() and not path.name.endswith(".md")]
NO_LIBSVM_ROOT = (
    f"no data root holds a libsvm/ folder ($NUMOPT_DATA = {os.environ.get('NUMOPT_DATA')!r}; "
    + ("shared/data candidates " if shared_fallback_enabled()
       else "not searched (NUMOPT_SHARED_FALLBACK=0): shared/data candidates ")
    + ", ".join(str(path) for path in _paths._shared_candidates()) + ")")


def assert_same_as_sklearn(path, **kwargs):
    sk_datasets = pytest.importorskip("sklearn.datasets")
    X, labels = read_svmlight(path, **kwargs)
    X_ref, labels_ref = sk_datasets.load_svmlight_file(str(path), **kwargs)
    assert X.format == "csr" and X.dtype == np.float64
    assert X.shape == X_ref.shape
    assert (X != X_ref).nnz == 0  # bit-identical values
    np.testing.assert_array_equal(labels, labels_ref)
    return X, labels


@pytest.mark.parametrize("path", [pytest.param(path, id=path.name)
                                  for path in shipped_libsvm().values()])
def test_parser_matches_sklearn_on_every_shipped_file(path):
    assert_same_as_sklearn(path)


@pytest.mark.parametrize("path", [pytest.param(path, id=path.name) for path in ROOT_LIBSVM_FILES]
                         or [pytest.param(None, marks=pytest.mark.skip(reason=NO_LIBSVM_ROOT))])
def test_parser_matches_sklearn_on_every_data_root_file(path):
    assert_same_as_sklearn(path)


def test_data_root_files_are_all_compared():
    # Where load_libsvm finds an unshipped set, the comparison above must cover its file rather
    # than silently listing nothing.
    assert require_data("libsvm", "a9a") in ROOT_LIBSVM_FILES


def test_parser_matches_sklearn_with_n_features():
    X, _ = assert_same_as_sklearn(shipped_libsvm()["a1a"], n_features=123)
    assert X.shape == (1605, 123)


def test_parser_edge_cases_match_sklearn(tmp_path):
    path = tmp_path / "edge.svm"
    # comments, a blank line, tabs, a line without features, exponents, signs, zero-based indices
    path.write_bytes(b"# header comment\n"
                     b"1 0:1.5 3:-2e-3  # trailing comment\n"
                     b"\n"
                     b"-1\t1:+4\t2:1E2\n"
                     b"2\n"
                     b"-1 0:-0.25 4:7")
    X, labels = assert_same_as_sklearn(path)
    assert X.shape == (4, 5)
    np.testing.assert_array_equal(X.toarray()[0], [1.5, 0, 0, -2e-3, 0])


@pytest.mark.parametrize("text", [
    # qid tokens right after the label are skipped; CRLF and a stray CR are whitespace; tabs
    # and runs of blanks separate tokens; a comment may follow '#' anywhere.
    b"3 qid:1 1:0.5 7:2 # first query\r\n2 qid:1 2:1\r\n1 qid:2\t3:-1  4:1e-3\r\n",
    b"1 1:2\r3:4\n-1 \t 2:5 \x0b\n",
    # labels only: scikit-learn gives one empty column
    b"1\n-1 # nothing else\n\n",
    # signs, exponents, large and tiny values, a value that rounds
    b"-1 1:+0.5 2:-1E+3 3:1e-300 4:0.1000000000000000055511151231257827 5:123456789012345678\n",
])
def test_parser_comments_qid_and_whitespace_match_sklearn(tmp_path, text):
    path = tmp_path / "ok.svm"
    path.write_bytes(text)
    assert_same_as_sklearn(path)


@pytest.mark.parametrize("text, line, match", [
    # index:value pairs are read per line: "1:" must not borrow the next line's "2"
    (b"+1 1:\n-1 2:3 5\n", 1, "does not read index:value"),
    (b"+1 1:2:3 4\n", 1, "does not read index:value"),
    (b"1 1:2\n-1 2\n", 2, "does not read index:value"),
    (b"1 1:2\n-1 :2\n", 2, "does not read index:value"),
    (b"1 1: 2\n", 1, "does not read index:value"),
    (b"1 1:2 3 4:5\n", 1, "does not read index:value"),
    (b"1 3:1 2:1\n", 1, "strictly increasing"),
    (b"1 2:1\n-1 1:1 1:2\n", 2, "strictly increasing"),
    (b"1 a:1\n", 1, "index is not an integer"),
    (b"1 1.5:2\n", 1, "index is not an integer"),
    (b"1 1.0:2\n", 1, "index is not an integer"),
    (b"1 99999999999999999999:2\n", 1, r"index is not an integer below 2\*\*63"),
    (b"1 -1:2\n", 1, "index is negative"),
    (b"1 1:x\n", 1, "value is not a number"),
    (b"1 1:2\n-1 2:nan\n", 2, r"value is not finite \(NaN or infinity\)"),
    (b"1 1:inf\n", 1, "value is not finite"),
    (b"1 1:-1e400\n", 1, "value is not finite"),
    (b"x 1:2\n", 1, "label is not a number"),
    (b"1:2 3:4\n", 1, "label is not a number"),
    (b"1 1:2\nnan 1:2\n", 2, "label is not finite"),
    (b"# head\n\n-inf 1:2\n", 3, "label is not finite"),
    (b"1 qid:x 1:2\n", 1, "qid is not an integer"),
    (b"1 qidx 1:2\n", 1, "must read qid:<integer>"),
    (b"1 1:2 qid:3\n", 1, "index is not an integer"),
    # the first bad line is named, whatever check the bulk parse tripped on first
    (b"1 1:2\n1 1:2\n1 3:1 2:1\n1 1:2\nx 1:2\n", 3, "strictly increasing"),
])
def test_parser_rejects_malformed_lines(tmp_path, text, line, match):
    path = tmp_path / "bad.svm"
    path.write_bytes(text)
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}, line {line}: .*{match}"):
        read_svmlight(path)


def test_parser_names_the_bad_line_of_a_long_file(tmp_path):
    lines = shipped_libsvm()["a1a"].read_bytes().splitlines(keepends=True)
    path = tmp_path / "a1a-broken"
    path.write_bytes(b"".join(lines[:1233] + [b"+1 5:1 7\n"] + lines[1233:]))
    with pytest.raises(ValueError, match=r"a1a-broken, line 1234: a feature does not "
                                         r"read index:value .*: '\+1 5:1 7'\.$"):
        read_svmlight(path)


@pytest.mark.parametrize("text", [b"", b"\n\n", b"# only a comment\n  \t\n"])
def test_parser_rejects_files_without_data(tmp_path, text):
    path = tmp_path / "empty.svm"
    path.write_bytes(text)
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: no data line"):
        read_svmlight(path)
    with pytest.raises(ValueError, match="no data line"):
        load_libsvm(path)


@pytest.mark.parametrize("function, name", [(read_svmlight, "path"),
                                            (load_libsvm, "name_or_path")])
@pytest.mark.parametrize("value, shown", [(None, "None"), (3, "3"), (b"a1a", "bytes")])
def test_path_arguments_must_be_paths(function, name, value, shown):
    with pytest.raises(TypeError, match=f"'{name}' parameter of {function.__name__} must be a "
                                        f"str or os.PathLike. Got {shown} instead"):
        function(value)


def test_n_features_must_be_an_integer():
    with pytest.raises(TypeError, match="'n_features' parameter of read_svmlight must be an int"):
        load_libsvm("heart_scale", n_features=13.0)
    with pytest.raises(ValueError, match="'n_features' parameter of read_svmlight must be an int"):
        load_libsvm("heart_scale", n_features=0)


def test_parser_rejects_too_few_features():
    with pytest.raises(ValueError, match="`n_features` must be at least 119"):
        read_svmlight(shipped_libsvm()["a1a"], n_features=100)


def test_shipped_files_match_their_readme_and_stay_small():
    readme = (_paths.PACKAGE_DATA / "README.md").read_text()
    rows = dict(re.findall(r"^\| (\S+) \| \d+ \| .*? \| ([0-9a-f]{32}) \|", readme, re.M))
    shipped = shipped_libsvm()
    assert set(rows) == set(shipped) == {"a1a", "heart_scale", "mushrooms"}
    for name, path in shipped.items():
        assert hashlib.md5(path.read_bytes()).hexdigest() == rows[name]
    assert sum(path.stat().st_size for path in shipped.values()) < 1.5e6


@pytest.mark.parametrize("name, shape", [("a1a", (1605, 119)), ("heart_scale", (270, 13)),
                                         ("mushrooms", (8124, 112))])
def test_shipped_sets_load_without_a_data_root(monkeypatch, tmp_path, name, shape):
    monkeypatch.setenv("NUMOPT_DATA", str(tmp_path))
    monkeypatch.setenv("NUMOPT_SHARED_FALLBACK", "0")
    X, y = load_libsvm(name)
    assert X.shape == shape
    assert set(np.unique(y)) == {-1.0, 1.0}


@pytest.mark.parametrize("name, negative, positive", [
    ("mushrooms", 1, 2), ("breast-cancer_scale", 2, 4), ("phishing", 0, 1), ("a9a", -1, 1)])
def test_binary_labels_map_larger_to_plus_one(name, negative, positive):
    path = require_data("libsvm", name)
    sk_datasets = pytest.importorskip("sklearn.datasets")
    _, raw = sk_datasets.load_svmlight_file(str(path))
    assert set(np.unique(raw)) == {negative, positive}
    _, y = load_libsvm(name)
    np.testing.assert_array_equal(y, np.where(raw == positive, 1.0, -1.0))


def test_breast_cancer_label_counts_from_data_readme():
    require_data("libsvm", "breast-cancer_scale")
    _, y = load_libsvm("breast-cancer_scale")
    assert (y == -1).sum() == 444 and (y == 1).sum() == 239


def test_multiclass_labels_are_kept(tmp_path):
    path = tmp_path / "three.svm"
    path.write_bytes(b"0 1:1\n1 2:1\n2 1:3\n")
    _, y = load_libsvm(path)
    np.testing.assert_array_equal(y, [0.0, 1.0, 2.0])


def test_numopt_data_root_is_searched(monkeypatch, tmp_path):
    (tmp_path / "libsvm").mkdir()
    (tmp_path / "libsvm" / "tiny").write_bytes(b"3 1:1\n5 2:2\n")
    monkeypatch.setenv("NUMOPT_DATA", str(tmp_path))
    X, y = load_libsvm("tiny")
    np.testing.assert_array_equal(X.toarray(), [[1, 0], [0, 2]])
    np.testing.assert_array_equal(y, [-1, 1])


def test_missing_name_names_both_places(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMOPT_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        load_libsvm("no-such-set")
    message = str(info.value)
    assert "no-such-set" in message and "NUMOPT_DATA" in message and str(tmp_path) in message
    assert str(Path("shared") / "data" / "libsvm") in message
    monkeypatch.delenv("NUMOPT_DATA")
    with pytest.raises(FileNotFoundError, match=r"\$NUMOPT_DATA \(not set\)"):
        load_libsvm("no-such-set")


def test_shared_fallback_can_be_switched_off(monkeypatch, tmp_path):
    # A shared/data folder beside the working directory is found unless NUMOPT_SHARED_FALLBACK=0;
    # $NUMOPT_DATA is searched either way.
    shared_libsvm = tmp_path / "work" / "shared" / "data" / "libsvm"
    shared_libsvm.mkdir(parents=True)
    (shared_libsvm / "tiny").write_bytes(b"1 1:1\n-1 2:2\n")
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.delenv("NUMOPT_DATA", raising=False)
    for value in ("", "1"):
        monkeypatch.setenv("NUMOPT_SHARED_FALLBACK", value)
        assert load_libsvm("tiny")[0].shape == (2, 2)
        assert shared_libsvm.parent in data_roots()
    monkeypatch.setenv("NUMOPT_SHARED_FALLBACK", "0")
    assert shared_libsvm.parent not in data_roots()
    with pytest.raises(FileNotFoundError) as info:
        load_libsvm("tiny")
    assert "not searched (NUMOPT_SHARED_FALLBACK=0)" in str(info.value)
    assert str(shared_libsvm) in str(info.value)
    own_root = tmp_path / "own"
    (own_root / "libsvm").mkdir(parents=True)
    (own_root / "libsvm" / "tiny").write_bytes(b"1 3:1\n")
    monkeypatch.setenv("NUMOPT_DATA", str(own_root))
    assert data_roots() == [own_root]
    assert load_libsvm("tiny")[0].shape == (1, 3)


@pytest.mark.parametrize("value", ["no", "false", "2", "00"])
def test_shared_fallback_rejects_other_values(monkeypatch, value):
    monkeypatch.setenv("NUMOPT_SHARED_FALLBACK", value)
    with pytest.raises(ValueError, match=f"NUMOPT_SHARED_FALLBACK must be '0' .* Got '{value}'"):
        load_libsvm("no-such-set")


def test_missing_path_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="No LIBSVM file"):
        load_libsvm(tmp_path / "absent")


def test_mnist_test_split_matches_raw_idx():
    images_path = require_data("mnist", "t10k-images-idx3-ubyte.gz")
    require_data("mnist", "t10k-labels-idx1-ubyte", "t10k-labels-idx1-ubyte.gz")
    images, labels = load_mnist("test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and set(np.unique(labels)) == set(range(10))
    raw = gzip.decompress(images_path.read_bytes())
    assert hashlib.md5(raw).hexdigest() == "2646ac647ad5339dbf082846283269ea"  # official md5
    np.testing.assert_array_equal(images.ravel(), np.frombuffer(raw[16:], dtype=np.uint8))
    # the first test digits of MNIST are 7, 2, 1, 0, 4 (LeCun's t10k set)
    np.testing.assert_array_equal(labels[:5], [7, 2, 1, 0, 4])


@pytest.mark.parametrize("split, kind", [("train", "mnist"), ("test", "fashion-mnist")])
def test_mnist_without_images_raises_clearly(monkeypatch, tmp_path, split, kind):
    monkeypatch.setenv("NUMOPT_DATA", str(tmp_path))
    monkeypatch.setenv("NUMOPT_SHARED_FALLBACK", "0")
    with pytest.raises(FileNotFoundError, match=f"The {kind} {split} images are not available"):
        load_mnist(split, kind)


def test_mnist_bad_arguments():
    with pytest.raises(ValueError, match="'split' parameter of load_mnist"):
        load_mnist("validation")
    with pytest.raises(ValueError, match="'kind' parameter of load_mnist"):
        load_mnist("test", "kmnist")


def test_read_idx_round_trip_and_errors(tmp_path):
    data = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    header = bytes([0, 0, 8, 3]) + np.array([2, 3, 4], dtype=">u4").tobytes()
    (tmp_path / "ok.gz").write_bytes(gzip.compress(header + data.tobytes()))
    np.testing.assert_array_equal(read_idx(tmp_path / "ok.gz"), data)
    (tmp_path / "short").write_bytes(header + data.tobytes()[:-1])
    with pytest.raises(ValueError, match="announces shape"):
        read_idx(tmp_path / "short")
    (tmp_path / "magic").write_bytes(bytes([0, 0, 13, 1]) + b"\0" * 8)
    with pytest.raises(ValueError, match="not an unsigned-byte IDX"):
        read_idx(tmp_path / "magic")


@pytest.mark.parametrize("dim", [60, 90])
def test_ssns_features_shapes_from_readme(dim):
    require_data("ssns-imagenet-features", f"train_feature_{dim}.npz")
    clouds = load_ssns_features(dim)
    sizes = [963, 955, 993, 858, 941, 956, 961, 931, 951, 960]
    assert [cloud.shape for cloud in clouds] == [(n, dim) for n in sizes]
    assert all(cloud.dtype == np.float32 for cloud in clouds)
    # PCA fitted per class: every cloud is centred
    assert max(float(np.abs(cloud.mean(axis=0)).max()) for cloud in clouds) < 1e-3


@pytest.mark.parametrize("dim", [30, 60.5, True, "60"])
def test_ssns_bad_dim(dim):
    with pytest.raises(ValueError, match="'dim' parameter of load_ssns_features"):
        load_ssns_features(dim)


@pytest.mark.parametrize("module, needs", [
    (numopt.datasets, None), (_paths, None), (libsvm, None),
    (mnist, ("mnist", "t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz")),
    (ssns, ("ssns-imagenet-features", "train_feature_60.npz"))])
def test_docstring_examples_run(module, needs):
    # The mnist and ssns examples print what they read from a data root.
    if needs:
        require_data(*needs)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


@pytest.mark.slow
def test_wheel_ships_the_data_files(tmp_path):
    import subprocess
    import sys
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO_ROOT), "--no-deps", "-w",
                    str(tmp_path)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("numopt-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("a1a", "heart_scale", "mushrooms", "README.md"):
        assert f"numopt/datasets/data/{name}" in names
