#!/usr/bin/env python3
"""An independent reader of hubkeep vaults, written from docs/vault-format.md.

It exists to prove that the document is enough: it shares no code with the
Rust implementation and makes every check of the document's section 15, so a
vault the test suite makes must restore through it byte for byte.

    hkread.py list    VAULT --key-file FILE
    hkread.py restore VAULT SNAPSHOT_ID TARGET --key-file FILE [--skip-damaged]

VAULT is a local vault directory or its file:// URL. The key (access or
recovery key text) is read from FILE, or from standard input when FILE is
`-`; it never appears on the command line. Results are one JSON document on
standard output; problems are `warning:` lines and a final `error:` line on
standard error (exit status 1).

Needs Python 3.9+ with pynacl (XChaCha20-Poly1305), blake3 and zstandard.
"""

import argparse
import io
import json
import os
import re
import sys

import blake3
import nacl.bindings
import nacl.exceptions
import zstandard

MIB = 1024 * 1024
MAX_CHUNK = 16 * MIB  # no chunk decodes to more (section 7)
BOX_OVERHEAD = 24 + 16  # nonce + tag (section 3)
MIN_SEALED_CHUNK = BOX_OVERHEAD + 1  # plus the compression flag
MAX_SEALED_CHUNK = MAX_CHUNK + MIN_SEALED_CHUNK

KEY_MAGIC = b"HKVKEY\x00\x01"
PACK_MAGIC = b"HKVPCK\x00\x01"
INDEX_MAGIC = b"HKVIDX\x00\x01"
MANIFEST_MAGIC = b"HKVSNP\x00\x01"

KIND_FILE, KIND_DIR, KIND_SYMLINK = 0, 1, 2
KNOWN_SNAPSHOT_KINDS = ("files", "db-snapshot", "backup-set")

HEX32 = re.compile(r"\A[0-9a-f]{32}\Z")
SNAPSHOT_ID = re.compile(r"\A[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}\Z")
RFC3339 = re.compile(r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)\Z")


class VaultError(Exception):
    """Something in the vault is wrong; the message names the object."""


class Refused(VaultError):
    """The snapshot cannot be restored safely; nothing was written."""


def warn(message):
    print("warning: " + message, file=sys.stderr)


# ---------------------------------------------------------------- CBOR (2.1)


class CborError(ValueError):
    pass


def cbor_item(buf, pos, depth=0):
    """Decodes one CBOR item at `pos`: (value, next position).

    Strict on purpose: definite lengths only, no tags, no floats; maps need
    text keys, each once. Booleans come back as bool, null as None.
    """
    if depth > 16:
        raise CborError("nested too deeply")
    if pos >= len(buf):
        raise CborError("ends in the middle of an item")
    initial = buf[pos]
    major, info = initial >> 5, initial & 0x1F
    pos += 1
    if info < 24:
        arg = info
    elif info in (24, 25, 26, 27):
        width = 1 << (info - 24)
        if pos + width > len(buf):
            raise CborError("ends in the middle of an integer")
        arg = int.from_bytes(buf[pos : pos + width], "big")
        pos += width
    elif info == 31:
        raise CborError("indefinite-length item")
    else:
        raise CborError("reserved additional information %d" % info)
    if major == 0:
        return arg, pos
    if major == 1:
        return -1 - arg, pos
    if major in (2, 3):
        if arg > len(buf) - pos:
            raise CborError("a string runs past the end")
        raw = bytes(buf[pos : pos + arg])
        pos += arg
        if major == 2:
            return raw, pos
        try:
            return raw.decode("utf-8"), pos
        except UnicodeDecodeError:
            raise CborError("a text string is not UTF-8")
    if major == 4:
        if arg > len(buf) - pos:  # every item takes at least one byte
            raise CborError("an array claims more items than there are bytes")
        items = []
        for _ in range(arg):
            value, pos = cbor_item(buf, pos, depth + 1)
            items.append(value)
        return items, pos
    if major == 5:
        if arg > (len(buf) - pos) // 2:
            raise CborError("a map claims more pairs than there are bytes")
        out = {}
        for _ in range(arg):
            key, pos = cbor_item(buf, pos, depth + 1)
            if type(key) is not str:
                raise CborError("a map key is not a text string")
            if key in out:
                raise CborError("map key %r appears twice" % key)
            out[key], pos = cbor_item(buf, pos, depth + 1)
        return out, pos
    if major == 6:
        raise CborError("tagged item")
    if info == 20:
        return False, pos
    if info == 21:
        return True, pos
    if info == 22:
        return None, pos
    raise CborError("unsupported simple value or float")


def cbor_one(buf):
    value, end = cbor_item(buf, 0)
    if end != len(buf):
        raise CborError("%d bytes follow the item" % (len(buf) - end))
    return value


def cbor_sequence(buf):
    pos, items = 0, []
    while pos < len(buf):
        try:
            value, pos = cbor_item(buf, pos)
        except CborError as e:
            raise CborError("item %d: %s" % (len(items), e))
        items.append(value)
    return items


# ------------------------------------------------------ typed fields (2.2)


def uint(value, bits, what, lo=0, hi=None):
    if type(value) is not int or value < 0 or value >= 1 << bits:
        raise CborError("%s is not an unsigned %d-bit integer" % (what, bits))
    if value < lo or (hi is not None and value > hi):
        raise CborError("%s is %d, outside %d…%s" % (what, value, lo, hi))
    return value


def int64(value, what):
    if type(value) is not int or not -(1 << 63) <= value < 1 << 63:
        raise CborError("%s is not a signed 64-bit integer" % what)
    return value


def bstr(value, what, length=None):
    if type(value) is not bytes:
        raise CborError("%s is not a byte string" % what)
    if length is not None and len(value) != length:
        raise CborError("%s is %d bytes, not %d" % (what, len(value), length))
    return value


def tstr(value, what):
    if type(value) is not str:
        raise CborError("%s is not a text string" % what)
    return value


def fields(value, keys, what):
    """The listed keys of a map (unknown ones are ignored, missing ones refused)."""
    if type(value) is not dict:
        raise CborError("%s is not a map" % what)
    missing = [k for k in keys if k not in value]
    if missing:
        raise CborError("%s lacks %s" % (what, ", ".join(missing)))
    return value


def chunk_ref(value, what):
    if type(value) is not list or len(value) != 2:
        raise CborError("%s is not an [id, length] pair" % what)
    return (
        bstr(value[0], what + " id", 32),
        uint(value[1], 32, what + " length", hi=MAX_CHUNK),
    )


# ------------------------------------------------------------ crypto (3, 5)


def derive(context, material):
    return blake3.blake3(material, derive_key_context=context).digest()


def open_box(key, sealed, aad):
    """The plaintext of a sealed box, or None when it does not open."""
    if len(sealed) < BOX_OVERHEAD:
        return None
    nonce, body = sealed[:24], sealed[24:]
    try:
        return nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(body, aad, nonce, key)
    except nacl.exceptions.CryptoError:
        return None


def parse_key_text(text):
    cleaned = "".join(text.split()).lower()
    if not cleaned.startswith("hkv1-"):
        raise VaultError("the key is not a hubkeep vault key: it does not start with hkv1-")
    digits = cleaned[5:].replace("-", "")
    if len(digits) != 64 or not re.fullmatch(r"[0-9a-f]{64}", digits):
        raise VaultError("the key is not a hubkeep vault key: it is not 64 hex digits after hkv1-")
    return bytes.fromhex(digits)


# -------------------------------------------------------------- the vault


class Copy:
    """One index entry for a chunk: where a sealed copy of it should be."""

    def __init__(self, index_name, position, pack, offset, length):
        self.index_name = index_name
        self.position = position
        self.pack = pack
        self.offset = offset
        self.length = length


class Vault:
    def __init__(self, location, key_text):
        root = location[len("file://") :] if location.startswith("file://") else location
        if not os.path.isdir(root):
            raise VaultError("%s is not a vault directory" % location)
        self.root = root
        self.location = location
        self._read_config()
        self._unlock(parse_key_text(key_text))
        self.problems = []
        self.copies = None

    def _path(self, name):
        return os.path.join(self.root, *name.split("/"))

    def _names(self, prefix):
        """Object names under `prefix/`, temp files and stray names left out."""
        try:
            listed = sorted(os.listdir(self._path(prefix)))
        except FileNotFoundError:
            return []
        return [n for n in listed if not n.startswith(".tmp-")]

    def _get(self, name):
        with open(self._path(name), "rb") as f:
            return f.read()

    # section 4
    def _read_config(self):
        try:
            config = json.loads(self._get("config"))
        except FileNotFoundError:
            raise VaultError("%s has no config object: it is not a hubkeep vault" % self.location)
        except ValueError as e:
            raise VaultError("config is not JSON (%s)" % e)
        if not isinstance(config, dict) or config.get("format") != "hubkeep-vault":
            raise VaultError("config: the format is not hubkeep-vault")
        if config.get("version") != 1:
            raise VaultError(
                "config: the vault has format version %r; this reader supports version 1"
                % config.get("version")
            )
        vid = config.get("id")
        if not isinstance(vid, str) or not re.fullmatch(r"[0-9a-fA-F]{32}", vid):
            raise VaultError("config: its id is not 32 hex digits")
        chunker = config.get("chunker")
        bounds = {"min": (64, MIB), "avg": (256, 4 * MIB), "max": (1024, 16 * MIB)}
        ok = isinstance(chunker, dict) and all(
            type(chunker.get(k)) is int and lo <= chunker[k] <= hi for k, (lo, hi) in bounds.items()
        )
        if not ok or not chunker["min"] <= chunker["avg"] <= chunker["max"]:
            raise VaultError("config: its chunker sizes are out of range")
        self.vault_id = vid

    # section 5
    def _unlock(self, user_key):
        wrapping = derive("hubkeep-vault v1 key wrapping", user_key)
        for name in self._names("keys"):
            data = self._get("keys/" + name)
            if len(data) != 81 or not data.startswith(KEY_MAGIC):
                continue
            role = data[8:9]
            master = open_box(wrapping, data[9:], KEY_MAGIC + role + self.vault_id.encode("ascii"))
            if master is not None and len(master) == 32:
                self.id_key = derive("hubkeep-vault v1 chunk id key", master)
                self.data_key = derive("hubkeep-vault v1 data key", master)
                return
        raise VaultError("the key opens no key file of vault %s: it is not a key of this vault" % self.location)

    def _open_object(self, magic, name, data):
        if not data.startswith(magic):
            raise VaultError("%s does not start with the expected magic bytes" % name)
        plain = open_box(self.data_key, data[8:], magic + name.encode("ascii"))
        if plain is None:
            raise VaultError("%s: its encryption tag does not match (truncated or changed)" % name)
        return plain

    # section 8
    def load_index(self):
        copies = {}
        pack_sizes = {}
        for pack in self._names("packs"):
            if HEX32.match(pack):
                pack_sizes[pack] = os.stat(self._path("packs/" + pack)).st_size
        for suffix in self._names("index"):
            name = "index/" + suffix
            if not HEX32.match(suffix):
                continue
            try:
                plain = self._open_object(INDEX_MAGIC, name, self._get(name))
                index = fields(cbor_one(plain), ("version", "pack", "chunks"), name)
                if index["version"] != 1 or index["pack"] != suffix:
                    raise CborError("it describes pack %r version %r" % (index["pack"], index["version"]))
                if type(index["chunks"]) is not list:
                    raise CborError("its chunks are not an array")
            except (VaultError, CborError) as e:
                self.problem("%s is damaged and not used: %s" % (name, e))
                continue
            for position, entry in enumerate(index["chunks"]):
                what = "%s entry %d" % (name, position)
                try:
                    if type(entry) is not list or len(entry) != 5:
                        raise CborError("it is not [id, offset, length, raw_length, kind]")
                    cid = bstr(entry[0], "its id", 32)
                    offset = uint(entry[1], 64, "its offset", lo=len(PACK_MAGIC))
                    length = uint(entry[2], 32, "its length", lo=MIN_SEALED_CHUNK, hi=MAX_SEALED_CHUNK)
                    uint(entry[3], 32, "its raw_length", hi=MAX_CHUNK)
                    uint(entry[4], 8, "its kind", hi=1)
                except CborError as e:
                    self.problem("%s is unusable: %s" % (what, e))
                    continue
                copies.setdefault(cid, []).append(Copy(name, position, suffix, offset, length))
        self.copies = copies
        self.pack_sizes = pack_sizes

    def problem(self, message):
        self.problems.append(message)
        warn(message)

    # section 7 and 8 (duplicates)
    def chunk(self, cid, expected_len):
        """The checked plaintext of chunk `cid`; tries every copy in order."""
        failures = []
        for copy in self.copies.get(cid, []):
            where = "packs/%s (from %s entry %d)" % (copy.pack, copy.index_name, copy.position)
            try:
                data = self._read_copy(cid, copy)
                if len(data) != expected_len:
                    raise VaultError(
                        "it decodes to %d bytes but is referenced as %d" % (len(data), expected_len)
                    )
                return data
            except VaultError as e:
                failures.append("%s: %s" % (where, e))
                self.problem("bad copy of chunk %s in %s: %s" % (cid.hex()[:16], where, e))
        if not failures:
            raise VaultError("chunk %s is in no index" % cid.hex()[:16])
        raise VaultError("every copy of chunk %s is bad (%s)" % (cid.hex()[:16], "; ".join(failures)))

    def _read_copy(self, cid, copy):
        size = self.pack_sizes.get(copy.pack)
        if size is None:
            raise VaultError("the pack does not exist")
        if copy.offset + copy.length > size:
            raise VaultError(
                "it lies at %d+%d, past the end of the %d-byte pack" % (copy.offset, copy.length, size)
            )
        with open(self._path("packs/" + copy.pack), "rb") as f:
            if f.read(8) != PACK_MAGIC:
                raise VaultError("the pack does not start with the pack magic")
            f.seek(copy.offset)
            sealed = f.read(copy.length)
        body = open_box(self.data_key, sealed, cid)
        if body is None:
            raise VaultError("its encryption tag does not match")
        flag, payload = body[0], body[1:]
        if flag == 0:
            data = payload
        elif flag == 1:
            data = bounded_zstd(payload)
        else:
            raise VaultError("it has unknown compression %d" % flag)
        if blake3.blake3(data, key=self.id_key).digest() != cid:
            raise VaultError("its content does not match its id")
        return data

    # section 9
    def snapshot_ids(self):
        ids = []
        for name in self._names("snapshots"):
            if SNAPSHOT_ID.match(name):
                ids.append(name)
        return ids

    def manifest(self, sid):
        if not SNAPSHOT_ID.match(sid):
            raise VaultError("%r is not a snapshot id (YYYYMMDDTHHMMSSZ-xxxxxxxx)" % sid)
        name = "snapshots/" + sid
        try:
            data = self._get(name)
        except FileNotFoundError:
            raise VaultError("snapshot %s does not exist in %s" % (sid, self.location))
        try:
            m = fields(
                cbor_one(self._open_object(MANIFEST_MAGIC, name, data)),
                ("version", "id", "kind", "created", "parent", "meta", "tree", "stats"),
                name,
            )
            if uint(m["version"], 32, "version") != 1 or m["id"] != sid:
                raise CborError("it describes snapshot %r version %r" % (m["id"], m["version"]))
            tstr(m["kind"], "kind")
            if not RFC3339.match(tstr(m["created"], "created")):
                raise CborError("its creation time is not RFC 3339")
            if m["parent"] is not None:
                tstr(m["parent"], "parent")
            m["meta_value"] = json.loads(tstr(m["meta"], "meta"))
            if type(m["tree"]) is not list:
                raise CborError("its tree is not an array")
            m["tree"] = [chunk_ref(r, "tree reference %d" % i) for i, r in enumerate(m["tree"])]
            stats = fields(m["stats"], ("files", "dirs", "symlinks", "bytes", "chunks"), "stats")
            m["stats"] = {k: uint(stats[k], 64, "stats " + k) for k in ("files", "dirs", "symlinks", "bytes", "chunks")}
        except (CborError, ValueError) as e:
            raise VaultError("%s is damaged: %s" % (name, e))
        return m

    # section 10
    def tree(self, m):
        name = "snapshots/" + m["id"]
        parts = []
        for i, (cid, length) in enumerate(m["tree"]):
            try:
                parts.append(self.chunk(cid, length))
            except VaultError as e:
                raise VaultError("the tree of snapshot %s cannot be read: %s" % (m["id"], e))
        try:
            raw = cbor_sequence(b"".join(parts))
            entries = [entry(e, i) for i, e in enumerate(raw)]
        except CborError as e:
            raise VaultError("%s: its tree is damaged: %s" % (name, e))
        check_stats(m, entries)
        return entries


ENTRY_KEYS = ("path", "kind", "mode", "uid", "gid", "mtime", "mtime_ns", "ctime", "ctime_ns", "ino", "size", "target", "chunks")


def entry(value, i):
    what = "entry %d" % i
    e = fields(value, ENTRY_KEYS, what)
    out = {
        "path": bstr(e["path"], what + " path"),
        "kind": uint(e["kind"], 8, what + " kind"),
        "mode": uint(e["mode"], 32, what + " mode"),
        "uid": uint(e["uid"], 32, what + " uid"),
        "gid": uint(e["gid"], 32, what + " gid"),
        "mtime": int64(e["mtime"], what + " mtime"),
        "mtime_ns": uint(e["mtime_ns"], 32, what + " mtime_ns", hi=999_999_999),
        "ctime": int64(e["ctime"], what + " ctime"),
        "ctime_ns": uint(e["ctime_ns"], 32, what + " ctime_ns", hi=999_999_999),
        "ino": uint(e["ino"], 64, what + " ino"),
        "size": uint(e["size"], 64, what + " size"),
        "target": None if e["target"] is None else bstr(e["target"], what + " target"),
    }
    if type(e["chunks"]) is not list:
        raise CborError("%s chunks are not an array" % what)
    out["chunks"] = [chunk_ref(r, "%s chunk %d" % (what, j)) for j, r in enumerate(e["chunks"])]
    return out


def check_stats(m, entries):
    files = [e for e in entries if e["kind"] == KIND_FILE]
    found = {
        "files": len(files),
        "dirs": sum(1 for e in entries if e["kind"] == KIND_DIR),
        "symlinks": sum(1 for e in entries if e["kind"] == KIND_SYMLINK),
        "bytes": sum(e["size"] for e in files),
        "chunks": sum(len(e["chunks"]) for e in files),
    }
    if found != m["stats"]:
        warn("snapshots/%s is inconsistent: its stats %s differ from its tree %s" % (m["id"], m["stats"], found))


def bounded_zstd(payload):
    """Decompresses at most MAX_CHUNK bytes; more is damage, not a chunk."""
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(payload), read_across_frames=True)
        out = bytearray()
        while True:
            piece = reader.read(MAX_CHUNK + 1 - len(out))
            if not piece:
                break
            out += piece
            if len(out) > MAX_CHUNK:
                raise VaultError("it decompresses to more than 16 MiB")
    except zstandard.ZstdError as e:
        raise VaultError("it does not decompress (%s)" % e)
    return bytes(out)


def lossy(path):
    return path.decode("utf-8", "replace")


def validate(sid, entries):
    """The restore rules of section 10 and the size rule, before anything is written."""

    def refuse(path, reason):
        raise Refused("snapshot %s: entry %r is refused: %s" % (sid, lossy(path), reason))

    seen, non_dirs, last = set(), set(), b""
    for e in entries:
        p = e["path"]
        if not p:
            refuse(p, "empty path")
        if p.startswith(b"/"):
            refuse(p, "absolute path")
        if b"\0" in p:
            refuse(p, "NUL byte in path")
        if any(c in (b"", b".", b"..") for c in p.split(b"/")):
            refuse(p, "empty, '.' or '..' component")
        if e["kind"] not in (KIND_FILE, KIND_DIR, KIND_SYMLINK):
            refuse(p, "unknown entry kind %d" % e["kind"])
        if e["mode"] > 0o7777:
            refuse(p, "mode %o has bits beyond 0o7777" % e["mode"])
        if p in seen:
            refuse(p, "listed twice")
        if seen and p < last:
            refuse(p, "out of path order (a tree is sorted by path bytes)")
        seen.add(p)
        last = p
        if e["kind"] == KIND_FILE:
            total = sum(length for _, length in e["chunks"])
            if e["size"] != total:
                refuse(p, "its size is %d but its chunks hold %d bytes" % (e["size"], total))
            if e["target"] is not None:
                refuse(p, "a file with a link target")
        else:
            if e["size"] != 0 or e["chunks"]:
                refuse(p, "a directory or symlink with content")
        if e["kind"] == KIND_SYMLINK:
            if not e["target"] or b"\0" in e["target"]:
                refuse(p, "a symlink without a target, or with a NUL byte in it")
        elif e["kind"] == KIND_DIR and e["target"] is not None:
            refuse(p, "a directory with a link target")
        if e["kind"] != KIND_DIR:
            non_dirs.add(p)
    for e in entries:
        p = e["path"]
        for i in range(len(p)):
            if p[i : i + 1] == b"/" and p[:i] in non_dirs:
                refuse(p, "it lies under %r, which is a symlink or file" % lossy(p[:i]))


# ------------------------------------------------------------ restore (10)


def prepare_target(target):
    try:
        if os.listdir(target):
            raise VaultError("the restore target %s is not empty" % os.fsdecode(target))
        return False
    except FileNotFoundError:
        os.makedirs(target)
        return True
    except NotADirectoryError:
        raise VaultError("the restore target %s is not a directory" % os.fsdecode(target))


def restore(vault, sid, target, skip_damaged):
    m = vault.manifest(sid)
    vault.load_index()
    entries = vault.tree(m)
    validate(sid, entries)
    target = os.fsencode(target)
    made_target = prepare_target(target)
    as_root = os.geteuid() == 0
    created = []  # in creation order, removed in reverse if the restore fails

    def full(e):
        return os.path.join(target, e["path"])

    def ensure_parent(path):
        parent = os.path.dirname(path)
        missing = []
        while parent != target and not os.path.isdir(parent):
            missing.append(parent)
            parent = os.path.dirname(parent)
        for d in reversed(missing):
            os.mkdir(d, 0o700)
            created.append(d)

    def apply(path, e, mode=True):
        if as_root:
            os.lchown(path, e["uid"], e["gid"])
        if mode:
            os.chmod(path, e["mode"])
        t = e["mtime"] * 1_000_000_000 + e["mtime_ns"]
        os.utime(path, ns=(t, t), follow_symlinks=False)

    summary = {"snapshot": sid, "files": 0, "dirs": 0, "symlinks": 0, "bytes": 0, "damaged_files": []}
    try:
        for e in entries:
            if e["kind"] == KIND_DIR:
                path = full(e)
                ensure_parent(path)
                if not os.path.isdir(path):
                    os.mkdir(path, 0o700)
                    created.append(path)
                summary["dirs"] += 1
        damaged = set()
        for e in entries:
            if e["kind"] != KIND_FILE:
                continue
            path = full(e)
            ensure_parent(path)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            created.append(path)
            try:
                with os.fdopen(fd, "wb") as out:
                    for cid, length in e["chunks"]:
                        out.write(vault.chunk(cid, length))
            except VaultError as err:
                os.unlink(path)
                created.pop()
                if not skip_damaged:
                    raise VaultError("snapshot %s: file %r is damaged: %s" % (sid, lossy(e["path"]), err))
                damaged.add(e["path"])
                summary["damaged_files"].append(lossy(e["path"]))
                continue
            apply(path, e)
            summary["files"] += 1
            summary["bytes"] += e["size"]
        for e in entries:
            if e["kind"] == KIND_SYMLINK:
                path = full(e)
                ensure_parent(path)
                os.symlink(e["target"], path)
                created.append(path)
                apply(path, e, mode=False)
                summary["symlinks"] += 1
        for e in reversed(entries):
            if e["kind"] == KIND_DIR:
                apply(full(e), e)
    except BaseException:
        undo(created, target if made_target else None)
        raise
    return summary


def undo(created, made_target):
    """Removes what a failed restore wrote: no half-restored tree is left."""
    for path in reversed(created):
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                os.chmod(path, 0o700)
                os.rmdir(path)
            else:
                os.unlink(path)
        except OSError as e:
            warn("could not remove %s: %s" % (os.fsdecode(path), e))
    if made_target is not None:
        try:
            os.rmdir(made_target)
        except OSError:
            pass


def foreign(m):
    """True when a snapshot is not one of hubkeep's kinds with its record (section 14)."""
    meta = m["meta_value"]
    if not isinstance(meta, dict):
        return True
    if m["kind"] == "files":
        return not isinstance(meta.get("recovery_point_arn"), str)
    if m["kind"] == "db-snapshot":
        return not (isinstance(meta.get("id"), str) and isinstance(meta.get("database"), str))
    if m["kind"] == "backup-set":
        return not isinstance(meta.get("backup_set"), dict)
    return True


def list_snapshots(vault):
    out, damaged = [], []
    for sid in vault.snapshot_ids():
        try:
            m = vault.manifest(sid)
        except VaultError as e:
            warn(str(e))
            damaged.append({"object": "snapshots/" + sid, "error": str(e)})
            continue
        out.append(
            {
                "id": sid,
                "kind": m["kind"],
                "created": m["created"],
                "parent": m["parent"],
                "stats": m["stats"],
                "foreign": foreign(m),
            }
        )
    return {"snapshots": out, "damaged": damaged}


def read_key(source):
    if source == "-":
        return sys.stdin.read()
    with open(source) as f:
        return f.read()


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="list the snapshots of a vault")
    ls.add_argument("vault")
    ls.add_argument("--key-file", required=True, help="file holding the key text, or - for stdin")
    rs = sub.add_parser("restore", help="restore a snapshot's entries into a new or empty directory")
    rs.add_argument("vault")
    rs.add_argument("snapshot")
    rs.add_argument("target")
    rs.add_argument("--key-file", required=True, help="file holding the key text, or - for stdin")
    rs.add_argument("--skip-damaged", action="store_true", help="restore every intact file, list the others")
    args = parser.parse_args(argv)
    try:
        vault = Vault(args.vault, read_key(args.key_file))
        if args.command == "list":
            result = list_snapshots(vault)
        else:
            result = restore(vault, args.snapshot, args.target, args.skip_damaged)
    except (VaultError, OSError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
