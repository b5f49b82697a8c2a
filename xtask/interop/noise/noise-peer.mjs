// A @waku/noise peer speaking the noise-peer line protocol on stdin/stdout (same flags,
// lines and exit codes as `cargo run -p status-noise --example noise-peer`).
import readline from "node:readline";
import { HandshakeFailure, Peer, parseArgs, unhex } from "./peer-lib.mjs";

const EXIT_HANDSHAKE = 2, EXIT_EOF = 3, EXIT_USAGE = 64, EXIT_TIMEOUT = 124;

function usage(msg) {
  process.stderr.write(`noise-peer.mjs: ${msg}\n`);
  process.exit(EXIT_USAGE);
}

let o;
try {
  o = parseArgs(process.argv.slice(2));
} catch (e) {
  usage(String(e?.message ?? e));
}
const timeout = o.timeout;


const emit = (line) => process.stdout.write(line + "\n");
const fatal = (reason) => {
  emit(`ERR ${reason}`);
  process.exit(EXIT_HANDSHAKE);
};
setTimeout(() => {
  process.stderr.write("noise-peer.mjs: timeout\n");
  process.exit(EXIT_TIMEOUT);
}, timeout * 1000).unref();

let peer;
try {
  peer = new Peer(o, emit);
  peer.start();
} catch (e) {
  if (e instanceof HandshakeFailure) fatal(e.message);
  usage(String(e?.message ?? e));
}

// Keep the process alive for the timeout while input is open.
const keepAlive = setInterval(() => {}, 1 << 30);
const rl = readline.createInterface({ input: process.stdin, terminal: false });
rl.on("line", (raw) => {
  const line = raw.trim();
  const sp = line.indexOf(" ");
  const cmd = sp < 0 ? line : line.slice(0, sp);
  const rest = sp < 0 ? "" : line.slice(sp + 1);
  if (line === "" || line.startsWith("#") || ["INFO", "DONE", "PLAIN", "PLAINHEX", "ERR"].includes(cmd)) return;
  if (cmd === "QUIT") process.exit(0);
  if (cmd === "SEND") return peer.send(new TextEncoder().encode(rest));
  if (cmd === "SENDHEX") {
    if (!/^([0-9a-fA-F]{2})*$/.test(rest.trim())) return emit("ERR bad-hex");
    return peer.send(unhex(rest.trim()));
  }
  const h = cmd === "MSG" ? rest.trim() : line;
  if (!/^([0-9a-fA-F]{2})+$/.test(h)) {
    if (!peer.done) fatal("bad-hex");
    return emit("ERR bad-hex");
  }
  try {
    peer.receive(unhex(h));
  } catch (e) {
    if (e instanceof HandshakeFailure) fatal(e.message);
    if (!peer.done) fatal("handshake-failed");
    emit("ERR transport-failed");
  }
});
rl.on("close", () => {
  clearInterval(keepAlive);
  process.exit(peer.done ? 0 : EXIT_EOF);
});
