#!/usr/bin/env python3
"""Deterministic file-store tree for bench/files.sh.

    gen_files.py create ROOT SCALE STATE   # ~1.2 GiB at SCALE 1
    gen_files.py change ROOT SCALE STATE   # rewrite 1% of each group

The tree (at SCALE 1):
  bin/    200 incompressible files of 1-8 MiB (AES-256-CTR keystream from
          openssl, key and IV fixed per file: random-looking, reproducible)
  text/   5,000 text files of 0.5-16 KiB (words from a fixed vocabulary)
  dump.sql one ~300 MB dump-like file of SQL COPY rows

`change` rewrites 1% of the binary files and 1% of the text files with new
content, and rewrites the newest 1% of the dump's rows in place (truncate at
their first byte and write new rows): the usual web-app pattern, recent rows
change. STATE is a small file outside the tree that remembers where those
rows start.
"""

import json
import os
import random
import subprocess
import sys

MIB = 1 << 20


def vocabulary(rng):
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(2, 10))) for _ in range(4000)]


def keystream(path, size, tag):
    """Write SIZE incompressible bytes: AES-256-CTR over zeros, keyed by TAG."""
    key = (tag.encode().hex() * 64)[:64]
    with open("/dev/zero", "rb") as zero, open(path, "wb") as out:
        enc = subprocess.Popen(
            ["openssl", "enc", "-aes-256-ctr", "-nosalt", "-K", key, "-iv", "0" * 32],
            stdin=zero, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        left = size
        while left:
            block = enc.stdout.read(min(left, 4 * MIB))
            out.write(block)
            left -= len(block)
        enc.kill()
        enc.wait()


def text_blob(rng, vocab, size):
    words = []
    length = 0
    while length < size:
        line = " ".join(rng.choices(vocab, k=rng.randint(5, 14))) + ".\n"
        words.append(line)
        length += len(line)
    return "".join(words)[:size]


def dump_rows(rng, vocab, first_id, count, stamp):
    rows = []
    for i in range(first_id, first_id + count):
        body = " ".join(rng.choices(vocab, k=rng.randint(8, 24)))
        rows.append(f"{i}\t{rng.randint(1, 5000)}\tuser{rng.randint(1, 200000)}@example.org\t"
                    f"2024-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}+00\t"
                    f"{stamp}\t{body}\n")
    return "".join(rows)


def counts(scale):
    return (max(2, round(200 * scale)), max(100, round(5000 * scale)), max(4 * MIB, int(300e6 * scale)))


def create(root, scale, state_path):
    n_bin, n_text, dump_bytes = counts(scale)
    rng = random.Random(20240601)
    vocab = vocabulary(rng)
    os.makedirs(os.path.join(root, "bin"), exist_ok=True)
    os.makedirs(os.path.join(root, "text"), exist_ok=True)
    for i in range(n_bin):
        sub = os.path.join(root, "bin", f"{i % 16:02x}")
        os.makedirs(sub, exist_ok=True)
        keystream(os.path.join(sub, f"asset-{i:04d}.bin"), rng.randint(1 * MIB, 8 * MIB), f"bin{i}v0")
    for i in range(n_text):
        sub = os.path.join(root, "text", f"{i % 64:02x}")
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"note-{i:05d}.txt"), "w") as f:
            f.write(text_blob(rng, vocab, rng.randint(512, 16 * 1024)))
    # The dump: a header, rows in id order, a trailer. Rows are made in blocks
    # from per-block seeds so `change` can regenerate any tail exactly.
    with open(os.path.join(root, "dump.sql"), "w") as f:
        f.write("-- dump-like file for hubkeep's file benchmark\n"
                "COPY public.messages (id, room_id, author, created_at, version, body) FROM stdin;\n")
        offsets = []
        next_id = 1
        while f.tell() < dump_bytes:
            offsets.append((next_id, f.tell()))
            f.write(dump_rows(random.Random(next_id), vocab, next_id, 1000, "v0"))
            next_id += 1000
        f.write("\\.\n")
    with open(state_path, "w") as s:
        json.dump({"rows": next_id - 1, "blocks": offsets}, s)


def change(root, scale, state_path):
    n_bin, n_text, _ = counts(scale)
    rng = random.Random(20240602)
    vocab = vocabulary(random.Random(20240601))
    for i in range(7, n_bin, 100):
        keystream(os.path.join(root, "bin", f"{i % 16:02x}", f"asset-{i:04d}.bin"),
                  rng.randint(1 * MIB, 8 * MIB), f"bin{i}v1")
    for i in range(7, n_text, 100):
        with open(os.path.join(root, "text", f"{i % 64:02x}", f"note-{i:05d}.txt"), "w") as f:
            f.write(text_blob(rng, vocab, rng.randint(512, 16 * 1024)))
    with open(state_path) as s:
        state = json.load(s)
    rows = state["rows"]
    first_changed = rows - rows // 100 + 1
    block_id, offset = max((b for b in state["blocks"] if b[0] <= first_changed), key=lambda b: b[0])
    with open(os.path.join(root, "dump.sql"), "r+") as f:
        f.seek(offset)
        f.truncate()
        # Rows before the first changed one keep their bytes; the rest get a new version.
        keep = dump_rows(random.Random(block_id), vocab, block_id, first_changed - block_id, "v0")
        f.write(keep)
        f.write(dump_rows(random.Random(-first_changed), vocab, first_changed, rows - first_changed + 1, "v1"))
        f.write("\\.\n")


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("create", "change"):
        sys.exit(__doc__)
    cmd, root, scale, state = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    (create if cmd == "create" else change)(root, scale, state)


if __name__ == "__main__":
    main()
