//! `noise-peer`: one side of a Waku Noise handshake and session, driven by a line
//! protocol on stdin/stdout so that any other implementation can be tested against this
//! one live. See the crate docs ("The `noise-peer` program") for flags and lines.
//!
//! Exit codes: 0 done (`QUIT` or end of input after the handshake), 2 handshake error,
//! 3 end of input during the handshake, 64 usage error, 124 timeout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, Write};
use std::process::exit;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use status_noise::{
    HandshakeBuilder, HandshakeState, Keypair, MessageNametag, PairingInitiator, PairingParams,
    PairingResponder, Pattern, PayloadV2, Psk, Role, TransportSession,
};

const EXIT_HANDSHAKE: i32 = 2;
const EXIT_EOF: i32 = 3;
const EXIT_USAGE: i32 = 64;
const EXIT_TIMEOUT: i32 = 124;

#[derive(Default)]
struct Args {
    pattern: Option<Pattern>,
    role: Option<Role>,
    static_key: Option<[u8; 32]>,
    ephemeral_key: Option<[u8; 32]>,
    remote_static: Option<[u8; 32]>,
    psk: Option<[u8; 32]>,
    prologue: Vec<u8>,
    zero_nametags: bool,
    first_nametag: [u8; 16],
    hs_payloads: Vec<Vec<u8>>,
    echo: bool,
    timeout: u64,
    app_name: Option<String>,
    app_version: Option<String>,
    shard_id: Option<String>,
    commit_random: Option<[u8; 32]>,
    qr_nametag: Option<[u8; 16]>,
    qr: Option<String>,
}

fn usage(msg: &str) -> ! {
    eprintln!("noise-peer: {msg}");
    eprintln!(
        "usage: noise-peer --pattern K1K1|XK1|XX|XXpsk0|WakuPairing --role initiator|responder \
         [--static-key HEX32] [--ephemeral-key HEX32] [--remote-static HEX32] [--psk HEX32] \
         [--prologue HEX] [--nametag-mode derived|zero] [--first-nametag HEX16] \
         [--hs-payload UTF8 | --hs-payload-hex HEX]... [--echo on|off] [--timeout SECONDS] \
         [--app-name S] [--app-version S] [--shard-id S] [--commit-random HEX32] \
         [--qr-nametag HEX16] [--qr STRING]"
    );
    exit(EXIT_USAGE)
}

fn hex_n<const N: usize>(flag: &str, v: &str) -> [u8; N] {
    match hex::decode(v)
        .ok()
        .and_then(|b| <[u8; N]>::try_from(b).ok())
    {
        Some(a) => a,
        None => usage(&format!("{flag} needs {N} bytes of hex")),
    }
}

fn parse_args() -> Args {
    let mut a = Args {
        echo: true,
        timeout: 120,
        ..Args::default()
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--pattern" => {
                let v = val();
                a.pattern = Some(
                    Pattern::from_name(&v)
                        .unwrap_or_else(|| usage(&format!("unknown pattern {v}"))),
                );
            }
            "--role" => {
                a.role = Some(match val().as_str() {
                    "initiator" => Role::Initiator,
                    "responder" => Role::Responder,
                    v => usage(&format!("unknown role {v}")),
                })
            }
            "--static-key" => a.static_key = Some(hex_n(&flag, &val())),
            "--ephemeral-key" => a.ephemeral_key = Some(hex_n(&flag, &val())),
            "--remote-static" => a.remote_static = Some(hex_n(&flag, &val())),
            "--psk" => a.psk = Some(hex_n(&flag, &val())),
            "--prologue" => {
                a.prologue = hex::decode(val()).unwrap_or_else(|_| usage("--prologue needs hex"))
            }
            "--nametag-mode" => {
                a.zero_nametags = match val().as_str() {
                    "derived" => false,
                    "zero" => true,
                    v => usage(&format!("unknown nametag mode {v}")),
                }
            }
            "--first-nametag" => a.first_nametag = hex_n(&flag, &val()),
            "--hs-payload" => a.hs_payloads.push(val().into_bytes()),
            "--hs-payload-hex" => a
                .hs_payloads
                .push(hex::decode(val()).unwrap_or_else(|_| usage("--hs-payload-hex needs hex"))),
            "--echo" => {
                a.echo = match val().as_str() {
                    "on" => true,
                    "off" => false,
                    v => usage(&format!("--echo takes on|off, not {v}")),
                }
            }
            "--timeout" => {
                a.timeout = val()
                    .parse()
                    .unwrap_or_else(|_| usage("--timeout needs whole seconds"))
            }
            "--app-name" => a.app_name = Some(val()),
            "--app-version" => a.app_version = Some(val()),
            "--shard-id" => a.shard_id = Some(val()),
            "--commit-random" => a.commit_random = Some(hex_n(&flag, &val())),
            "--qr-nametag" => a.qr_nametag = Some(hex_n(&flag, &val())),
            "--qr" => a.qr = Some(val()),
            other => usage(&format!("unknown flag {other}")),
        }
    }
    if a.pattern.is_none() {
        usage("--pattern is required");
    }
    if a.role.is_none() {
        usage("--role is required");
    }
    a
}

struct Out(std::io::Stdout);

impl Out {
    fn line(&mut self, s: &str) {
        let mut l = self.0.lock();
        let _ = writeln!(l, "{s}");
        let _ = l.flush();
    }
    fn msg(&mut self, p: &PayloadV2) {
        let bytes = p.encode().expect("our own messages encode");
        self.line(&format!("MSG {}", hex::encode(bytes)));
    }
    fn info(&mut self, key: &str, value: &str) {
        self.line(&format!("INFO {key} {value}"));
    }
}

enum Input {
    Msg(PayloadV2),
    Send(Vec<u8>),
    Quit,
}

/// Reads stdin lines on a thread; the main loop waits with the deadline.
struct Lines {
    rx: mpsc::Receiver<Option<String>>,
    deadline: Instant,
}

impl Lines {
    fn start(timeout: Duration) -> Self {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                match line {
                    Ok(l) => {
                        if tx.send(Some(l)).is_err() {
                            return;
                        }
                    }
                    Err(_) => break,
                }
            }
            let _ = tx.send(None);
        });
        Self {
            rx,
            deadline: Instant::now() + timeout,
        }
    }

    /// The next meaningful input; `None` at end of input. Exits 124 at the deadline.
    fn next(&mut self, out: &mut Out, in_handshake: bool) -> Option<Input> {
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            let line = match self.rx.recv_timeout(left) {
                Ok(Some(l)) => l,
                Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => return None,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    eprintln!("noise-peer: timeout");
                    exit(EXIT_TIMEOUT)
                }
            };
            let line = line.trim();
            let (cmd, rest) = line.split_once(' ').unwrap_or((line, ""));
            match cmd {
                "" => continue,
                c if c.starts_with('#') => continue,
                "INFO" | "DONE" | "PLAIN" | "PLAINHEX" | "ERR" => continue,
                "QUIT" => return Some(Input::Quit),
                "SEND" => return Some(Input::Send(rest.as_bytes().to_vec())),
                "SENDHEX" => match hex::decode(rest.trim()) {
                    Ok(b) => return Some(Input::Send(b)),
                    Err(_) => out.line("ERR bad-hex"),
                },
                _ => {
                    let hex_text = if cmd == "MSG" { rest.trim() } else { line };
                    let decoded = hex::decode(hex_text)
                        .map_err(|_| "bad-hex")
                        .and_then(|b| PayloadV2::decode(&b).map_err(|_| "bad-payload"));
                    match decoded {
                        Ok(p) => return Some(Input::Msg(p)),
                        Err(reason) if in_handshake => fail(out, reason),
                        Err(reason) => out.line(&format!("ERR {reason}")),
                    }
                }
            }
        }
    }
}

fn fail(out: &mut Out, reason: &str) -> ! {
    out.line(&format!("ERR {reason}"));
    exit(EXIT_HANDSHAKE)
}

fn handshake_reason(e: &status_noise::HandshakeError) -> &'static str {
    use status_noise::HandshakeError as E;
    match e {
        E::NametagMismatch => "nametag-mismatch",
        E::WrongProtocolId { .. } => "wrong-protocol-id",
        E::Decrypt => "decrypt-failed",
        E::Padding => "bad-padding",
        E::KeyMismatch | E::TooShort => "bad-keys",
        E::WeakKey => "weak-key",
        _ => "handshake-failed",
    }
}

/// Waits for the next handshake message; SEND before the end is refused.
fn next_handshake_msg(lines: &mut Lines, out: &mut Out) -> PayloadV2 {
    loop {
        match lines.next(out, true) {
            None => {
                eprintln!("noise-peer: end of input during the handshake");
                exit(EXIT_EOF)
            }
            Some(Input::Quit) => exit(0),
            Some(Input::Send(_)) => out.line("ERR handshake-not-finished"),
            Some(Input::Msg(p)) => return p,
        }
    }
}

fn payload_info(out: &mut Out, payload: &[u8]) {
    if !payload.is_empty() {
        out.info("hs-payload", &hex::encode(payload));
    }
}

/// Runs a K1K1/XK1/XX/XXpsk0 handshake.
fn run_handshake(a: &Args, me: &Keypair, lines: &mut Lines, out: &mut Out) -> TransportSession {
    let (pattern, role) = (a.pattern.unwrap(), a.role.unwrap());
    let mut b = HandshakeBuilder::new(pattern, role)
        .prologue(&a.prologue)
        .local_static(me.clone());
    if let Some(e) = a.ephemeral_key {
        b = b.local_ephemeral(Keypair::from_secret_bytes(e));
    }
    if let Some(rs) = a.remote_static {
        b = b.remote_static(rs);
    }
    if let Some(psk) = a.psk {
        b = b.psk(Psk::from_bytes(psk));
    }
    let mut hs = b.build().unwrap_or_else(|e| usage(&format!("{e}")));
    let mut rng = rand::rng();
    let mut payloads = a.hs_payloads.iter();
    let nametag = |hs: &HandshakeState| {
        if a.zero_nametags {
            MessageNametag::ZERO
        } else if hs.message_index() == 0 {
            MessageNametag::from_bytes(a.first_nametag)
        } else {
            hs.derived_nametag()
        }
    };
    while !hs.is_finished() {
        let tag = nametag(&hs);
        if hs.is_my_turn() {
            let payload = payloads.next().cloned().unwrap_or_default();
            match hs.write_message(&payload, tag, &mut rng) {
                Ok(m) => out.msg(&m),
                Err(e) => fail(out, handshake_reason(&e)),
            }
        } else {
            let m = next_handshake_msg(lines, out);
            match hs.read_message(&m, &tag) {
                Ok(p) => payload_info(out, &p),
                Err(e) => fail(out, handshake_reason(&e)),
            }
        }
    }
    hs.into_transport()
        .unwrap_or_else(|_| fail(out, "handshake-failed"))
}

fn pairing_reason(e: &status_noise::PairingError) -> &'static str {
    use status_noise::PairingError as E;
    match e {
        E::Handshake(h) => handshake_reason(h),
        E::CommitmentMismatch => "commitment-mismatch",
        E::MalformedPayload => "bad-payload",
        E::InvalidQr => "invalid-qr",
        _ => "pairing-failed",
    }
}

fn run_pairing(a: &Args, me: &Keypair, lines: &mut Lines, out: &mut Out) -> TransportSession {
    let mut rng = rand::rng();
    let random = a.commit_random.unwrap_or_else(|| {
        let mut r = [0u8; 32];
        rand::Rng::fill_bytes(&mut rng, &mut r);
        r
    });
    match a.role.unwrap() {
        Role::Responder => {
            let defaults = PairingParams::default();
            let params = PairingParams {
                app_name: a.app_name.clone().unwrap_or(defaults.app_name),
                app_version: a.app_version.clone().unwrap_or(defaults.app_version),
                shard_id: a.shard_id.clone().unwrap_or(defaults.shard_id),
            };
            let eph = a
                .ephemeral_key
                .map(Keypair::from_secret_bytes)
                .unwrap_or_else(|| Keypair::generate(&mut rng));
            let tag = a.qr_nametag.unwrap_or_else(|| {
                let mut t = [0u8; 16];
                rand::Rng::fill_bytes(&mut rng, &mut t);
                t
            });
            let mut p = PairingResponder::new(
                me.clone(),
                eph,
                params,
                random,
                MessageNametag::from_bytes(tag),
            )
            .unwrap_or_else(|e| usage(&format!("{e}")));
            out.info("qr", &p.qr().to_string());
            out.info("qr-nametag", &hex::encode(p.qr_nametag().as_bytes()));
            out.info("content-topic", &p.content_topic());
            let m1 = next_handshake_msg(lines, out);
            let code = p
                .handle_message1(&m1)
                .unwrap_or_else(|e| fail(out, pairing_reason(&e)));
            if let Some(c) = p.peer_commitment() {
                out.info("hs-payload", &hex::encode(c));
            }
            out.info("authcode", &code);
            let m2 = p
                .confirm_auth_code(true, &mut rng)
                .unwrap_or_else(|e| fail(out, pairing_reason(&e)));
            out.msg(&m2);
            let m3 = next_handshake_msg(lines, out);
            p.handle_message3(&m3)
                .unwrap_or_else(|e| fail(out, pairing_reason(&e)));
            if let Some(s) = p.peer_opening() {
                out.info("hs-payload", &hex::encode(s));
            }
            p.into_session()
                .unwrap_or_else(|e| fail(out, pairing_reason(&e)))
        }
        Role::Initiator => {
            let qr = a.qr.clone().unwrap_or_else(|| usage("--qr is required"));
            let tag = MessageNametag::from_bytes(
                a.qr_nametag
                    .unwrap_or_else(|| usage("--qr-nametag is required")),
            );
            let mut p = match a.ephemeral_key {
                Some(e) => PairingInitiator::with_ephemeral_for_testing_only(
                    me.clone(),
                    Keypair::from_secret_bytes(e),
                    &qr,
                    tag,
                    random,
                ),
                None => PairingInitiator::new(me.clone(), &qr, tag, random),
            }
            .unwrap_or_else(|e| usage(&format!("{e}")));
            out.info("content-topic", &p.content_topic());
            let (m1, code) = p
                .start(&mut rng)
                .unwrap_or_else(|e| fail(out, pairing_reason(&e)));
            out.msg(&m1);
            out.info("authcode", &code);
            p.confirm_auth_code(true)
                .unwrap_or_else(|e| fail(out, pairing_reason(&e)));
            let m2 = next_handshake_msg(lines, out);
            let m3 = p
                .handle_message2(&m2, &mut rng)
                .unwrap_or_else(|e| fail(out, pairing_reason(&e)));
            if let Some(r) = p.peer_opening() {
                out.info("hs-payload", &hex::encode(r));
            }
            out.msg(&m3);
            p.into_session()
                .unwrap_or_else(|e| fail(out, pairing_reason(&e)))
        }
    }
}

fn main() {
    let a = parse_args();
    let mut out = Out(std::io::stdout());
    let mut lines = Lines::start(Duration::from_secs(a.timeout));
    let me = match a.static_key {
        Some(k) => Keypair::from_secret_bytes(k),
        None => Keypair::generate(&mut rand::rng()),
    };
    let pattern = a.pattern.unwrap();
    out.info("pattern", pattern.name());
    out.info("static-public", &hex::encode(me.public()));
    let mut session = if pattern == Pattern::WakuPairing {
        run_pairing(&a, &me, &mut lines, &mut out)
    } else {
        run_handshake(&a, &me, &mut lines, &mut out)
    };
    let s = session.dangerous_secrets();
    out.info("remote-static", &hex::encode(session.remote_static()));
    out.info("cs-outbound-key", &hex::encode(*s.cs_outbound_key));
    out.info("cs-inbound-key", &hex::encode(*s.cs_inbound_key));
    out.info(
        "nametag-secret-outbound",
        &hex::encode(*s.nametag_secret_outbound),
    );
    out.info(
        "nametag-secret-inbound",
        &hex::encode(*s.nametag_secret_inbound),
    );
    drop(s);
    out.line(&format!("DONE {}", hex::encode(session.handshake_hash())));
    loop {
        match lines.next(&mut out, false) {
            None | Some(Input::Quit) => exit(0),
            Some(Input::Send(pt)) => match session.encrypt(&pt) {
                Ok(m) => out.msg(&m),
                Err(e) => out.line(&format!("ERR {}", transport_reason(&e))),
            },
            Some(Input::Msg(m)) => match session.decrypt(&m) {
                Ok(pt) => {
                    match std::str::from_utf8(&pt) {
                        Ok(t) if !t.contains(['\n', '\r']) => out.line(&format!("PLAIN {t}")),
                        _ => out.line(&format!("PLAINHEX {}", hex::encode(&pt))),
                    }
                    if a.echo && !pt.starts_with(b"echo:") {
                        let mut reply = b"echo:".to_vec();
                        reply.extend_from_slice(&pt);
                        match session.encrypt(&reply) {
                            Ok(m) => out.msg(&m),
                            Err(e) => out.line(&format!("ERR {}", transport_reason(&e))),
                        }
                    }
                }
                Err(e) => out.line(&format!("ERR {}", transport_reason(&e))),
            },
        }
    }
}

fn transport_reason(e: &status_noise::TransportError) -> &'static str {
    use status_noise::{NametagError, TransportError as E};
    match e {
        E::NotTransport(_) => "not-transport",
        E::Nametag(NametagError::MessagesProbablyLost { .. }) => "messages-lost",
        E::Nametag(_) => "unknown-nametag",
        E::Decrypt => "decrypt-failed",
        E::Padding => "bad-padding",
        E::NonceExhausted => "nonce-exhausted",
        _ => "transport-failed",
    }
}
