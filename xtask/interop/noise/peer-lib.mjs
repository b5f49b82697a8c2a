// The @waku/noise side of `cargo xtask interop noise`: one handshake party driven by
// bytes in, lines out. Used by noise-peer.mjs (stdin/stdout line protocol) and by
// kat.mjs (both parties in memory, fixed keys, transcript as JSON).
//
// Library console output goes to stderr so that stdout carries only protocol lines.
for (const k of ["log", "info", "debug"]) {
  console[k] = (...a) => process.stderr.write(a.map(String).join(" ") + "\n");
}

import {
  Handshake,
  NoiseHandshakePatterns,
  NoisePublicKey,
  PayloadV2,
  QR,
  X25519DHKey,
} from "@waku/noise";
import { hash as sha256 } from "@stablelib/sha256";
import { scalarMultBase } from "@stablelib/x25519";

// Fixed ephemeral keys: @waku/noise draws a fresh key for every `e` token and ignores
// the one passed to Handshake, so the draw itself is replaced while a fixed key is armed.
let armedEphemeral = null;
const originalGenerate = X25519DHKey.prototype.generateKeyPair;
X25519DHKey.prototype.generateKeyPair = function () {
  if (armedEphemeral) {
    const k = armedEphemeral;
    armedEphemeral = null;
    return k;
  }
  return originalGenerate.call(this);
};

export const hex = (b) => Buffer.from(b).toString("hex");
export const unhex = (s) => new Uint8Array(Buffer.from(s, "hex"));
export const keypair = (priv) => ({ privateKey: priv, publicKey: scalarMultBase(priv) });
const randomBytes = (n) => new Uint8Array(crypto.getRandomValues(new Uint8Array(n)));
const concat = (a, b) => {
  const r = new Uint8Array(a.length + b.length);
  r.set(a);
  r.set(b, a.length);
  return r;
};
const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

const PATTERNS = {
  K1K1: "Noise_K1K1_25519_ChaChaPoly_SHA256",
  XK1: "Noise_XK1_25519_ChaChaPoly_SHA256",
  XX: "Noise_XX_25519_ChaChaPoly_SHA256",
  XXpsk0: "Noise_XXpsk0_25519_ChaChaPoly_SHA256",
  WakuPairing: "Noise_WakuPairing_25519_ChaChaPoly_SHA256",
};

export class HandshakeFailure extends Error {}

/**
 * opts: pattern, role ("initiator"|"responder"), staticKey, ephemeralKey, remoteStatic,
 * psk, prologue (bytes), nametagMode ("derived"|"zero"), firstNametag, hsPayloads (array
 * of bytes), echo, appName, appVersion, shardId, commitRandom, qrNametag, qr.
 * emit(line) receives every output line.
 */
export class Peer {
  constructor(opts, emit) {
    this.o = opts;
    this.emit = emit;
    this.initiator = opts.role === "initiator";
    this.pattern = opts.pattern;
    this.hsPattern = NoiseHandshakePatterns[PATTERNS[opts.pattern]];
    if (!this.hsPattern) throw new Error("unknown pattern " + opts.pattern);
    this.s = keypair(opts.staticKey ?? randomBytes(32));
    this.fixedE = opts.ephemeralKey ? keypair(opts.ephemeralKey) : null;
    this.payloads = [...(opts.hsPayloads ?? [])];
    this.step = 0;
    this.result = null;
  }

  start() {
    const o = this.o;
    this.emit(`INFO pattern ${this.pattern}`);
    this.emit(`INFO static-public ${hex(this.s.publicKey)}`);
    let prologue = o.prologue ?? new Uint8Array();
    let preMessagePKs = [];
    let ephemeralKey;
    if (this.pattern === "WakuPairing") {
      this.random = o.commitRandom ?? randomBytes(32);
      this.myCommitment = sha256(concat(this.s.publicKey, this.random));
      if (this.initiator) {
        if (!o.qr || !o.qrNametag) throw new Error("--qr and --qr-nametag are required");
        this.qr = QR.from(o.qr);
        this.qrNametag = o.qrNametag;
      } else {
        ephemeralKey = this.fixedE ?? keypair(randomBytes(32));
        this.fixedE = null;
        this.qr = new QR(
          o.appName ?? "waku-noise-sessions",
          o.appVersion ?? "0.1",
          o.shardId ?? "10",
          ephemeralKey.publicKey,
          this.myCommitment,
        );
        this.qrNametag = o.qrNametag ?? randomBytes(16);
        this.emit(`INFO qr ${this.qr.toString()}`);
        this.emit(`INFO qr-nametag ${hex(this.qrNametag)}`);
      }
      const topic = `/${this.qr.applicationName}/${this.qr.applicationVersion}/wakunoise/1/sessions_shard-${this.qr.shardId}/proto`;
      this.emit(`INFO content-topic ${topic}`);
      prologue = this.qr.toByteArray();
      preMessagePKs = [NoisePublicKey.fromPublicKey(this.qr.ephemeralKey)];
      // Both sides' handshake payloads are the commitment and its opening.
      this.payloads = this.initiator ? [this.myCommitment, this.random] : [this.random];
    } else {
      const rs = o.remoteStatic;
      if (this.pattern === "K1K1") {
        if (!rs) throw new Error("--remote-static is required");
        const [i, r] = this.initiator ? [this.s.publicKey, rs] : [rs, this.s.publicKey];
        preMessagePKs = [NoisePublicKey.fromPublicKey(i), NoisePublicKey.fromPublicKey(r)];
      } else if (this.pattern === "XK1") {
        const r = this.initiator ? rs : this.s.publicKey;
        if (!r) throw new Error("--remote-static is required");
        preMessagePKs = [NoisePublicKey.fromPublicKey(r)];
      }
    }
    this.hs = new Handshake({
      hsPattern: this.hsPattern,
      ephemeralKey,
      staticKey: this.s,
      prologue,
      psk: o.psk ?? new Uint8Array(),
      preMessagePKs,
      initiator: this.initiator,
    });
    this.advance();
  }

  nametag() {
    if (this.pattern === "WakuPairing") {
      return this.step === 0 ? this.qrNametag : this.hs.hs.toMessageNametag();
    }
    if (this.o.nametagMode === "zero") return new Uint8Array(16);
    return this.step === 0 ? this.o.firstNametag ?? new Uint8Array(16) : this.hs.hs.toMessageNametag();
  }

  myTurn() {
    const n = this.hsPattern.messagePatterns.length;
    if (this.step >= n) return false;
    const fromInitiator = this.step % 2 === 0;
    return fromInitiator === this.initiator;
  }

  // Writes our handshake messages while it is our turn, then finishes if done.
  advance() {
    while (this.myTurn()) {
      armedEphemeral = this.fixedE;
      this.fixedE = null;
      const payload = this.payloads.shift() ?? new Uint8Array();
      const r = this.hs.stepHandshake({ transportMessage: payload, messageNametag: this.nametag() });
      armedEphemeral = null;
      this.step += 1;
      this.emit(`MSG ${hex(r.payload2.serialize())}`);
      if (this.pattern === "WakuPairing" && this.initiator && this.step === 1) {
        this.emit(`INFO authcode ${this.hs.genAuthcode()}`);
      }
    }
    if (this.step >= this.hsPattern.messagePatterns.length && !this.result) this.finish();
  }

  finish() {
    const r = this.hs.finalizeHandshake();
    this.result = r;
    this.emit(`INFO remote-static ${hex(r.rs)}`);
    this.emit(`INFO cs-outbound-key ${hex(r.getCSOutbound().getKey())}`);
    this.emit(`INFO cs-inbound-key ${hex(r.getCSInbound().getKey())}`);
    this.emit(`INFO nametag-secret-outbound ${hex(r.nametagsOutbound.secret)}`);
    this.emit(`INFO nametag-secret-inbound ${hex(r.nametagsInbound.secret)}`);
    this.emit(`DONE ${hex(r.h)}`);
  }

  get done() {
    return this.result !== null;
  }

  // A serialized PayloadV2 from the other side. Throws HandshakeFailure during the
  // handshake; after it, reports ERR and drops the message.
  receive(bytes) {
    if (!this.done) {
      let payload;
      try {
        const p = PayloadV2.deserialize(bytes);
        payload = this.hs.stepHandshake({ readPayloadV2: p, messageNametag: this.nametag() }).transportMessage;
      } catch (e) {
        throw new HandshakeFailure(e?.name === "MessageNametagError" ? "nametag-mismatch" : "handshake-failed");
      }
      this.step += 1;
      if (payload.length > 0) this.emit(`INFO hs-payload ${hex(payload)}`);
      if (this.pattern === "WakuPairing") {
        if (!this.initiator && this.step === 1) {
          this.peerCommitment = payload;
          this.emit(`INFO authcode ${this.hs.genAuthcode()}`);
        } else if (this.initiator && this.step === 2) {
          const opened = sha256(concat(this.hs.hs.rs, payload));
          if (!equal(opened, this.qr.committedStaticKey)) throw new HandshakeFailure("commitment-mismatch");
        } else if (!this.initiator && this.step === 3) {
          const opened = sha256(concat(this.hs.hs.rs, payload));
          if (!equal(opened, this.peerCommitment)) throw new HandshakeFailure("commitment-mismatch");
        }
      }
      this.advance();
      return;
    }
    let p;
    try {
      p = PayloadV2.deserialize(bytes);
    } catch {
      this.emit("ERR bad-payload");
      return;
    }
    const before = this.result.nametagsInbound.counter;
    let pt;
    try {
      pt = this.result.readMessage(p);
    } catch {
      this.emit("ERR unknown-nametag");
      return;
    }
    // readMessage returns an empty array on failure (Q5): the window did not move.
    if (this.result.nametagsInbound.counter === before) {
      this.emit("ERR decrypt-failed");
      return;
    }
    const text = Buffer.from(pt).toString("utf8");
    const isText = Buffer.from(text, "utf8").equals(Buffer.from(pt)) && !/[\r\n]/.test(text);
    this.emit(isText ? `PLAIN ${text}` : `PLAINHEX ${hex(pt)}`);
    if (this.o.echo !== false && !text.startsWith("echo:")) {
      this.send(concat(new TextEncoder().encode("echo:"), pt));
    }
  }

  send(pt) {
    if (!this.done) {
      this.emit("ERR handshake-not-finished");
      return;
    }
    this.emit(`MSG ${hex(this.result.writeMessage(pt).serialize())}`);
  }
}

export class UsageError extends Error {}
const usage = (msg) => {
  throw new UsageError(msg);
};

/** Parses noise-peer flags into Peer options; throws UsageError. */
function hexN(flag, v, n) {
  if (!/^([0-9a-fA-F]{2})*$/.test(v) || (n && v.length !== 2 * n)) usage(`${flag} needs ${n ?? "some"} bytes of hex`);
  return unhex(v);
}

export function parseArgs(argv) {
  const o = { echo: true, hsPayloads: [], nametagMode: "derived" };
  let timeout = 120;

for (let i = 0; i < argv.length; i++) {
  const flag = argv[i];
  const val = () => {
    if (i + 1 >= argv.length) usage(`${flag} needs a value`);
    return argv[++i];
  };
  switch (flag) {
    case "--pattern": o.pattern = val(); break;
    case "--role": o.role = val(); if (!["initiator", "responder"].includes(o.role)) usage("bad role"); break;
    case "--static-key": o.staticKey = hexN(flag, val(), 32); break;
    case "--ephemeral-key": o.ephemeralKey = hexN(flag, val(), 32); break;
    case "--remote-static": o.remoteStatic = hexN(flag, val(), 32); break;
    case "--psk": o.psk = hexN(flag, val(), 32); break;
    case "--prologue": o.prologue = hexN(flag, val()); break;
    case "--nametag-mode": o.nametagMode = val(); if (!["derived", "zero"].includes(o.nametagMode)) usage("bad nametag mode"); break;
    case "--first-nametag": o.firstNametag = hexN(flag, val(), 16); break;
    case "--hs-payload": o.hsPayloads.push(new TextEncoder().encode(val())); break;
    case "--hs-payload-hex": o.hsPayloads.push(hexN(flag, val())); break;
    case "--echo": { const v = val(); if (!["on", "off"].includes(v)) usage("bad --echo"); o.echo = v === "on"; break; }
    case "--timeout": timeout = Number(val()); if (!Number.isInteger(timeout)) usage("bad --timeout"); break;
    case "--app-name": o.appName = val(); break;
    case "--app-version": o.appVersion = val(); break;
    case "--shard-id": o.shardId = val(); break;
    case "--commit-random": o.commitRandom = hexN(flag, val(), 32); break;
    case "--qr-nametag": o.qrNametag = hexN(flag, val(), 16); break;
    case "--qr": o.qr = val(); break;
    default: usage(`unknown flag ${flag}`);
  }
}
  if (!o.pattern || !o.role) usage("--pattern and --role are required");
  if (!["K1K1", "XK1", "XX", "XXpsk0", "WakuPairing"].includes(o.pattern)) usage("unknown pattern");
  o.timeout = timeout;
  return o;
}
