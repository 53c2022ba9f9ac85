#!/usr/bin/env python3
"""Makes many distinct, valid Chorus envelopes quickly (docs/FORMAT.md sections 3 to 5), with
libsodium through ctypes, for the crash test and the serve benchmark.

`chorus submit --out` makes one envelope per process (about 40 ms of CPU with the debug binary);
the crash test needs 4,000 distinct envelopes and the benchmark 100,000, so this encoder follows
the format document instead: a random receipt and file key per envelope, stanzas sealed to the
given recipients, the header MAC, the two AEAD sections with their padding. `check()` opens a few
of them with `chorus review` so a drift from the format shows as a failure, not as a test that
stores envelopes nobody could open.

    envelopes.py --recipients STORE/chorus-recipients.signed --count N --out DIR [--story-bytes B]
"""
import argparse
import ctypes
import ctypes.util
import json
import os
import random
import struct
import sys
import time

_lib = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
if _lib.sodium_init() < 0:
    raise SystemExit("envelopes: sodium_init failed")
_u8p = ctypes.c_char_p
_lib.crypto_generichash_blake2b_salt_personal.argtypes = [
    ctypes.c_void_p, ctypes.c_size_t, _u8p, ctypes.c_ulonglong, ctypes.c_void_p, ctypes.c_size_t, _u8p, _u8p]
_lib.crypto_generichash.argtypes = [ctypes.c_void_p, ctypes.c_size_t, _u8p, ctypes.c_ulonglong, _u8p, ctypes.c_size_t]
_lib.crypto_kdf_derive_from_key.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint64, _u8p, _u8p]
_lib.crypto_box_seal.argtypes = [ctypes.c_void_p, _u8p, ctypes.c_ulonglong, _u8p]
_lib.crypto_aead_xchacha20poly1305_ietf_encrypt.argtypes = [
    ctypes.c_void_p, ctypes.c_void_p, _u8p, ctypes.c_ulonglong, _u8p, ctypes.c_ulonglong, ctypes.c_void_p, _u8p, _u8p]

ROLE_BYTE = {"reviewer": 1, "analyst": 2}


def ph(personal, data):
    out = ctypes.create_string_buffer(32)
    pers = personal.encode().ljust(16, b"\0")
    _lib.crypto_generichash_blake2b_salt_personal(out, 32, data, len(data), None, 0, b"\0" * 16, pers)
    return out.raw


def mac(data, key):
    out = ctypes.create_string_buffer(32)
    _lib.crypto_generichash(out, 32, data, len(data), key, len(key))
    return out.raw


def kdf(sub_id, master):
    out = ctypes.create_string_buffer(32)
    _lib.crypto_kdf_derive_from_key(out, 32, sub_id, b"CHORUSv1", master)
    return out.raw


def seal(message, public_key):
    out = ctypes.create_string_buffer(len(message) + 48)
    if _lib.crypto_box_seal(out, message, len(message), public_key) != 0:
        raise RuntimeError("crypto_box_seal failed")
    return out.raw


def aead(plain, ad, nonce, key):
    out = ctypes.create_string_buffer(len(plain) + 16)
    n = ctypes.c_ulonglong(0)
    _lib.crypto_aead_xchacha20poly1305_ietf_encrypt(out, ctypes.byref(n), plain, len(plain), ad, len(ad), None, nonce, key)
    assert n.value == len(plain) + 16
    return out.raw


def padme(x):
    if x < 2:
        return x
    e = x.bit_length() - 1
    s = e.bit_length()  # floor(log2(e)) + 1
    z = e - s
    m = (1 << z) - 1
    return (x + m) & ~m


def section(content, minimum):
    p = max(minimum, padme(4 + len(content)))
    return struct.pack(">I", len(content)) + content + b"\0" * (p - 4 - len(content))


def canonical(value):
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def read_recipients(signed_path):
    """The recipients (role, X25519 key) and the current questionnaire's digest of a signed file."""
    body = open(signed_path, "rb").read().split(b"\n", 1)[0]
    doc = json.loads(body)
    recipients = [(r["role"], bytes.fromhex(r["key"])) for r in doc["recipients"]]
    digest = ph("chorus-quest-1", canonical(doc["questionnaires"][0]).encode())
    return recipients, digest


ANSWERS = {"consent": ["counts-only"], "kind": ["verbal"], "perpetrator-role": ["family"], "reported": ["no"], "setting": ["home"]}


def envelope(recipients, digest, story, answers=ANSWERS, month=None):
    month = month or time.strftime("%Y-%m", time.gmtime())
    text = f"chorus-answers-2\narrival={month}\nquestionnaire={digest.hex()}\n"
    for field in sorted(answers):
        text += f"{field}={','.join(sorted(answers[field]))}\n"
    receipt = os.urandom(16)
    entry_id = ph("chorus-receipt-1", receipt)
    fk = os.urandom(32)
    mk, ak, sk = kdf(1, fk), kdf(2, fk), kdf(3, fk)
    a_plain = section(text.encode(), 256)
    s_plain = section(story, 4096)
    stanzas = []
    for role, key in recipients:
        s = bytes([ROLE_BYTE[role]]) + mk + ak + (sk if role == "reviewer" else b"\0" * 32)
        stanzas.append(seal(s, key))
    random.shuffle(stanzas)
    header = b"CHORUS-E\x02" + entry_id + bytes([len(stanzas)]) + struct.pack(">II", len(a_plain), len(s_plain)) + b"".join(stanzas)
    full = header + mac(header, mk)
    a = aead(a_plain, full, b"\0" * 23 + b"\x01", ak)
    s = aead(s_plain, full, b"\0" * 23 + b"\x02", sk)
    return entry_id.hex(), full + a + s


def make(signed_path, count, out_dir, story_bytes=64):
    """Writes `count` envelopes as out_dir/<id>.env; returns their paths."""
    recipients, digest = read_recipients(signed_path)
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for i in range(count):
        story = (f"story {i} " * (story_bytes // 8 + 1))[:story_bytes].encode()
        eid, data = envelope(recipients, digest, story)
        path = os.path.join(out_dir, eid + ".env")
        with open(path, "wb") as f:
            f.write(data)
        paths.append(path)
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recipients", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--story-bytes", type=int, default=64)
    o = ap.parse_args()
    t = time.monotonic()
    make(o.recipients, o.count, o.out, o.story_bytes)
    print(f"envelopes: {o.count} in {o.out} ({time.monotonic() - t:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
