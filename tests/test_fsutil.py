import os

import pytest

from blurkit.fsutil import atomic_output, cleanup_partials


def test_atomic_output_appears_only_when_complete(tmp_path):
    final = tmp_path / "out" / "a.jpg"
    with atomic_output(final) as tmp:
        tmp.write_bytes(b"data")
        assert not final.exists()
        assert tmp.parent == final.parent and tmp.name.startswith(".a.jpg.")
    assert final.read_bytes() == b"data"
    assert os.listdir(final.parent) == ["a.jpg"]


def test_atomic_output_leaves_nothing_on_error(tmp_path):
    final = tmp_path / "a.jpg"
    with pytest.raises(RuntimeError):
        with atomic_output(final) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("verification failed")
    assert list(tmp_path.iterdir()) == []


def test_atomic_output_never_overwrites(tmp_path):
    final = tmp_path / "a.jpg"
    final.write_bytes(b"original")
    with pytest.raises(FileExistsError):
        with atomic_output(final) as tmp:
            tmp.write_bytes(b"new")
    assert final.read_bytes() == b"original"
    assert list(tmp_path.iterdir()) == [final]


def test_cleanup_partials(tmp_path):
    (tmp_path / "sub").mkdir()
    left = tmp_path / "sub" / ".x.jpg.abc12_yz.part"
    left.write_bytes(b"")
    keep = tmp_path / "sub" / "x.jpg"
    keep.write_bytes(b"x")
    assert cleanup_partials(tmp_path) == [left]
    assert keep.exists() and not left.exists()
