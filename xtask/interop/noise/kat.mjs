// Known-answer transcripts produced by @waku/noise with fixed keys: both parties run in
// memory through the same Peer as noise-peer.mjs. Prints JSON on stdout.
//
// Each vector lists both parties' noise-peer flags, so any implementation can replay a
// side: feed it the other side's messages and compare what it writes byte for byte.
import { hash as sha256 } from "@stablelib/sha256";
import { hex, parseArgs, Peer } from "./peer-lib.mjs";

const key = (label) => hex(sha256(new TextEncoder().encode(label)));
const pub = (label) => {
  const lines = [];
  const p = new Peer(parseArgs(["--pattern", "XX", "--role", "responder", "--static-key", key(label)]), (l) => lines.push(l));
  return p.s.publicKey;
};
const first = "000102030405060708090a0b0c0d0e0f";

function flags(pattern, role, extra) {
  const tag = role === "initiator" ? "i" : "r";
  return [
    "--pattern", pattern, "--role", role, "--echo", "off",
    "--static-key", key(`${pattern}/${tag}/static`),
    "--ephemeral-key", key(`${pattern}/${tag}/ephemeral`),
    ...extra,
  ];
}

function vector(name, pattern, extraI, extraR, transport) {
  return { name, pattern, initiator: flags(pattern, "initiator", extraI), responder: flags(pattern, "responder", extraR), transport };
}

const hexStr = (s) => hex(new TextEncoder().encode(s));
const defaultTransport = [
  ["initiator", hexStr("hello responder")],
  ["responder", hexStr("hello initiator")],
  ["responder", ""],
  ["initiator", hex(new Uint8Array(300).map((_, i) => i & 0xff))],
];

const specs = [
  vector("K1K1", "K1K1",
    ["--remote-static", hex(pub("K1K1/r/static")), "--first-nametag", first, "--prologue", "0a0b", "--hs-payload", "k1k1 one", "--hs-payload", "k1k1 three"],
    ["--remote-static", hex(pub("K1K1/i/static")), "--first-nametag", first, "--prologue", "0a0b", "--hs-payload", "k1k1 two"],
    defaultTransport),
  vector("XK1", "XK1",
    ["--remote-static", hex(pub("XK1/r/static")), "--first-nametag", first, "--hs-payload", "xk1 one", "--hs-payload-hex", "00ff"],
    ["--first-nametag", first, "--hs-payload", "xk1 two"],
    defaultTransport),
  vector("XX", "XX",
    ["--first-nametag", first, "--hs-payload", "xx one", "--hs-payload", "x".repeat(248)],
    ["--first-nametag", first, "--hs-payload", "xx two"],
    defaultTransport),
  vector("XX-zero-nametags-empty-payloads", "XX",
    ["--nametag-mode", "zero"], ["--nametag-mode", "zero"], defaultTransport),
  vector("XXpsk0", "XXpsk0",
    ["--psk", key("XXpsk0/psk"), "--first-nametag", first, "--hs-payload", "psk one"],
    ["--psk", key("XXpsk0/psk"), "--first-nametag", first],
    defaultTransport),
  vector("WakuPairing", "WakuPairing",
    ["--commit-random", key("WakuPairing/i/random"), "--qr-nametag", key("WakuPairing/qr-nametag").slice(0, 32)],
    ["--commit-random", key("WakuPairing/r/random"), "--qr-nametag", key("WakuPairing/qr-nametag").slice(0, 32),
     "--app-name", "status-rs", "--app-version", "1", "--shard-id", "32"],
    defaultTransport),
];

function run(spec) {
  const lines = { initiator: [], responder: [] };
  const messages = [];
  const peers = {};
  const queue = [];
  const emitFor = (role) => (line) => {
    lines[role].push(line);
    if (line.startsWith("MSG ")) queue.push([role, line.slice(4)]);
  };
  peers.responder = new Peer(parseArgs(spec.responder), emitFor("responder"));
  peers.responder.start();
  if (spec.pattern === "WakuPairing") {
    const qr = lines.responder.find((l) => l.startsWith("INFO qr ")).slice(8);
    spec.initiator.push("--qr", qr);
  }
  peers.initiator = new Peer(parseArgs(spec.initiator), emitFor("initiator"));
  peers.initiator.start();
  const deliver = () => {
    while (queue.length) {
      const [from, msg] = queue.shift();
      messages.push({ from, message: msg });
      peers[from === "initiator" ? "responder" : "initiator"].receive(Buffer.from(msg, "hex"));
    }
  };
  deliver();
  const handshake = messages.map((m) => m.message);
  const transport = [];
  for (const [from, pt] of spec.transport) {
    const before = messages.length;
    peers[from].send(Buffer.from(pt, "hex"));
    deliver();
    transport.push({ from, plaintext: pt, message: messages[before].message });
  }
  const info = (role) => Object.fromEntries(
    lines[role].filter((l) => l.startsWith("INFO ") || l.startsWith("DONE "))
      .filter((l) => !l.startsWith("INFO hs-payload"))
      .map((l) => (l.startsWith("DONE ") ? ["done", l.slice(5)] : [l.split(" ")[1], l.split(" ").slice(2).join(" ")])),
  );
  return {
    name: spec.name, pattern: spec.pattern,
    initiator: spec.initiator, responder: spec.responder,
    handshake_messages: handshake,
    initiator_info: info("initiator"), responder_info: info("responder"),
    initiator_lines: lines.initiator, responder_lines: lines.responder,
    transport,
  };
}

process.stdout.write(JSON.stringify({
  generator: "@waku/noise 0.0.3-a19e968 through xtask/interop/noise/kat.mjs",
  vectors: specs.map(run),
}, null, 1) + "\n");
