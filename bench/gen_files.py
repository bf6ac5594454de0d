#!/usr/bin/env python3
"""Deterministic file-store tree for bench/files.sh.

    gen_files.py create ROOT SCALE STATE   # ~1.2 GiB at SCALE 1
    gen_files.py change ROOT SCALE STATE   # rewrite 1% of each group
    gen_files.py scatter ROOT SCALE STATE  # edit 1% of the dump's rows in scattered places
    gen_files.py hubs ROOT UPLOADS         # a Hubs-shaped store (bench/many-files.sh)
    gen_files.py hubs-change ROOT UPLOADS  # rewrite 1% of its files

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

`scatter` edits 1% of the dump's rows in 20 runs spread evenly over the file
(each edited row gets a new version and a longer body) and inserts 1,000
new rows in the middle: a dump of a database whose old rows were updated
here and there, so the big file changes in many places, not at its end.

`hubs` makes UPLOADS uploads as Hubs stores them: `owned/<aa>/<bb>/<uuid>.blob`
(1-6 KiB of random bytes) and `<uuid>.meta.json` beside it, 2 files per
upload. Upload i depends on i alone, so a smaller store is a prefix of a
larger one. `hubs-change` rewrites the blob and the metadata of 1% of the
uploads (every upload i with i % 100 == 7): 1% of the files.
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


def scatter(root, scale, state_path):
    with open(state_path) as s:
        rows = json.load(s)["rows"]
    runs = 20
    run_len = max(1, rows // 100 // runs)
    starts = [(k * rows) // runs + rows // (2 * runs) for k in range(runs)]
    edited = set()
    for start in starts:
        edited.update(range(start, start + run_len))
    middle = rows // 2
    vocab = vocabulary(random.Random(20240601))
    path = os.path.join(root, "dump.sql")
    with open(path, "rb") as src, open(path + ".new", "wb") as out:
        row = 0
        for line in src:
            fields = line.split(b"\t")
            if len(fields) == 6 and fields[0].isdigit():
                row = int(fields[0])
                if row in edited:
                    fields[4] = b"v2"
                    fields[5] = fields[5].rstrip(b"\n") + b" (edited)\n"
                    line = b"\t".join(fields)
            out.write(line)
            if row == middle and len(fields) == 6:
                inserted = dump_rows(random.Random(-middle), vocab, rows + 1, 1000, "v2")
                out.write(inserted.encode())
                row = -1
    os.replace(path + ".new", path)


def hubs_upload(i):
    rng = random.Random(1_000_000 + i)
    uid = "%032x" % rng.getrandbits(128)
    uid = f"{uid[:8]}-{uid[8:12]}-4{uid[13:16]}-a{uid[17:20]}-{uid[20:]}"
    return uid, rng


def write_upload(root, i, version):
    uid, rng = hubs_upload(i)
    sub = os.path.join(root, "owned", uid[:2], uid[2:4])
    os.makedirs(sub, exist_ok=True)
    if version:
        rng = random.Random(-1_000_000 - i)
    blob = rng.randbytes(rng.randint(1024, 6 * 1024))
    with open(os.path.join(sub, uid + ".blob"), "wb") as f:
        f.write(blob)
    with open(os.path.join(sub, uid + ".meta.json"), "w") as f:
        json.dump({"content_type": "image/png", "content_length": len(blob),
                   "promotion_token": "%032x" % rng.getrandbits(128), "version": version}, f)


def hubs(root, uploads):
    for i in range(uploads):
        write_upload(root, i, 0)


def hubs_change(root, uploads):
    for i in range(7, uploads, 100):
        write_upload(root, i, 1)


def main():
    commands = {"create": create, "change": change, "scatter": scatter}
    if len(sys.argv) == 4 and sys.argv[1] in ("hubs", "hubs-change"):
        (hubs if sys.argv[1] == "hubs" else hubs_change)(sys.argv[2], int(sys.argv[3]))
        return
    if len(sys.argv) != 5 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    cmd, root, scale, state = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    commands[cmd](root, scale, state)


if __name__ == "__main__":
    main()
