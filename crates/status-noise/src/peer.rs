//! The sans-IO driver behind the `noise-peer` example: flags in, protocol lines in and
//! out. Shared by the example, the known-answer tests and the fuzz targets. Not a stable
//! API.

use rand_core::CryptoRng;

use crate::transport::hex_lower;
use crate::{
    HandshakeBuilder, HandshakeError, HandshakeState, Keypair, MessageNametag, NametagError,
    PairingError, PairingInitiator, PairingParams, PairingResponder, Pattern, PayloadV2, Psk, Role,
    TransportError, TransportSession,
};

/// Exit code: a handshake error.
pub const EXIT_HANDSHAKE: i32 = 2;
/// Exit code: end of input during the handshake.
pub const EXIT_EOF: i32 = 3;
/// Exit code: bad flags.
pub const EXIT_USAGE: i32 = 64;
/// Exit code: timeout.
pub const EXIT_TIMEOUT: i32 = 124;

/// Parsed flags.
#[derive(Clone, Default)]
pub struct Config {
    /// `--pattern`.
    pub pattern: Option<Pattern>,
    /// `--role`.
    pub role: Option<Role>,
    /// `--static-key`.
    pub static_key: Option<[u8; 32]>,
    /// `--ephemeral-key`.
    pub ephemeral_key: Option<[u8; 32]>,
    /// `--remote-static`.
    pub remote_static: Option<[u8; 32]>,
    /// `--psk`.
    pub psk: Option<[u8; 32]>,
    /// `--prologue`.
    pub prologue: Vec<u8>,
    /// `--nametag-mode zero`.
    pub zero_nametags: bool,
    /// `--first-nametag`.
    pub first_nametag: [u8; 16],
    /// `--hs-payload` / `--hs-payload-hex`, in order.
    pub hs_payloads: Vec<Vec<u8>>,
    /// `--echo`.
    pub echo: bool,
    /// `--timeout` in seconds.
    pub timeout_secs: u64,
    /// `--app-name`.
    pub app_name: Option<String>,
    /// `--app-version`.
    pub app_version: Option<String>,
    /// `--shard-id`.
    pub shard_id: Option<String>,
    /// `--commit-random`.
    pub commit_random: Option<[u8; 32]>,
    /// `--qr-nametag`.
    pub qr_nametag: Option<[u8; 16]>,
    /// `--qr`.
    pub qr: Option<String>,
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect()
}

fn unhex_n<const N: usize>(flag: &str, s: &str) -> Result<[u8; N], String> {
    unhex(s)
        .and_then(|b| <[u8; N]>::try_from(b).ok())
        .ok_or_else(|| format!("{flag} needs {N} bytes of hex"))
}

/// Parses `noise-peer` flags; the error is a usage message (exit 64).
pub fn parse_args(args: &[String]) -> Result<Config, String> {
    let mut c = Config {
        echo: true,
        timeout_secs: 120,
        ..Config::default()
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut val = || {
            it.next()
                .map(String::as_str)
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--pattern" => {
                let v = val()?;
                c.pattern = Some(Pattern::from_name(v).ok_or(format!("unknown pattern {v}"))?);
            }
            "--role" => {
                c.role = Some(match val()? {
                    "initiator" => Role::Initiator,
                    "responder" => Role::Responder,
                    v => return Err(format!("unknown role {v}")),
                })
            }
            "--static-key" => c.static_key = Some(unhex_n(flag, val()?)?),
            "--ephemeral-key" => c.ephemeral_key = Some(unhex_n(flag, val()?)?),
            "--remote-static" => c.remote_static = Some(unhex_n(flag, val()?)?),
            "--psk" => c.psk = Some(unhex_n(flag, val()?)?),
            "--prologue" => c.prologue = unhex(val()?).ok_or("--prologue needs hex")?,
            "--nametag-mode" => {
                c.zero_nametags = match val()? {
                    "derived" => false,
                    "zero" => true,
                    v => return Err(format!("unknown nametag mode {v}")),
                }
            }
            "--first-nametag" => c.first_nametag = unhex_n(flag, val()?)?,
            "--hs-payload" => c.hs_payloads.push(val()?.as_bytes().to_vec()),
            "--hs-payload-hex" => c
                .hs_payloads
                .push(unhex(val()?).ok_or("--hs-payload-hex needs hex")?),
            "--echo" => {
                c.echo = match val()? {
                    "on" => true,
                    "off" => false,
                    v => return Err(format!("--echo takes on|off, not {v}")),
                }
            }
            "--timeout" => {
                c.timeout_secs = val()?
                    .parse()
                    .map_err(|_| "--timeout needs whole seconds")?
            }
            "--app-name" => c.app_name = Some(val()?.to_string()),
            "--app-version" => c.app_version = Some(val()?.to_string()),
            "--shard-id" => c.shard_id = Some(val()?.to_string()),
            "--commit-random" => c.commit_random = Some(unhex_n(flag, val()?)?),
            "--qr-nametag" => c.qr_nametag = Some(unhex_n(flag, val()?)?),
            "--qr" => c.qr = Some(val()?.to_string()),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if c.pattern.is_none() {
        return Err("--pattern is required".into());
    }
    if c.role.is_none() {
        return Err("--role is required".into());
    }
    Ok(c)
}

enum State {
    Handshake(Box<HandshakeState>),
    PairingResponder(Box<PairingResponder>),
    PairingInitiator(Box<PairingInitiator>),
    Transport(Box<TransportSession>),
    Finished,
}

/// What a step asks the IO shell to do after printing the lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Read the next line.
    Continue,
    /// Exit with this code.
    Exit(i32),
}

/// One side of the line protocol.
pub struct Peer {
    cfg: Config,
    state: State,
    payload_idx: usize,
}

fn handshake_reason(e: &HandshakeError) -> &'static str {
    match e {
        HandshakeError::NametagMismatch => "nametag-mismatch",
        HandshakeError::WrongProtocolId { .. } => "wrong-protocol-id",
        HandshakeError::Decrypt => "decrypt-failed",
        HandshakeError::Padding => "bad-padding",
        HandshakeError::KeyMismatch | HandshakeError::TooShort => "bad-keys",
        HandshakeError::WeakKey => "weak-key",
        _ => "handshake-failed",
    }
}

fn pairing_reason(e: &PairingError) -> &'static str {
    match e {
        PairingError::Handshake(h) => handshake_reason(h),
        PairingError::CommitmentMismatch => "commitment-mismatch",
        PairingError::MalformedPayload => "bad-payload",
        PairingError::InvalidQr => "invalid-qr",
        _ => "pairing-failed",
    }
}

fn transport_reason(e: &TransportError) -> &'static str {
    match e {
        TransportError::NotTransport(_) => "not-transport",
        TransportError::Nametag(NametagError::MessagesProbablyLost { .. }) => "messages-lost",
        TransportError::Nametag(_) => "unknown-nametag",
        TransportError::Decrypt => "decrypt-failed",
        TransportError::Padding => "bad-padding",
        TransportError::NonceExhausted => "nonce-exhausted",
    }
}

/// `--nametag-mode`: zero, or message 1 = `--first-nametag` and later messages derived
/// from the handshake hash.
fn nametag(cfg: &Config, hs: &HandshakeState) -> MessageNametag {
    if cfg.zero_nametags {
        MessageNametag::ZERO
    } else if hs.message_index() == 0 {
        MessageNametag::from_bytes(cfg.first_nametag)
    } else {
        hs.derived_nametag()
    }
}

fn msg_line(p: &PayloadV2) -> String {
    // Our own messages carry at most two keys, which always encode.
    format!("MSG {}", hex_lower(&p.encode().unwrap_or_default()))
}

fn info(out: &mut Vec<String>, key: &str, value: &str) {
    out.push(format!("INFO {key} {value}"));
}

fn random<const N: usize, R: CryptoRng + ?Sized>(rng: &mut R) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill_bytes(&mut b);
    b
}

impl Peer {
    /// Starts: prints the opening lines (and message 1 for an initiator).
    pub fn start<R: CryptoRng + ?Sized>(
        cfg: Config,
        rng: &mut R,
        out: &mut Vec<String>,
    ) -> Result<Self, i32> {
        let (Some(pattern), Some(role)) = (cfg.pattern, cfg.role) else {
            return Err(EXIT_USAGE);
        };
        let me = match cfg.static_key {
            Some(k) => Keypair::from_secret_bytes(k),
            None => Keypair::generate(rng),
        };
        info(out, "pattern", pattern.name());
        info(out, "static-public", &hex_lower(me.public()));
        let commit_random = cfg.commit_random.unwrap_or_else(|| random(rng));
        let state = if pattern == Pattern::WakuPairing {
            match role {
                Role::Responder => {
                    let d = PairingParams::default();
                    let params = PairingParams {
                        app_name: cfg.app_name.clone().unwrap_or(d.app_name),
                        app_version: cfg.app_version.clone().unwrap_or(d.app_version),
                        shard_id: cfg.shard_id.clone().unwrap_or(d.shard_id),
                    };
                    let eph = match cfg.ephemeral_key {
                        Some(e) => Keypair::from_secret_bytes(e),
                        None => Keypair::generate(rng),
                    };
                    let tag = cfg.qr_nametag.unwrap_or_else(|| random(rng));
                    let p = PairingResponder::new(
                        me,
                        eph,
                        params,
                        commit_random,
                        MessageNametag::from_bytes(tag),
                    )
                    .map_err(|_| EXIT_USAGE)?;
                    info(out, "qr", &p.qr().to_string());
                    info(out, "qr-nametag", &hex_lower(p.qr_nametag().as_bytes()));
                    info(out, "content-topic", &p.content_topic());
                    State::PairingResponder(Box::new(p))
                }
                Role::Initiator => {
                    let (Some(qr), Some(tag)) = (cfg.qr.as_deref(), cfg.qr_nametag) else {
                        return Err(EXIT_USAGE);
                    };
                    let tag = MessageNametag::from_bytes(tag);
                    let mut p = match cfg.ephemeral_key {
                        Some(e) => PairingInitiator::with_ephemeral_for_testing_only(
                            me,
                            Keypair::from_secret_bytes(e),
                            qr,
                            tag,
                            commit_random,
                        ),
                        None => PairingInitiator::new(me, qr, tag, commit_random),
                    }
                    .map_err(|_| EXIT_USAGE)?;
                    info(out, "content-topic", &p.content_topic());
                    match p.start(rng) {
                        Ok((m1, code)) => {
                            out.push(msg_line(&m1));
                            info(out, "authcode", &code);
                        }
                        Err(e) => {
                            out.push(format!("ERR {}", pairing_reason(&e)));
                            return Err(EXIT_HANDSHAKE);
                        }
                    }
                    // The person confirms at once.
                    if p.confirm_auth_code(true).is_err() {
                        return Err(EXIT_HANDSHAKE);
                    }
                    State::PairingInitiator(Box::new(p))
                }
            }
        } else {
            let mut b = HandshakeBuilder::new(pattern, role)
                .prologue(&cfg.prologue)
                .local_static(me);
            if let Some(e) = cfg.ephemeral_key {
                b = b.local_ephemeral(Keypair::from_secret_bytes(e));
            }
            if let Some(rs) = cfg.remote_static {
                b = b.remote_static(rs);
            }
            if let Some(psk) = cfg.psk {
                b = b.psk(Psk::from_bytes(psk));
            }
            State::Handshake(Box::new(b.build().map_err(|_| EXIT_USAGE)?))
        };
        let mut peer = Peer {
            cfg,
            state,
            payload_idx: 0,
        };
        match peer.advance(rng, out) {
            Next::Exit(code) => Err(code),
            Next::Continue => Ok(peer),
        }
    }

    /// Whether the handshake is over.
    pub fn in_handshake(&self) -> bool {
        !matches!(self.state, State::Transport(_) | State::Finished)
    }

    /// Writes our handshake messages while it is our turn; finishes when done.
    fn advance<R: CryptoRng + ?Sized>(&mut self, rng: &mut R, out: &mut Vec<String>) -> Next {
        if let State::Handshake(hs) = &mut self.state {
            while !hs.is_finished() && hs.is_my_turn() {
                let tag = nametag(&self.cfg, hs);
                let payload = self
                    .cfg
                    .hs_payloads
                    .get(self.payload_idx)
                    .cloned()
                    .unwrap_or_default();
                self.payload_idx += 1;
                match hs.write_message(&payload, tag, rng) {
                    Ok(m) => out.push(msg_line(&m)),
                    Err(e) => {
                        out.push(format!("ERR {}", handshake_reason(&e)));
                        return Next::Exit(EXIT_HANDSHAKE);
                    }
                }
            }
            if !hs.is_finished() {
                return Next::Continue;
            }
        }
        let session = match std::mem::replace(&mut self.state, State::Finished) {
            State::Handshake(hs) => hs.into_transport().map_err(|_| "handshake-failed"),
            State::PairingInitiator(p) if p.is_done() => {
                p.into_session().map_err(|e| pairing_reason(&e))
            }
            State::PairingResponder(p) if p.is_done() => {
                p.into_session().map_err(|e| pairing_reason(&e))
            }
            other => {
                self.state = other;
                return Next::Continue;
            }
        };
        let session = match session {
            Ok(s) => s,
            Err(reason) => {
                out.push(format!("ERR {reason}"));
                return Next::Exit(EXIT_HANDSHAKE);
            }
        };
        let s = session.dangerous_secrets();
        info(out, "remote-static", &hex_lower(&session.remote_static()));
        info(out, "cs-outbound-key", &hex_lower(&*s.cs_outbound_key));
        info(out, "cs-inbound-key", &hex_lower(&*s.cs_inbound_key));
        info(
            out,
            "nametag-secret-outbound",
            &hex_lower(&*s.nametag_secret_outbound),
        );
        info(
            out,
            "nametag-secret-inbound",
            &hex_lower(&*s.nametag_secret_inbound),
        );
        out.push(format!("DONE {}", hex_lower(&session.handshake_hash())));
        self.state = State::Transport(Box::new(session));
        Next::Continue
    }

    /// End of input.
    pub fn eof(&self) -> i32 {
        if self.in_handshake() { EXIT_EOF } else { 0 }
    }

    /// Handles one input line.
    pub fn line<R: CryptoRng + ?Sized>(
        &mut self,
        line: &str,
        rng: &mut R,
        out: &mut Vec<String>,
    ) -> Next {
        let line = line.trim();
        let (cmd, rest) = line.split_once(' ').unwrap_or((line, ""));
        match cmd {
            "" | "INFO" | "DONE" | "PLAIN" | "PLAINHEX" | "ERR" => Next::Continue,
            c if c.starts_with('#') => Next::Continue,
            "QUIT" => Next::Exit(0),
            "SEND" => self.send(rest.as_bytes(), out),
            "SENDHEX" => match unhex(rest.trim()) {
                Some(b) => self.send(&b, out),
                None => {
                    out.push("ERR bad-hex".into());
                    Next::Continue
                }
            },
            _ => {
                let text = if cmd == "MSG" { rest.trim() } else { line };
                let msg = unhex(text)
                    .ok_or("bad-hex")
                    .and_then(|b| PayloadV2::decode(&b).map_err(|_| "bad-payload"));
                match msg {
                    Ok(m) => self.message(&m, rng, out),
                    Err(reason) => {
                        out.push(format!("ERR {reason}"));
                        if self.in_handshake() {
                            Next::Exit(EXIT_HANDSHAKE)
                        } else {
                            Next::Continue
                        }
                    }
                }
            }
        }
    }

    fn send(&mut self, plaintext: &[u8], out: &mut Vec<String>) -> Next {
        match &mut self.state {
            State::Transport(t) => match t.encrypt(plaintext) {
                Ok(m) => out.push(msg_line(&m)),
                Err(e) => out.push(format!("ERR {}", transport_reason(&e))),
            },
            _ => out.push("ERR handshake-not-finished".into()),
        }
        Next::Continue
    }

    fn message<R: CryptoRng + ?Sized>(
        &mut self,
        m: &PayloadV2,
        rng: &mut R,
        out: &mut Vec<String>,
    ) -> Next {
        let fatal = |out: &mut Vec<String>, reason: &str| {
            out.push(format!("ERR {reason}"));
            Next::Exit(EXIT_HANDSHAKE)
        };
        match &mut self.state {
            State::Handshake(hs) => {
                let tag = nametag(&self.cfg, hs);
                match hs.read_message(m, &tag) {
                    Ok(p) => {
                        if !p.is_empty() {
                            info(out, "hs-payload", &hex_lower(&p));
                        }
                    }
                    Err(e) => return fatal(out, handshake_reason(&e)),
                }
                self.advance(rng, out)
            }
            State::PairingResponder(p) => {
                if p.auth_code().is_none() {
                    match p.handle_message1(m) {
                        Ok(code) => {
                            if let Some(c) = p.peer_commitment() {
                                info(out, "hs-payload", &hex_lower(&c));
                            }
                            info(out, "authcode", &code);
                        }
                        Err(e) => return fatal(out, pairing_reason(&e)),
                    }
                    match p.confirm_auth_code(true, rng) {
                        Ok(m2) => out.push(msg_line(&m2)),
                        Err(e) => return fatal(out, pairing_reason(&e)),
                    }
                    Next::Continue
                } else {
                    if let Err(e) = p.handle_message3(m) {
                        return fatal(out, pairing_reason(&e));
                    }
                    if let Some(s) = p.peer_opening() {
                        info(out, "hs-payload", &hex_lower(&s));
                    }
                    self.advance(rng, out)
                }
            }
            State::PairingInitiator(p) => {
                match p.handle_message2(m, rng) {
                    Ok(m3) => {
                        if let Some(r) = p.peer_opening() {
                            info(out, "hs-payload", &hex_lower(&r));
                        }
                        out.push(msg_line(&m3));
                    }
                    Err(e) => return fatal(out, pairing_reason(&e)),
                }
                self.advance(rng, out)
            }
            State::Transport(t) => {
                match t.decrypt(m) {
                    Ok(pt) => {
                        match std::str::from_utf8(&pt) {
                            Ok(s) if !s.contains(['\n', '\r']) => out.push(format!("PLAIN {s}")),
                            _ => out.push(format!("PLAINHEX {}", hex_lower(&pt))),
                        }
                        if self.cfg.echo && !pt.starts_with(b"echo:") {
                            let mut reply = b"echo:".to_vec();
                            reply.extend_from_slice(&pt);
                            match t.encrypt(&reply) {
                                Ok(m) => out.push(msg_line(&m)),
                                Err(e) => out.push(format!("ERR {}", transport_reason(&e))),
                            }
                        }
                    }
                    Err(e) => out.push(format!("ERR {}", transport_reason(&e))),
                }
                Next::Continue
            }
            State::Finished => Next::Continue,
        }
    }
}
