#!/usr/bin/env python3
"""An independent decoder of Chorus batches, written from docs/FORMAT.md alone with PyNaCl (Debian's
python3-nacl) and hashlib: it unlocks a secret key file (2.3), reads a batch as a stream (6), opens
the answers section of every envelope (5.6: sealed-box stanzas, header MAC, AEAD) and counts one
field. A plain single-process loop, for the benchmarks' comparison.

    stats_pynacl.py KEYFILE PASSPHRASE_FILE BATCH [FIELD]
"""
import base64
import hashlib
import hmac
import struct
import sys

import nacl.bindings as b
import nacl.exceptions
import nacl.pwhash

STANZA = 145


def padme(x):
    if x < 2:
        return x
    e = x.bit_length() - 1
    s = e.bit_length()
    z = e - s
    m = (1 << z) - 1
    return (x + m) & ~m


def unlock(keyfile, passfile):
    lines = open(keyfile, encoding="ascii").read().split("\n")
    assert lines[0] == "-----BEGIN CHORUS SECRET KEY-----", "not a Chorus secret key"
    blob = base64.b64decode("".join(line for line in lines[1:] if line and not line.startswith("-----")), validate=True)
    assert blob[:8] == b"CHORUS-K" and blob[8] == 2 and blob[10] == 2, "not a Chorus secret key"
    ops, mem = struct.unpack(">QQ", blob[11:27])
    salt, pk, n = blob[27:43], blob[43:75], blob[75]
    assert len(blob) == 148 + n
    nonce, sealed = blob[76 + n:100 + n], blob[100 + n:]
    passphrase = open(passfile, "rb").read().split(b"\n")[0].rstrip(b"\r")
    wrap = nacl.pwhash.argon2id.kdf(32, passphrase, salt, opslimit=ops, memlimit=mem)
    sk = b.crypto_aead_xchacha20poly1305_ietf_decrypt(sealed, blob[:100 + n], nonce, wrap)
    return pk, sk


class Stream:
    """Sequential reads of the batch, hashing every byte before the final checksum."""

    def __init__(self, path):
        self.f = open(path, "rb", buffering=1 << 20)
        self.h = hashlib.blake2b(digest_size=32)

    def read(self, n):
        data = self.f.read(n)
        if len(data) != n:
            raise ValueError("the batch is truncated")
        self.h.update(data)
        return data


def open_answers(env, pk, sk):
    """The answers text of one envelope (FORMAT.md 5.6), or None when it cannot be used."""
    if len(env) < 50 or env[:8] != b"CHORUS-E" or env[8] != 2:
        return None
    n = env[41]
    pa, ps = struct.unpack(">II", env[42:50])
    h = 50 + STANZA * n
    if not 1 <= n <= 16 or len(env) != h + 64 + pa + ps:
        return None
    s = None
    for i in range(n):
        try:
            s = b.crypto_box_seal_open(env[50 + STANZA * i:50 + STANZA * (i + 1)], pk, sk)
            break
        except nacl.exceptions.CryptoError:
            continue
    if s is None or len(s) != 97 or s[0] not in (1, 2):
        return None
    mac = hashlib.blake2b(env[:h], digest_size=32, key=s[1:33]).digest()
    if not hmac.compare_digest(mac, env[h:h + 32]):
        return None
    try:
        plain = b.crypto_aead_xchacha20poly1305_ietf_decrypt(env[h + 32:h + 48 + pa], env[:h + 32], bytes(23) + b"\x01", s[33:65])
    except nacl.exceptions.CryptoError:
        return None
    (length,) = struct.unpack(">I", plain[:4])
    if length > len(plain) - 4 or any(plain[4 + length:]) or len(plain) != max(256, padme(4 + length)):
        return None
    text = plain[4:4 + length].decode("ascii")
    lines = text.split("\n")
    if lines[0] != "chorus-answers-2" or lines[-1] != "":
        return None
    return lines[3:-1]


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    field = sys.argv[4] if len(sys.argv) == 5 else "setting"
    pk, sk = unlock(sys.argv[1], sys.argv[2])
    st = Stream(sys.argv[3])
    magic, version, entries, tombstone_count, schema_len = struct.unpack(">8sBQII", st.read(25))
    assert magic == b"CHORUS-B" and version == 2, "not a Chorus batch"
    st.read(schema_len)
    tombstones = {st.read(32) for _ in range(tombstone_count)}
    counts, seen, bad = {}, set(), 0
    for _ in range(entries):
        (length,) = struct.unpack(">I", st.read(4))
        env = st.read(length)
        if env[9:41] in tombstones:
            continue
        lines = open_answers(env, pk, sk)
        if lines is None:
            bad += 1
            continue
        key = (env[9:41], env[50 + STANZA * env[41]:82 + STANZA * env[41]])  # id and MAC: copies count once
        if key in seen:
            continue
        seen.add(key)
        value = "(not answered)"
        for line in lines:
            k, _, v = line.partition("=")
            if k == field:
                value = v
        counts[value] = counts.get(value, 0) + 1
    digest = st.h.digest()
    if st.f.read(32) != digest or st.f.read(1):
        print("stats_pynacl: the batch checksum does not match", file=sys.stderr)
    print(f"{field}\tentries")
    for value, n in sorted(counts.items()):
        print(f"{value}\t{n}")
    print(f"opened {sum(counts.values())}, failed {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
