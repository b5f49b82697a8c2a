//! Known-answer transcripts produced by `@waku/noise` 0.0.3-a19e968 with fixed keys
//! (`vectors/waku-noise-kat.json`, written by `xtask/interop/noise/kat.mjs`; `cargo xtask
//! interop noise` checks the file still matches what the package produces). Each side is
//! replayed in process through the same driver as the `noise-peer` example: given one
//! side's flags and the other side's messages, ours must write exactly the same lines.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;
use status_noise::peer::{EXIT_EOF, EXIT_USAGE, Next, Peer, parse_args};

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn vectors() -> Value {
    serde_json::from_str(include_str!("vectors/waku-noise-kat.json")).unwrap()
}

fn replay(v: &Value, role: &str) {
    let name = v["name"].as_str().unwrap();
    let other_is_initiator = role == "responder";
    let mut input = Vec::new();
    for (i, m) in v["handshake_messages"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        if (i % 2 == 0) == other_is_initiator {
            input.push(format!("MSG {}", m.as_str().unwrap()));
        }
    }
    for t in v["transport"].as_array().unwrap() {
        if t["from"] == role {
            input.push(format!("SENDHEX {}", t["plaintext"].as_str().unwrap()));
        } else {
            input.push(format!("MSG {}", t["message"].as_str().unwrap()));
        }
    }
    let cfg = parse_args(&strings(&v[role])).unwrap();
    // No randomness may be drawn: every key and random value is fixed by the flags.
    let mut rng = StdRng::seed_from_u64(0);
    let mut out = Vec::new();
    let mut peer = Peer::start(cfg, &mut rng, &mut out).unwrap();
    for line in &input {
        assert_eq!(
            peer.line(line, &mut rng, &mut out),
            Next::Continue,
            "{name} {role}"
        );
    }
    assert_eq!(peer.eof(), 0);
    let expected = strings(&v[format!("{role}_lines")]);
    let msgs = |l: &[String]| -> Vec<String> {
        l.iter()
            .filter(|x| x.starts_with("MSG "))
            .cloned()
            .collect()
    };
    assert_eq!(msgs(&out), msgs(&expected), "{name} as {role}: messages");
    let (mut a, mut b) = (out.clone(), expected.clone());
    a.sort();
    b.sort();
    assert_eq!(a, b, "{name} as {role}: lines");
}

#[test]
fn every_vector_both_roles() {
    let v = vectors();
    let all = v["vectors"].as_array().unwrap();
    assert_eq!(all.len(), 6);
    for vector in all {
        replay(vector, "initiator");
        replay(vector, "responder");
    }
}

#[test]
fn sizes_match_the_reference_table() {
    let v = vectors();
    for vector in v["vectors"].as_array().unwrap() {
        let sizes: Vec<usize> = vector["handshake_messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().len() / 2)
            .collect();
        let expected: &[usize] = match vector["name"].as_str().unwrap() {
            "K1K1" => &[307, 323, 290],
            "XK1" => &[307, 323, 339],
            // message 3 carries a 248-byte payload: two padding blocks
            "XX" => &[307, 372, 587],
            "XX-zero-nametags-empty-payloads" => &[307, 372, 339],
            "XXpsk0" => &[323, 372, 339],
            "WakuPairing" => &[323, 339, 339],
            other => panic!("unexpected vector {other}"),
        };
        assert_eq!(sizes, expected);
    }
}

#[test]
fn tampered_handshake_message_is_fatal_and_bad_transport_is_dropped() {
    let v = vectors();
    let xx = &v["vectors"][2];
    let cfg = parse_args(&strings(&xx["responder"])).unwrap();
    let mut rng = StdRng::seed_from_u64(0);
    let mut out = Vec::new();
    let mut peer = Peer::start(cfg.clone(), &mut rng, &mut out).unwrap();
    let mut m1 = xx["handshake_messages"][0].as_str().unwrap().to_string();
    // Flip a byte of the nametag: the responder expects 000102...
    m1.replace_range(0..2, "ff");
    assert_eq!(
        peer.line(&format!("MSG {m1}"), &mut rng, &mut out),
        Next::Exit(2)
    );
    assert_eq!(out.last().unwrap(), "ERR nametag-mismatch");

    // After the handshake a tampered transport message is reported and dropped.
    let mut out = Vec::new();
    let mut peer = Peer::start(cfg, &mut rng, &mut out).unwrap();
    let msgs = xx["handshake_messages"].as_array().unwrap();
    for m in [&msgs[0], &msgs[2]] {
        peer.line(&format!("MSG {}", m.as_str().unwrap()), &mut rng, &mut out);
    }
    assert!(!peer.in_handshake());
    let t0 = xx["transport"][0]["message"].as_str().unwrap();
    let mut bad = t0.to_string();
    let last = bad.len() - 2;
    bad.replace_range(last.., "00");
    out.clear();
    assert_eq!(
        peer.line(&format!("MSG {bad}"), &mut rng, &mut out),
        Next::Continue
    );
    assert_eq!(out, ["ERR decrypt-failed"]);
    out.clear();
    peer.line(&format!("MSG {t0}"), &mut rng, &mut out);
    assert_eq!(out, ["PLAIN hello responder"]);
    // Replaying it: its nametag was consumed.
    out.clear();
    peer.line(&format!("MSG {t0}"), &mut rng, &mut out);
    assert_eq!(out, ["ERR unknown-nametag"]);
}

#[test]
fn flags_and_exit_codes() {
    let args = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    assert!(parse_args(&args("--pattern XX --role initiator --bogus 1")).is_err());
    assert!(parse_args(&args("--pattern XY --role initiator")).is_err());
    assert!(parse_args(&args("--pattern XX --role initiator --static-key 00")).is_err());
    assert!(parse_args(&args("--role initiator")).is_err());
    let mut rng = StdRng::seed_from_u64(3);
    let mut out = Vec::new();
    // K1K1 without --remote-static cannot start.
    let cfg = parse_args(&args("--pattern K1K1 --role initiator")).unwrap();
    assert_eq!(Peer::start(cfg, &mut rng, &mut out).err(), Some(EXIT_USAGE));
    let cfg = parse_args(&args("--pattern XX --role responder")).unwrap();
    let mut peer = Peer::start(cfg, &mut rng, &mut out).unwrap();
    assert_eq!(peer.line("# comment", &mut rng, &mut out), Next::Continue);
    assert_eq!(peer.line("SEND early", &mut rng, &mut out), Next::Continue);
    assert_eq!(out.last().unwrap(), "ERR handshake-not-finished");
    assert_eq!(peer.eof(), EXIT_EOF);
    assert_eq!(peer.line("QUIT", &mut rng, &mut out), Next::Exit(0));
    assert_eq!(peer.line("zz", &mut rng, &mut out), Next::Exit(2));
}
