"""core.hashing: a file's sha256 is reused while its (size, mtime) stamp is unchanged and
recomputed as soon as it changes; records persist per cache file."""

from __future__ import annotations

import hashlib
import json
import os

from seamline.core.hashing import Sha256Memo, file_sha256, file_stamp, memo_sha256


def _write(path, data: bytes, mtime_ns: int):
    path.write_bytes(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def test_file_sha256_is_the_digest_of_the_bytes(tmp_path):
    data = os.urandom(5 << 20)  # more than one 4 MiB chunk
    p = _write(tmp_path / "w.bin", data, 1_000_000_000)
    assert file_sha256(p) == hashlib.sha256(data).hexdigest()
    assert file_stamp(p) == (len(data), 1_000_000_000)


def test_memo_sha256_reuses_a_recorded_digest_only_while_the_stamp_matches(tmp_path):
    p = _write(tmp_path / "in.png", b"abc", 2_000_000_000)
    real = hashlib.sha256(b"abc").hexdigest()
    sha, stamp = memo_sha256(p)
    assert (sha, stamp) == (real, (3, 2_000_000_000))
    # a journal round trip gives the stamp back as a list; a recorded digest is trusted as is
    assert memo_sha256(p, list(stamp), "recorded")[0] == "recorded"
    os.utime(p, ns=(2_000_000_001, 2_000_000_001))  # touched: same size, new mtime
    assert memo_sha256(p, list(stamp), "recorded") == (real, (3, 2_000_000_001))
    _write(p, b"abcd", 2_000_000_000)  # same mtime, new size
    assert memo_sha256(p, list(stamp), "recorded")[0] == hashlib.sha256(b"abcd").hexdigest()


def test_memo_persists_per_cache_file_and_rehashes_a_changed_file(tmp_path):
    p = _write(tmp_path / "unet.safetensors", b"weights", 3_000_000_000)
    real = hashlib.sha256(b"weights").hexdigest()
    where = {"dir": tmp_path / "cache-a"}
    memo = Sha256Memo(lambda: where["dir"] / "weights-sha256.json")
    assert memo(p) == real
    records = json.loads((tmp_path / "cache-a" / "weights-sha256.json").read_text())
    assert records == {str(p.resolve()): {"size": 7, "mtime_ns": 3_000_000_000, "sha256": real}}

    # A new process (new memo) trusts the disk record while the stamp matches: plant one.
    records[str(p.resolve())]["sha256"] = "planted"
    (tmp_path / "cache-a" / "weights-sha256.json").write_text(json.dumps(records))
    assert Sha256Memo(lambda: tmp_path / "cache-a" / "weights-sha256.json")(p) == "planted"
    # ... and recomputes once the file changes
    _write(p, b"weights2", 3_000_000_000)
    fresh = Sha256Memo(lambda: tmp_path / "cache-a" / "weights-sha256.json")
    assert fresh(p) == hashlib.sha256(b"weights2").hexdigest()

    # the location is read on every call: another cache dir gets its own records
    where["dir"] = tmp_path / "cache-b"
    _write(p, b"weights3", 3_000_000_000)
    assert memo(p) == hashlib.sha256(b"weights3").hexdigest()
    assert (tmp_path / "cache-b" / "weights-sha256.json").is_file()


def test_an_unwritable_cache_location_is_not_an_error(tmp_path):
    p = _write(tmp_path / "w.bin", b"x", 4_000_000_000)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder would be")
    memo = Sha256Memo(lambda: blocker / "sub" / "weights-sha256.json")
    assert memo(p) == hashlib.sha256(b"x").hexdigest()
    assert Sha256Memo()(p) == hashlib.sha256(b"x").hexdigest()  # memory only


def test_two_processes_sharing_the_memo_file_keep_each_others_records(tmp_path):
    # each memo read the JSON once and wrote back its own copy: a second process's records,
    # written in between, were dropped (weights-sha256.json is shared by every seamline
    # process, and a dropped record costs a multi-GB re-hash)
    files = [_write(tmp_path / f"{n}.bin", n.encode(), 5_000_000_000) for n in "abc"]
    where = tmp_path / "cache" / "weights-sha256.json"
    first, second = Sha256Memo(lambda: where), Sha256Memo(lambda: where)
    first(files[0])
    second(files[1])  # another process, between two of the first one's writes
    first(files[2])
    records = json.loads(where.read_text())
    assert sorted(records) == sorted(str(p.resolve()) for p in files)
    assert all(records[str(p.resolve())]["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
               for p in files)


def test_the_suite_keeps_its_model_digests_out_of_the_users_cache(tmp_path_factory):
    # the runner's cache tokens record every model file they hash (the tests' temporary
    # copies too) in <cache_dir>/weights-sha256.json: the suite wrote them to ~/.cache
    from seamline.core.hashing import cache_dir

    assert cache_dir().resolve().is_relative_to(tmp_path_factory.getbasetemp().resolve())
