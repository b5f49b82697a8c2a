//! Waku Noise: handshakes (35/WAKU2-NOISE), sessions (37/WAKU2-NOISE-SESSIONS) and device
//! pairing (43/WAKU2-DEVICE-PAIRING), byte-compatible with the reference implementation
//! `@waku/noise` 0.0.3-a19e968 (js-noise).
//!
//! The Noise state machine is written here on `x25519-dalek`, `chacha20poly1305`, `sha2`
//! and `hkdf`: [`CipherState`] (a nonce counter that refuses to wrap), the symmetric state,
//! and [`HandshakeState`] for the patterns `K1K1`, `XK1`, `XX`, `XXpsk0` and `WakuPairing`
//! (pre-messages, psk, handshake payloads, split). A finished handshake is consumed into
//! a [`TransportSession`] ([`HandshakeState::into_transport`]); only that type encrypts
//! transport messages. Messages travel as [`PayloadV2`] (the payload of a version-2
//! `WakuMessage`), padded with PKCS#7 to 248-byte blocks, each carrying a 16-byte message
//! nametag that is bound into the associated data. After the handshake each direction
//! has its own nametag secret; a receiver accepts only the next expected nametag of its
//! bounded window ([`DEFAULT_NAMETAG_WINDOW`] = 50, at most [`MAX_NAMETAG_WINDOW`]).
//!
//! Sans-IO: no sockets, clocks or global randomness. Randomness is an argument
//! (`&mut impl rand_core::CryptoRng`); messages are bytes in and out. Every failed read
//! (bad nametag, forged or replayed bytes) leaves the state exactly as it was.
//!
//! Also here: 37's session id and per-session content topic and a session that can be
//! serialized and restored ([`TransportSession::to_bytes`]); 43's pairing flow as two
//! state machines ([`PairingResponder`] shows the QR code, [`PairingInitiator`] scans it);
//! and a plain Noise mode ([`HandshakeBuilder::build_plain`]: no nametag, no padding, no
//! PayloadV2) in which every message and split key equals what `snow` produces.
//!
//! What it does not do: wrap PayloadV2 in `WakuMessage`s or publish them (the layers
//! above do: version 2, the content topic, `ephemeral = true`); 37's stale-session
//! protocol and multi-device schemes (N11M/NM) beyond the id, topic and termination
//! token; rekeying; protocol ids 30, 254 and 255 (decoded as declared, never produced).
//!
//! # Example
//!
//! ```
//! use status_noise::{HandshakeBuilder, Keypair, MessageNametag, Pattern, PayloadV2, Role};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Any `rand_core::CryptoRng`; seeded here so the example is deterministic.
//! use rand::SeedableRng;
//! let mut rng = rand::rngs::StdRng::seed_from_u64(7);
//! let alice = Keypair::generate(&mut rng);
//! let bob = Keypair::generate(&mut rng);
//! let mut a = HandshakeBuilder::new(Pattern::XX, Role::Initiator).local_static(alice).build()?;
//! let mut b = HandshakeBuilder::new(Pattern::XX, Role::Responder).local_static(bob).build()?;
//!
//! // Message 1 carries a nametag both sides agreed on; later ones derive it from the
//! // handshake hash, as @waku/noise does for pairing.
//! let tag = MessageNametag::from_bytes([0; 16]);
//! let m1 = a.write_message(b"hello", tag, &mut rng)?;
//! let wire = m1.encode()?; // the WakuMessage payload (version 2)
//! assert_eq!(b.read_message(&PayloadV2::decode(&wire)?, &tag)?, b"hello");
//!
//! let tag = b.derived_nametag();
//! let m2 = b.write_message(b"", tag, &mut rng)?;
//! a.read_message(&m2, &tag)?;
//! let tag = a.derived_nametag();
//! let m3 = a.write_message(b"", tag, &mut rng)?;
//! b.read_message(&m3, &tag)?;
//!
//! let mut a = a.into_transport().map_err(|_| "unfinished")?;
//! let mut b = b.into_transport().map_err(|_| "unfinished")?;
//! let msg = a.encrypt(b"transport message")?;
//! assert_eq!(b.decrypt(&msg)?, b"transport message");
//! assert!(b.decrypt(&msg).is_err()); // a replay: its nametag was used
//! let reply = b.encrypt(b"reply")?;
//! assert_eq!(a.decrypt(&reply)?, b"reply");
//! assert_eq!(a.session_id(), b.session_id());
//! # Ok(()) }
//! ```
//!
//! # Wire format and key schedule
//!
//! `PayloadV2 = nametag(16) || protocol_id(1) || handshake_len(1) || keys ||
//! transport_len(u64 LE) || transport`; a key is `0x00 || pk(32)` in clear or
//! `0x01 || ct(32) || tag(16)` encrypted. Protocol ids: 10 K1K1, 11 XK1, 12 XX, 13 XXpsk0,
//! 14 WakuPairing, 0 transport. Handshake payloads are encrypted with associated data
//! `h || nametag`; transport messages with the nametag alone. After the handshake
//! `(nms1, nms2) = HKDF(h, "", 2)`; the initiator sends with nms2 and receives with nms1;
//! the `i`-th nametag of a direction is `SHA-256(secret || u64_le(i))[..16]`. The nonce is
//! `0x00000000 || u64_le(n)`.
//!
//! # Discrepancies
//!
//! Quirks of `@waku/noise` that this crate reproduces, because its bytes are the protocol
//! in practice (the 35/37/43 texts say otherwise):
//!
//! - Protocol id 14 for `WakuPairing` (35 lists only 0, 10–13, 30).
//! - Handshake payload AD is `h || nametag`; transport AD is the nametag only.
//! - After-handshake nametags are `SHA-256(secret || u64_le(n))[..16]` (35 suggests
//!   `HKDF(secret || n)`, 43 `H(secret || n)` without fixing the encoding), and the
//!   initiator sends with the *second* HKDF output (the opposite of `Split()`'s order).
//! - A receiver accepts only the next expected nametag; one later in the window is
//!   "messages probably lost" ([`NametagError::MessagesProbablyLost`]) until the caller
//!   skips ahead ([`TransportSession::skip_inbound`]).
//! - Handshake nametags: message 1 uses an agreed nametag (for pairing, the QR nametag),
//!   messages 2 and 3 the first 16 bytes of `HKDF(h, "", 1)`.
//! - 43's QR code has five fields (application name, version, shard id, `eB`, `H(sB||r)`,
//!   base64url with padding) and no nametag; the nametag is handed over separately, and the
//!   prologue is the QR string alone. The auth code is `BE_u64(HKDF(h, "", 1)[..8]) mod 10^8`
//!   (so it equals the first 8 bytes of message 2's nametag, which anyone can see).
//! - The nonce is kept below `2^32` (35 allows `2^64 - 1`): @waku/noise fails after using
//!   `2^32 - 1`, so the last nonce that reaches a peer is `2^32 - 2` ([`WAKU_MAX_NONCE`]).
//! - In psk patterns pre-message keys are mixed with `MixKey` for `s` as well as `e`
//!   (latent: no supported psk pattern has pre-messages).
//! - Every payload is padded, the empty one too (248 bytes of `0xf8`).
//!
//! Where this crate is stricter than `@waku/noise` (it reads everything `@waku/noise`
//! writes):
//!
//! - The decoder honours `transport_len` and rejects trailing bytes (js-noise effectively
//!   takes the rest of the buffer), keys under protocol ids 0 and 30, and unknown ids.
//! - An `e` key must be in clear and an `s` key encrypted once a key is set (js-noise
//!   accepts either form).
//! - An all-zero Diffie-Hellman result (a small-order peer key) is an error.
//! - Unpadding is strict PKCS#7 to 248-byte blocks (js-noise accepts any pad length and a
//!   last byte of 0).
//! - Nametags are always 16 bytes (js-noise can emit 0-byte nametags it cannot parse back).
//! - A failed decryption is an error (js-noise's `readMessage` returns an empty array).
//! - 37's session id, not implemented by js-noise, is `HKDF-SHA256(salt = h, ikm = "",
//!   info = "waku-noise-sessions/1/session-id")`, 32 bytes: a plain `HKDF(h)` would equal
//!   the first nametag secret. `ct-id = hex(SHA-256(SHA-256(session-id)))`.
//!
//! # The `noise-peer` program
//!
//! `cargo run -q -p status-noise --example noise-peer -- FLAGS` runs one party on a line
//! protocol so any other implementation can be tested against this one live (`cargo
//! xtask interop noise` runs it against `@waku/noise`). Flags: `--pattern
//! K1K1|XK1|XX|XXpsk0|WakuPairing`, `--role initiator|responder`, `--static-key HEX32`,
//! `--ephemeral-key HEX32`, `--remote-static HEX32`, `--psk HEX32`, `--prologue HEX`,
//! `--nametag-mode derived|zero`, `--first-nametag HEX16`, `--hs-payload UTF8` /
//! `--hs-payload-hex HEX` (repeatable), `--echo on|off`, `--timeout SECONDS`, and for
//! `WakuPairing` `--app-name`, `--app-version`, `--shard-id`, `--commit-random HEX32`,
//! `--qr-nametag HEX16`, `--qr STRING`. Input: `MSG <hex>` or bare hex, `SEND <utf8>`,
//! `SENDHEX <hex>`, `QUIT`; empty lines, `#…` and `INFO …` are ignored (so are `DONE`,
//! `PLAIN`, `PLAINHEX` and `ERR`, so two peers can be piped into each other). Output:
//! `MSG <hex>`, `INFO <key> <value>`, `DONE <handshake hash>`, `PLAIN <utf8>` (or
//! `PLAINHEX <hex>` when the plaintext is not UTF-8 or contains a line break), `ERR
//! <reason>`. The value of `INFO hs-payload` is lowercase hex. `SEND` before the handshake
//! ends answers `ERR handshake-not-finished`. Exit codes: 0, 2 handshake error, 3 end of
//! input during the handshake, 64 bad flags, 124 timeout.

mod cipher;
#[doc(hidden)]
pub mod fuzzing;
mod handshake;
mod keys;
mod nametag;
pub mod pairing;
mod pattern;
pub mod payload;
#[doc(hidden)]
pub mod peer;
mod plain;
mod transport;

pub use cipher::{CipherError, CipherState, NOISE_MAX_NONCE, WAKU_MAX_NONCE};
pub use handshake::{
    BuildError, HandshakeBuilder, HandshakeError, HandshakeState, NotFinished, Psk,
};
pub use keys::Keypair;
pub use nametag::{
    DEFAULT_NAMETAG_WINDOW, InboundWindow, MAX_NAMETAG_WINDOW, MessageNametag, NAMETAG_BYTES,
    NametagError, NametagSecret, OutboundNametags,
};
pub use pairing::{PairingError, PairingInitiator, PairingParams, PairingResponder, Qr};
pub use pattern::{Pattern, Role};
pub use payload::{DecodeError, HandshakeKey, PayloadV2};
pub use plain::{PlainHandshake, PlainTransport};
pub use transport::{
    DangerousSecrets, RestoreError, SERIALIZED_SESSION_BYTES, SESSION_ID_INFO, SessionId,
    TransportError, TransportSession,
};
