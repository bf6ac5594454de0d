"""The reader's checks (docs/vault-format.md section 15) against lying vaults.

Each test crafts a vault with the real key, as someone holding it could,
with one lie in it, and shows that the reader refuses it naming the object
or file (or, for duplicates, falls back to the good copy), and that a refused
restore leaves nothing behind. Run: python3 -m unittest tests/reader/test_hkread.py
(crates/hubkeep/tests/independent_reader.rs runs it in the test suite).
"""

import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

import blake3
import nacl.bindings
import zstandard

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hkread  # noqa: E402


def cbor(value):
    """A minimal CBOR encoder for crafting objects (shortest integer forms)."""

    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        for info, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
            if n < 1 << (8 * width):
                return bytes([major << 5 | info]) + n.to_bytes(width, "big")
        raise ValueError("integer too wide for CBOR")

    if value is None:
        return b"\xf6"
    if value is True:
        return b"\xf5"
    if value is False:
        return b"\xf4"
    if isinstance(value, int):
        return head(0, value) if value >= 0 else head(1, -1 - value)
    if isinstance(value, bytes):
        return head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return head(3, len(raw)) + raw
    if isinstance(value, list):
        return head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, dict):
        return head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(type(value))


def seal(key, plain, aad):
    nonce = os.urandom(24)
    return nonce + nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, aad, nonce, key)


class CraftedVault:
    """Writes vault objects the way the format document says, lies included."""

    def __init__(self, root, version=1):
        self.root = root
        self.user_key = os.urandom(32)
        master = os.urandom(32)
        self.vault_id = os.urandom(16).hex()
        self.id_key = hkread.derive("hubkeep-vault v1 chunk id key", master)
        self.data_key = hkread.derive("hubkeep-vault v1 data key", master)
        os.makedirs(root)
        config = {"format": "hubkeep-vault", "version": version, "id": self.vault_id,
                  "chunker": {"min": 262144, "avg": 1048576, "max": 4194304}, "created": "2026-11-24T00:35:01Z"}
        self.put("config", json.dumps(config).encode())
        wrapping = hkread.derive("hubkeep-vault v1 key wrapping", self.user_key)
        role = b"\x02"
        aad = hkread.KEY_MAGIC + role + self.vault_id.encode()
        self.put("keys/" + os.urandom(16).hex(), hkread.KEY_MAGIC + role + seal(wrapping, master, aad))
        self.pending = []  # (id, sealed, raw length, kind) for the next pack

    @property
    def key_text(self):
        h = self.user_key.hex()
        return "hkv1-" + "-".join(h[i:i + 4] for i in range(0, 64, 4))

    def put(self, name, data):
        path = os.path.join(self.root, *name.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def chunk_id(self, data):
        return blake3.blake3(data, key=self.id_key).digest()

    def chunk(self, data, body=None, flag=0, cid=None, raw=None):
        """Queues a sealed chunk; `body`/`flag`/`cid`/`raw` override what is sealed and indexed."""
        cid = cid or self.chunk_id(data)
        payload = bytes([flag]) + (data if body is None else body)
        self.pending.append((cid, seal(self.data_key, payload, cid), len(data) if raw is None else raw, 0))
        return cid

    def pack(self, name=None, lie=None):
        """Writes the queued chunks as one pack and its index; `lie` edits the entries."""
        name = name or os.urandom(16).hex()
        data, entries = bytearray(hkread.PACK_MAGIC), []
        for cid, sealed, raw, kind in self.pending:
            entries.append([cid, len(data), len(sealed), raw, kind])
            data += sealed
        self.pending = []
        if lie:
            lie(entries)
        self.put("packs/" + name, bytes(data))
        index = cbor({"version": 1, "pack": name, "chunks": entries})
        aad = hkread.INDEX_MAGIC + ("index/" + name).encode()
        self.put("index/" + name, hkread.INDEX_MAGIC + seal(self.data_key, index, aad))
        return name

    def snapshot(self, entries, kind="files", meta=None, sid="20261124T003501Z-0000000a"):
        tree = b"".join(cbor(e) for e in entries)
        tree_id = self.chunk(tree)
        self.pack()
        files = [e for e in entries if e["kind"] == 0]
        manifest = {
            "version": 1, "id": sid, "kind": kind, "created": "2026-11-24T00:35:01.000000000Z",
            "parent": None,
            "meta": json.dumps(meta if meta is not None else {"recovery_point_arn": "hrn:x"}),
            "tree": [[tree_id, len(tree)]],
            "stats": {"files": len(files), "dirs": sum(e["kind"] == 1 for e in entries),
                      "symlinks": sum(e["kind"] == 2 for e in entries),
                      "bytes": sum(e["size"] for e in files), "chunks": sum(len(e["chunks"]) for e in files)},
        }
        aad = hkread.MANIFEST_MAGIC + ("snapshots/" + sid).encode()
        self.put("snapshots/" + sid, hkread.MANIFEST_MAGIC + seal(self.data_key, cbor(manifest), aad))
        return sid


def entry(path, kind=0, chunks=(), size=None, target=None, mode=0o644):
    chunks = [[cid, length] for cid, length in chunks]
    return {"path": path, "kind": kind, "mode": mode, "uid": 0, "gid": 0,
            "mtime": 1_700_000_000, "mtime_ns": 5, "ctime": 1_700_000_000, "ctime_ns": 5, "ino": 1,
            "size": sum(c[1] for c in chunks) if size is None else size, "target": target, "chunks": chunks}


class ReaderChecks(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.vault = CraftedVault(os.path.join(self.dir, "vault"))
        self.target = os.path.join(self.dir, "target")

    def tearDown(self):
        self.tmp.cleanup()

    def run_reader(self, *args):
        """(exit status, stdout, stderr) of the reader with the vault's key on stdin."""
        out, err = io.StringIO(), io.StringIO()
        stdin = sys.stdin
        sys.stdin = io.StringIO(self.vault.key_text)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                status = hkread.main(list(args) + ["--key-file", "-"])
        finally:
            sys.stdin = stdin
        return status, out.getvalue(), err.getvalue()

    def restore(self, sid, *extra):
        return self.run_reader("restore", self.vault.root, sid, self.target, *extra)

    def assert_refused(self, sid, *needles):
        status, _, err = self.restore(sid)
        self.assertEqual(status, 1, err)
        for n in needles:
            self.assertIn(n, err)
        self.assertFalse(os.path.exists(self.target), "a refused restore leaves no target behind")
        return err

    def test_a_crafted_vault_restores_so_the_crafting_follows_the_document(self):
        a = self.vault.chunk(b"hello")
        b = self.vault.chunk(b" world")
        self.vault.pack()
        sid = self.vault.snapshot([entry(b"d", kind=1, mode=0o750), entry(b"d/f", chunks=[(a, 5), (b, 6), (a, 5)]),
                                   entry(b"l", kind=2, target=b"d/f", mode=0o777)])
        status, out, err = self.restore(sid)
        self.assertEqual(status, 0, err)
        with open(os.path.join(self.target, "d", "f"), "rb") as f:
            self.assertEqual(f.read(), b"hello worldhello")
        self.assertEqual(os.readlink(os.path.join(self.target, "l")), "d/f")
        self.assertEqual(os.stat(os.path.join(self.target, "d")).st_mode & 0o7777, 0o750)
        self.assertEqual(os.stat(os.path.join(self.target, "d", "f")).st_mtime_ns, 1_700_000_000_000_000_005)
        self.assertEqual(json.loads(out)["files"], 1)

    def test_a_file_claiming_more_bytes_than_its_chunks_is_refused_before_anything_is_written(self):
        c = self.vault.chunk(b"12345")
        self.vault.pack()
        sid = self.vault.snapshot([entry(b"huge", chunks=[(c, 5)], size=10 * 10**9), entry(b"ok", chunks=[(c, 5)])])
        self.assert_refused(sid, "'huge'", "its size is 10000000000 but its chunks hold 5 bytes")

    def test_a_tree_out_of_path_order_is_refused_before_anything_is_written(self):
        c = self.vault.chunk(b"12345")
        self.vault.pack()
        sid = self.vault.snapshot([entry(b"b", chunks=[(c, 5)]), entry(b"a", chunks=[(c, 5)])])
        self.assert_refused(sid, "'a'", "out of path order")

    def test_a_reference_shorter_than_its_chunk_fails_naming_the_file_and_leaves_nothing(self):
        c = self.vault.chunk(b"12345")
        self.vault.pack()
        sid = self.vault.snapshot([entry(b"early", chunks=[(c, 5)]), entry(b"short", chunks=[(c, 3)])])
        self.assert_refused(sid, "'short'", "decodes to 5 bytes but is referenced as 3")
        status, out, err = self.restore(sid, "--skip-damaged")
        self.assertEqual(status, 0, err)
        self.assertEqual(json.loads(out)["damaged_files"], ["short"])
        self.assertFalse(os.path.exists(os.path.join(self.target, "short")))
        with open(os.path.join(self.target, "early"), "rb") as f:
            self.assertEqual(f.read(), b"12345")

    def test_a_lying_duplicate_in_the_index_that_sorts_first_falls_back_to_the_good_copy(self):
        good = self.vault.chunk(b"the real content")
        self.vault.pack(name="f" * 32)
        other = self.vault.chunk(b"some other chunk")

        def point_other_at_good(entries):
            entries.append([good, entries[0][1], entries[0][2], 16, 0])

        self.vault.pack(name="0" * 32, lie=point_other_at_good)
        sid = self.vault.snapshot([entry(b"f", chunks=[(good, 16)]), entry(b"g", chunks=[(other, 16)])])
        status, _, err = self.restore(sid)
        self.assertEqual(status, 0, err)
        self.assertIn("bad copy of chunk", err)
        self.assertIn("index/" + "0" * 32, err, "the bad copy is named")
        with open(os.path.join(self.target, "f"), "rb") as f:
            self.assertEqual(f.read(), b"the real content")

    def test_an_index_entry_wider_than_32_bits_is_skipped_and_the_rest_of_the_index_used(self):
        wide = self.vault.chunk(b"wide")
        fine = self.vault.chunk(b"fine")

        def widen(entries):
            entries[0][2] = 1 << 33

        self.vault.pack(lie=widen)
        sid = self.vault.snapshot([entry(b"fine", chunks=[(fine, 4)]), entry(b"wide", chunks=[(wide, 4)])])
        err = self.assert_refused(sid, "'wide'", "in no index")
        self.assertIn("is unusable: its length is not an unsigned 32-bit integer", err)
        status, out, err = self.restore(sid, "--skip-damaged")
        self.assertEqual((status, json.loads(out)["damaged_files"]), (0, ["wide"]), err)

    def test_a_copy_past_the_end_of_its_pack_is_damage_not_a_short_read(self):
        c = self.vault.chunk(b"data")

        def stretch(entries):
            entries[0][1] += 1000

        self.vault.pack(lie=stretch)
        sid = self.vault.snapshot([entry(b"f", chunks=[(c, 4)])])
        self.assert_refused(sid, "'f'", "past the end of the")

    def test_a_zstd_bomb_is_refused_past_16_mib(self):
        plain = bytes(17 * 1024 * 1024)
        bomb = zstandard.ZstdCompressor().compress(plain)
        c = self.vault.chunk(plain, body=bomb, flag=1, raw=4)
        self.vault.pack()
        sid = self.vault.snapshot([entry(b"bomb", chunks=[(c, 4)], size=4)])
        self.assert_refused(sid, "'bomb'", "more than 16 MiB")

    def test_a_chunk_sealed_under_another_id_is_refused(self):
        c = self.vault.chunk(b"swapped", cid=self.vault.chunk_id(b"original"))
        self.vault.pack()
        sid = self.vault.snapshot([entry(b"f", chunks=[(c, 7)])])
        self.assert_refused(sid, "'f'", "its content does not match its id")

    def test_paths_that_could_escape_the_target_are_refused_and_nothing_is_written_anywhere(self):
        cases = [
            [entry(b"ok"), entry(b"../escape")],
            [entry(b"/tmp/absolute")],
            [entry(b"a/../b")],
            [entry(b"a//b")],
            [entry(b"nul\0byte")],
            [entry(b"l", kind=2, target=self.dir.encode(), mode=0o777), entry(b"l/under-link")],
            [entry(b"twice"), entry(b"twice", kind=1)],
        ]
        for i, entries in enumerate(cases):
            sid = self.vault.snapshot(entries, sid="20261124T003501Z-0000010%d" % i)
            with self.subTest(case=i):
                self.assert_refused(sid, "is refused")
        self.assertEqual(sorted(os.listdir(self.dir)), ["vault"], "nothing was written outside the vault")

    def test_a_vault_of_an_unknown_version_is_refused_naming_it(self):
        self.vault = CraftedVault(os.path.join(self.dir, "v2"), version=2)
        status, _, err = self.run_reader("list", self.vault.root)
        self.assertEqual(status, 1)
        self.assertIn("format version 2; this reader supports version 1", err)

    def test_foreign_snapshots_are_listed_as_foreign(self):
        self.vault.snapshot([], kind="files", meta={"hello": 1}, sid="20261124T003501Z-000000f1")
        self.vault.snapshot([], kind="someone-elses", meta={}, sid="20261124T003501Z-000000f2")
        self.vault.snapshot([], kind="backup-set", meta={"backup_set": {}, "key_bundle": {"x": "secret"}},
                            sid="20261124T003501Z-000000f3")
        status, out, err = self.run_reader("list", self.vault.root)
        self.assertEqual(status, 0, err)
        listed = {s["id"][-2:]: s["foreign"] for s in json.loads(out)["snapshots"]}
        self.assertEqual(listed, {"f1": True, "f2": True, "f3": False})
        self.assertNotIn("secret", out, "meta (a backup set's key bundle) is never printed")

    def test_the_wrong_key_is_refused_without_echoing_it(self):
        right = self.vault.key_text
        self.vault.user_key = os.urandom(32)
        status, _, err = self.run_reader("list", self.vault.root)
        self.assertEqual(status, 1)
        self.assertIn("opens no key file", err)
        self.assertNotIn(self.vault.key_text[5:], err)
        self.assertNotIn(right[5:], err)


if __name__ == "__main__":
    unittest.main()
