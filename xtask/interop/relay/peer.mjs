// A js-waku relay node (stock @waku/sdk createRelayNode: noise + mplex only,
// plus a TCP transport on loopback) driven by a line protocol, for
// `cargo xtask interop relay`.
//
// stdout: LISTEN <ma>, PEER_CONNECT <peer>, SUBSCRIBE <peer> <topic>,
//         RECV {json}, SENT <hash>, REJECT <peer> <topic>, METADATA <peer> {json},
//         ERROR <text>
// stdin:  PUB <content-topic> <payload-hex> | PUBRAW <waku-message-hex> |
//         DIAL <ma> | METADATA_QUERY <peer> | QUIT
import { createEncoder } from "@waku/sdk";
import { createRelayNode } from "@waku/sdk/relay";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { peerIdFromString } from "@libp2p/peer-id";
import { proto_message } from "@waku/proto";
import { messageHashStr } from "@waku/message-hash";
import { TopicValidatorResult } from "@libp2p/interface";
import readline from "node:readline";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const clusterId = Number(opt("--cluster", "16"));
const shard = Number(opt("--shard", "32"));
const maxSeconds = Number(opt("--max-seconds", "120"));
const dial = opt("--dial", undefined);
const pubsubTopic = `/waku/2/rs/${clusterId}/${shard}`;

const out = (line) => process.stdout.write(line + "\n");
const hex = (b) => Buffer.from(b).toString("hex");

const node = await createRelayNode({
  networkConfig: { clusterId, shards: [shard] },
  libp2p: {
    transports: [tcp()],
    addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
    hideWebSocketInfo: true,
  },
});
await node.start();
const gossipsub = node.libp2p.services.pubsub;

// Report what the stock validator rejects (it stays the deciding validator).
const stock = gossipsub.topicValidators.get(pubsubTopic);
gossipsub.topicValidators.set(pubsubTopic, (peer, message) => {
  const result = stock(peer, message);
  if (result === TopicValidatorResult.Reject) {
    out(`REJECT ${peer.toString()} ${message.topic}`);
  }
  return result;
});

gossipsub.addEventListener("gossipsub:message", (evt) => {
  const { msg } = evt.detail;
  const m = proto_message.WakuMessage.decode(msg.data);
  const ts = m.timestamp === undefined ? null : m.timestamp.toString();
  out(
    "RECV " +
      JSON.stringify({
        pubsubTopic: msg.topic,
        contentTopic: m.contentTopic,
        payload_hex: hex(m.payload),
        timestamp: ts,
        meta_hex: m.meta === undefined ? null : hex(m.meta),
        version: m.version ?? 0,
        ephemeral: m.ephemeral ?? false,
        hash_hex: messageHashStr(msg.topic, m),
      }),
  );
});
gossipsub.addEventListener("subscription-change", (evt) => {
  for (const s of evt.detail.subscriptions) {
    if (s.subscribe) out(`SUBSCRIBE ${evt.detail.peerId.toString()} ${s.topic}`);
  }
});
node.libp2p.addEventListener("peer:connect", (evt) => {
  out(`PEER_CONNECT ${evt.detail.toString()}`);
});

const addr = node.libp2p.getMultiaddrs().find((a) => a.toString().includes("/tcp/"));
out(`LISTEN ${addr.toString()}`);

if (dial) {
  await node.libp2p.dial(multiaddr(dial)).catch((e) => out(`ERROR dial ${e}`));
}

async function handle(line) {
  const [cmd, a, b] = line.trim().split(/\s+/);
  try {
    if (cmd === "QUIT") {
      await shutdown();
    } else if (cmd === "PUB") {
      const encoder = createEncoder({ contentTopic: a, pubsubTopic });
      const message = { payload: Buffer.from(b ?? "", "hex"), timestamp: new Date() };
      const protoObj = await encoder.toProtoObj(message);
      const res = await node.relay.send(encoder, message);
      if (res.failures.length > 0) {
        out(`ERROR send ${JSON.stringify(res.failures)}`);
      } else {
        out(`SENT ${messageHashStr(pubsubTopic, protoObj)}`);
      }
    } else if (cmd === "PUBRAW") {
      // Bypasses the encoder (e.g. an empty payload); js does not validate
      // its own publishes.
      await gossipsub.publish(pubsubTopic, Buffer.from(a, "hex"));
      out(`SENT_RAW ${a}`);
    } else if (cmd === "DIAL") {
      await node.libp2p.dial(multiaddr(a));
    } else if (cmd === "METADATA_QUERY") {
      const res = await node.libp2p.services.metadata.query(peerIdFromString(a));
      if (res.error) {
        out(`ERROR metadata ${res.error}`);
      } else {
        out(
          `METADATA ${a} ` +
            JSON.stringify({ clusterId: res.shardInfo.clusterId, shards: res.shardInfo.shards }),
        );
      }
    } else if (cmd) {
      out(`ERROR unknown command ${cmd}`);
    }
  } catch (e) {
    out(`ERROR ${cmd} ${e}`);
  }
}

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  await node.stop().catch(() => {});
  process.exit(0);
}

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => void handle(line));
rl.on("close", () => void shutdown());
setTimeout(() => void shutdown(), maxSeconds * 1000);
