#!/usr/bin/env python3
"""Independent check of status-x3dh's known-answer vectors (x3dh.json).

Written from DESIGN.md ("Cryptographic suite", exact rules 1-7) and the Signal X3DH and
Double Ratchet specifications, not from the Rust code. It uses only Python's standard
library and the `cryptography` package. Every value of the vectors is re-derived from
the fixed secret keys they list; the conversation is replayed in the listed order with a
Double Ratchet written here, including out-of-order delivery with skipped message keys.

Usage: check_x3dh.py x3dh.json
"""

import hashlib
import json
import struct
import sys

from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

LABEL_BUNDLE = b"WAKU2-X3DH/1/bundle"
INFO_X3DH = b"WAKU2-X3DH/1/x3dh"
INFO_ROOT = b"WAKU2-X3DH/1/root"
INFO_MESSAGE = b"WAKU2-X3DH/1/message"
ZERO32 = bytes(32)
MAX_SKIP = 1000
MAX_STORED = 2000

P = 2**255 - 19

checks = 0


def ok(cond, what):
    global checks
    if not cond:
        raise SystemExit(f"FAIL: {what}")
    checks += 1


def eq(got, want_hex, what):
    ok(got.hex() == want_hex, f"{what}: got {got.hex()}, want {want_hex}")


def unhex(s):
    return bytes.fromhex(s)


def hkdf(salt, ikm, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def hmac_sha256(key, data):
    h = hmac.HMAC(key, hashes.SHA256())
    h.update(data)
    return h.finalize()


def raw_public(private_key):
    return private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def x25519(secret, public):
    out = X25519PrivateKey.from_private_bytes(secret).exchange(
        X25519PublicKey.from_public_bytes(public)
    )
    ok(out != ZERO32, "all-zero DH output")  # rule 3
    return out


def x25519_public(secret):
    return raw_public(X25519PrivateKey.from_private_bytes(secret))


def edwards_to_montgomery(ed_public):
    """u = (1 + y) / (1 - y) mod p, the birational map of the Ed25519 point."""
    y = int.from_bytes(ed_public, "little") & ((1 << 255) - 1)
    u = (1 + y) * pow(1 - y, P - 2, P) % P
    return u.to_bytes(32, "little")


def clamp(k):
    k = bytearray(k)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    return bytes(k)


# --- protobuf encoding (proto3, fields in number order, defaults omitted) ---


def varint(v):
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def field_bytes(number, value):
    return varint(number << 3 | 2) + varint(len(value)) + value


def field_varint(number, value):
    return b"" if value == 0 else varint(number << 3) + varint(value)


def encode_bundle(identity, entries, signature, timestamp):
    out = field_bytes(1, identity) if identity else b""
    for e in sorted(entries, key=lambda e: e["installation_id"].encode()):
        spk = (
            field_bytes(1, unhex(e["signed_pre_key"]))
            + field_varint(2, e["version"])
            + field_varint(3, e["protocol_version"])
        )
        entry = field_bytes(1, e["installation_id"].encode()) + field_bytes(2, spk)
        out += field_bytes(2, entry)
    out += field_bytes(4, signature)
    out += field_varint(5, timestamp)
    return out


def encode_message(x3dh, ratchet_pub, n, pn, bundle_id, payload):
    out = b""
    if x3dh is not None:
        out += field_bytes(1, field_bytes(1, x3dh[0]) + field_bytes(4, x3dh[1]))
    dr = field_bytes(1, ratchet_pub) + field_varint(2, n) + field_varint(3, pn) + field_bytes(4, bundle_id)
    out += field_bytes(2, dr)
    out += field_bytes(3, payload)
    return out


# --- identities and bundles ---


def check_party(p):
    seed = unhex(p["identity_seed"])
    ed = Ed25519PrivateKey.from_private_bytes(seed)
    eq(raw_public(ed), p["identity_public"], "Ed25519 public key")
    # Rule 1: the X25519 secret is the clamped first half of SHA-512(seed).
    x_secret = clamp(hashlib.sha512(seed).digest()[:32])
    eq(x_secret, p["identity_x25519_secret"], "identity X25519 secret")
    eq(x25519_public(x_secret), p["identity_x25519_public"], "identity X25519 public")
    eq(edwards_to_montgomery(raw_public(ed)), p["identity_x25519_public"], "birational map")
    eq(x25519_public(unhex(p["signed_pre_key_secret"])), p["signed_pre_key_public"], "SPK public")
    return ed, x_secret


def check_bundle(b, ed_private, party):
    ids = [e["installation_id"].encode() for e in b["entries"]]
    ok(len(ids) == len(set(ids)) and len(ids) > 0, "bundle ids unique and non-empty")
    material = bytearray(LABEL_BUNDLE)
    for e in sorted(b["entries"], key=lambda e: e["installation_id"].encode()):
        iid = e["installation_id"].encode()
        key = unhex(e["signed_pre_key"])
        ok(len(key) == 32 and len(iid) <= 65535, "entry sizes")
        ok(e["protocol_version"] == 1, "suite 1")
        material += struct.pack(">H", len(iid)) + iid + key + struct.pack(">I", e["version"])
    material += struct.pack(">q", b["timestamp_ns"])
    eq(bytes(material), b["signed_material"], "bundle signed material")
    signature = ed_private.sign(bytes(material))  # Ed25519 is deterministic
    eq(signature, b["signature"], "bundle signature")
    ed_private.public_key().verify(signature, bytes(material))
    eq(raw_public(ed_private), b["identity"], "bundle identity")
    own = [e for e in b["entries"] if e["installation_id"] == party["installation_id"]]
    ok(len(own) == 1, "own installation listed")
    eq(unhex(own[0]["signed_pre_key"]), party["signed_pre_key_public"], "own SPK in bundle")
    ok(own[0]["version"] == party["signed_pre_key_version"], "own SPK version")
    eq(encode_bundle(unhex(b["identity"]), b["entries"], signature, b["timestamp_ns"]), b["encoded"], "bundle protobuf")


# --- Double Ratchet (DESIGN.md, Signal Double Ratchet sections 3 and 5.2) ---


def kdf_rk(rk, dh):
    out = hkdf(rk, dh, INFO_ROOT, 64)
    return out[:32], out[32:]


def kdf_ck(ck):
    return hmac_sha256(ck, b"\x01"), hmac_sha256(ck, b"\x02")


def message_keys(mk):
    out = hkdf(ZERO32, mk, INFO_MESSAGE, 44)
    return out[:32], out[32:]


def header_bytes(ratchet_pub, pn, n):
    return ratchet_pub + struct.pack(">I", pn) + struct.pack(">I", n)


class Party:
    def __init__(self, ad, bundle_id):
        self.ad = ad
        self.bundle_id = bundle_id
        self.rk = None
        self.dhs = None  # (secret, public)
        self.dhr = None
        self.cks = None
        self.ns = 0
        self.pn = 0
        self.ckr = None
        self.nr = 0
        self.skipped = {}  # (pub, n) -> mk, insertion ordered
        self.x3dh = None

    def store(self, pub, n, mk):
        if len(self.skipped) >= MAX_STORED:
            del self.skipped[next(iter(self.skipped))]
        self.skipped[(pub, n)] = mk

    def send(self, plaintext, new_ratchet_secret):
        if self.cks is None:
            # First send after a DH step from the peer: a fresh ratchet key pair.
            ok(new_ratchet_secret is not None and self.dhr is not None, "ratchet secret given")
            pub = x25519_public(new_ratchet_secret)
            self.dhs = (new_ratchet_secret, pub)
            dh = x25519(new_ratchet_secret, self.dhr)
            step = {"rk_in": self.rk, "dh": dh}
            self.rk, self.cks = kdf_rk(self.rk, dh)
            step["rk_out"], step["ck"] = self.rk, self.cks
            self.ns = 0
        else:
            ok(new_ratchet_secret is None, "no ratchet step expected")
            step = None
        ok(self.ns < 0xFFFFFFFF, "counter")
        ck = self.cks
        mk, self.cks = kdf_ck(ck)
        header = header_bytes(self.dhs[1], self.pn, self.ns)
        key, nonce = message_keys(mk)
        aad = self.ad + header
        payload = AESGCM(key).encrypt(nonce, plaintext, aad)
        n = self.ns
        self.ns += 1
        return {
            "step": step, "ck": ck, "mk": mk, "next_ck": self.cks, "key": key, "nonce": nonce,
            "header": header, "aad": aad, "payload": payload, "n": n, "pn": self.pn,
            "pub": self.dhs[1],
        }

    def receive(self, pub, pn, n, payload):
        ok(len(payload) >= 16, "payload holds a tag")
        header = header_bytes(pub, pn, n)
        aad = self.ad + header
        if (pub, n) in self.skipped:
            mk = self.skipped[(pub, n)]
            key, nonce = message_keys(mk)
            pt = AESGCM(key).decrypt(nonce, payload, aad)
            del self.skipped[(pub, n)]
            return pt, False
        pending = []
        rk, ckr, nr = self.rk, self.ckr, self.nr
        stepped = pub != self.dhr or self.ckr is None
        if stepped:
            if ckr is not None:
                ok(pn - nr <= MAX_SKIP, "gap in previous chain")
                while nr < pn:
                    mk, ckr = kdf_ck(ckr)
                    pending.append((self.dhr, nr, mk))
                    nr += 1
            dh = x25519(self.dhs[0], pub)
            rk, ckr = kdf_rk(rk, dh)
            nr = 0
        ok(n >= nr, "not a replay")
        ok(n - nr <= MAX_SKIP, "gap in chain")
        while nr < n:
            mk, ckr = kdf_ck(ckr)
            pending.append((pub, nr, mk))
            nr += 1
        mk, ckr = kdf_ck(ckr)
        key, nonce = message_keys(mk)
        pt = AESGCM(key).decrypt(nonce, payload, aad)  # raises on forgery: nothing committed
        # Commit only now.
        self.rk, self.ckr, self.nr = rk, ckr, nr + 1
        for item in pending:
            self.store(*item)
        if stepped:
            self.dhr = pub
            if self.cks is not None:
                self.pn = self.ns
            self.cks = None  # the next send makes a new ratchet key pair (rule 6)
        return pt, stepped


def main(path):
    with open(path) as f:
        v = json.load(f)
    ok(v["suite"] == 1, "suite")
    alice, bob = v["alice"], v["bob"]
    a_ed, a_x = check_party(alice)
    b_ed, b_x = check_party(bob)
    check_bundle(v["bundles"]["alice"], a_ed, alice)
    check_bundle(v["bundles"]["bob"], b_ed, bob)

    # X3DH: Alice initiates with Bob's bundle.
    x = v["x3dh"]
    ek = unhex(x["ephemeral_secret"])
    eq(x25519_public(ek), x["ephemeral_public"], "EK_A public")
    spk_b = unhex(bob["signed_pre_key_public"])
    dh1 = x25519(a_x, spk_b)
    dh2 = x25519(ek, unhex(bob["identity_x25519_public"]))
    dh3 = x25519(ek, spk_b)
    eq(dh1, x["dh1"], "DH1")
    eq(dh2, x["dh2"], "DH2")
    eq(dh3, x["dh3"], "DH3")
    # Bob's side of the same values.
    spk_b_secret = unhex(bob["signed_pre_key_secret"])
    ek_pub = unhex(x["ephemeral_public"])
    eq(x25519(spk_b_secret, unhex(alice["identity_x25519_public"])), x["dh1"], "DH1 (responder)")
    eq(x25519(b_x, ek_pub), x["dh2"], "DH2 (responder)")
    eq(x25519(spk_b_secret, ek_pub), x["dh3"], "DH3 (responder)")
    ikm = b"\xff" * 32 + dh1 + dh2 + dh3
    eq(ikm, x["ikm"], "X3DH ikm")
    sk = hkdf(ZERO32, ikm, INFO_X3DH, 32)
    eq(sk, x["sk"], "SK")
    ad = unhex(alice["identity_public"]) + unhex(bob["identity_public"])
    eq(ad, x["ad"], "AD")

    a = Party(ad, spk_b)
    a0 = unhex(x["initiator_first_ratchet_secret"])
    ok(a0 != ek, "first ratchet key is not the ephemeral key")  # rule 6
    a.dhs = (a0, x25519_public(a0))
    eq(a.dhs[1], x["initiator_first_ratchet_public"], "initiator first ratchet public")
    a.dhr = spk_b
    dh = x25519(a0, spk_b)
    eq(dh, x["initial_dh"], "initial DH")
    a.rk, a.cks = kdf_rk(sk, dh)
    eq(a.rk, x["initial_root_key"], "initial root key")
    eq(a.cks, x["initial_sending_chain_key"], "initial sending chain key")
    a.x3dh = (ek_pub, spk_b)

    b = Party(ad, spk_b)
    b.rk = sk
    b.dhs = (spk_b_secret, spk_b)  # the responder's first ratchet key is its signed prekey
    parties = {"alice": a, "bob": b}

    messages = v["messages"]
    deliveries = iter(v["deliveries"])
    received = set()
    for step in v["script"]:
        if "send" in step:
            m = messages[step["send"]]
            sender = parties[m["sender"]]
            rs = m.get("ratchet_step")
            out = sender.send(unhex(m["plaintext"]), unhex(rs["ratchet_secret"]) if rs else None)
            what = f"message {m['index']}"
            if rs:
                ok(out["step"] is not None, f"{what}: ratchet step")
                eq(out["pub"], rs["ratchet_public"], f"{what} ratchet public")
                eq(sender.dhr, rs["peer_ratchet_public"], f"{what} peer ratchet")
                eq(out["step"]["dh"], rs["dh"], f"{what} ratchet DH")
                eq(out["step"]["rk_in"], rs["root_key_in"], f"{what} root key in")
                eq(out["step"]["rk_out"], rs["root_key_out"], f"{what} root key out")
                eq(out["step"]["ck"], rs["chain_key"], f"{what} new chain key")
            eq(out["pub"], m["ratchet_public"], f"{what} ratchet key")
            ok(out["n"] == m["n"] and out["pn"] == m["pn"], f"{what} n/pn")
            eq(sender.bundle_id, m["bundle_id"], f"{what} bundle id")
            for k_out, k_json in [
                ("ck", "chain_key"), ("mk", "message_key"), ("next_ck", "next_chain_key"),
                ("key", "aes_key"), ("nonce", "nonce"), ("header", "header"),
                ("aad", "associated_data"), ("payload", "payload"),
            ]:
                eq(out[k_out], m[k_json], f"{what} {k_json}")
            x3dh = sender.x3dh
            if x3dh is None:
                ok(m["x3dh_header"] is None, f"{what}: no X3DH header once confirmed")
            else:
                eq(x3dh[0], m["x3dh_header"]["ephemeral_key"], f"{what} X3DH ephemeral")
                eq(x3dh[1], m["x3dh_header"]["signed_pre_key"], f"{what} X3DH prekey")
            eq(encode_message(x3dh, out["pub"], out["n"], out["pn"], sender.bundle_id, out["payload"]), m["encoded"], f"{what} protobuf")
        else:
            d = next(deliveries)
            ok(d["message"] == step["deliver"], "delivery order")
            m = messages[d["message"]]
            receiver = parties[d["receiver"]]
            ok(d["receiver"] != m["sender"], "delivered to the other party")
            rk_before = receiver.rk
            pt, stepped = receiver.receive(unhex(m["ratchet_public"]), m["pn"], m["n"], unhex(m["payload"]))
            eq(pt, m["plaintext"], f"delivery of {d['message']}: plaintext")
            ok(d["message"] not in received, "delivered once")
            received.add(d["message"])
            # Replays are rejected.
            replay_accepted = True
            try:
                receiver.receive(unhex(m["ratchet_public"]), m["pn"], m["n"], unhex(m["payload"]))
            except (SystemExit, Exception):
                replay_accepted = False
            ok(not replay_accepted, f"replay of {d['message']} rejected")
            # Any authenticated message confirms the session for the initiator.
            receiver.x3dh = None
            ok(len(receiver.skipped) == d["skipped_keys_after"], f"delivery of {d['message']}: skipped keys")
            rs = d.get("ratchet_step")
            ok(stepped == (rs is not None), f"delivery of {d['message']}: DH step")
            if rs:
                eq(rk_before, rs["root_key_in"], "receive root key in")
                eq(receiver.rk, rs["root_key_out"], "receive root key out")
                eq(receiver.ckr, rs["receiving_chain_key_after"], "receiving chain key")
    ok(len(received) == len(messages), "every message delivered")
    print(f"check_x3dh.py: {checks} checks passed ({len(messages)} messages)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "x3dh.json")
