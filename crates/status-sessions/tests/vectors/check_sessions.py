#!/usr/bin/env python3
"""Independent check of status-sessions' known-answer vectors (sessions.json).

Written from DESIGN.md ("Cryptographic suite" rules 1, 9 and 10, "Wire and topics") and
the framing documented for the crate, with Python's `cryptography` package and hashlib
only; it does not read the Rust code. Usage: check_sessions.py sessions.json
"""

import hashlib
import json
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

P = 2**255 - 19
RAW = serialization.Encoding.Raw
RAW_PUB = serialization.PublicFormat.Raw


def hkdf(ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=bytes(32), info=info).derive(ikm)


def ed25519_public(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(RAW, RAW_PUB)


def x25519_secret_from_seed(seed: bytes) -> X25519PrivateKey:
    # Rule 1: the clamped first half of SHA-512(seed); X25519 clamps again (idempotent).
    h = bytearray(hashlib.sha512(seed).digest()[:32])
    h[0] &= 248
    h[31] &= 127
    h[31] |= 64
    return X25519PrivateKey.from_private_bytes(bytes(h))


def x25519_public_from_ed25519(pub: bytes) -> bytes:
    # Birational map u = (1 + y) / (1 - y) mod p.
    y = int.from_bytes(pub, "little") & ((1 << 255) - 1)
    u = (1 + y) * pow((1 - y) % P, P - 2, P) % P
    return u.to_bytes(32, "little")


def topic(doc: dict, name: str) -> str:
    return "/%s/%s/%s/%s" % (doc["app_name"], doc["app_version"], name, doc["encoding"])


def frame(data: bytes) -> bytes:
    """26 version 1, unsigned: flags (length-field size) || LE length || data || zero pad."""
    size = 1 if len(data) < 0x100 else 2 if len(data) < 0x10000 else 3
    raw = bytes([size]) + len(data).to_bytes(size, "little") + data
    return raw + bytes(256 - len(raw) % 256)


def main() -> int:
    doc = json.load(open(sys.argv[1]))
    checks = 0
    assert doc["partitions"] == 5000
    ids = []
    for ident in doc["identities"]:
        seed = bytes.fromhex(ident["seed"])
        pub = ed25519_public(seed)
        assert pub.hex() == ident["ed25519_public"], "ed25519 public"
        xpub = x25519_public_from_ed25519(pub)
        assert xpub.hex() == ident["x25519_public"], "x25519 public"
        sk = x25519_secret_from_seed(seed)
        assert sk.public_key().public_bytes(RAW, RAW_PUB) == xpub, "x25519 secret/public"
        part = int.from_bytes(hashlib.sha256(pub).digest()[:8], "big") % 5000
        assert part == ident["partition"], "partition"
        assert ident["partitioned_topic"] == topic(doc, "contact-discovery-%d" % part)
        assert ident["contact_code_topic"] == topic(doc, "contact-code-" + pub.hex())
        ids.append((seed, pub, xpub, sk))
        checks += 6

    for n in doc["negotiated"]:
        _, _, _, own_sk = ids[n["own"]]
        _, _, peer_x, peer_sk = ids[n["peer"]]
        dh = own_sk.exchange(X25519PublicKey.from_public_bytes(peer_x))
        # Both sides agree.
        _, _, own_x, _ = ids[n["own"]]
        assert dh == peer_sk.exchange(X25519PublicKey.from_public_bytes(own_x))
        assert dh.hex() == n["dh"], "negotiated dh"
        t = hkdf(dh, b"WAKU2-X3DH/1/negotiated", 64)
        assert n["topic"] == topic(doc, t[:16].hex()), "negotiated topic"
        assert n["key"] == t[32:64].hex(), "negotiated key"
        checks += 4

    for s in doc["seal"]:
        _, _, rx, rsk = ids[s["recipient"]]
        e = X25519PrivateKey.from_private_bytes(bytes.fromhex(s["ephemeral_secret"]))
        e_pub = e.public_key().public_bytes(RAW, RAW_PUB)
        assert e_pub.hex() == s["ephemeral_public"]
        shared = e.exchange(X25519PublicKey.from_public_bytes(rx))
        okm = hkdf(shared, b"WAKU2-X3DH/1/seal" + e_pub + rx, 44)
        data = bytes.fromhex(s["data"])
        expected = e_pub + AESGCM(okm[:32]).encrypt(okm[32:44], frame(data), None)
        assert expected.hex() == s["payload"], "sealed payload"
        # The recipient side: open with the identity's X25519 secret.
        payload = bytes.fromhex(s["payload"])
        shared2 = rsk.exchange(X25519PublicKey.from_public_bytes(payload[:32]))
        okm2 = hkdf(shared2, b"WAKU2-X3DH/1/seal" + payload[:32] + rx, 44)
        framed = AESGCM(okm2[:32]).decrypt(okm2[32:44], payload[32:], None)
        assert framed == frame(data)
        checks += 3

    for s in doc["symmetric"]:
        key = bytes.fromhex(s["key"])
        nonce = bytes.fromhex(s["nonce"])
        data = bytes.fromhex(s["data"])
        expected = AESGCM(key).encrypt(nonce, frame(data), None) + nonce
        assert expected.hex() == s["payload"], "symmetric payload"
        checks += 1

    print("check_sessions.py: %d checks passed, 0 failed" % checks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
