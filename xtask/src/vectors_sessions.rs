//! `cargo xtask vectors sessions`: known-answer vectors for the topics and Waku payloads of
//! `status-sessions` (DESIGN.md rules 9 and 10, "Wire and topics"), from fixed keys.
//!
//! Writes `crates/status-sessions/tests/vectors/sessions.json`. A Rust test checks the crate
//! against it and `check_sessions.py` (Python `cryptography`, written from DESIGN.md)
//! re-derives every value independently; `python_check` runs that script in a virtual
//! environment with a pinned `cryptography`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use status_identity::IdentityKeyPair;
use status_sessions::payload::{self, SymmetricKey};
use status_sessions::topics::{self, Negotiated};

/// The pinned version of Python's `cryptography` used by the independent checkers.
pub const CRYPTOGRAPHY_VERSION: &str = "50.0.2";

fn seed(i: u8) -> [u8; 32] {
    let mut s = [0u8; 32];
    for (j, b) in s.iter_mut().enumerate() {
        // Any fixed, distinct bytes will do.
        *b = i
            .wrapping_mul(31)
            .wrapping_add(u8::try_from(j).unwrap_or(0));
    }
    s
}

fn data(len: usize, tag: u8) -> Vec<u8> {
    (0..len)
        .map(|i| tag ^ u8::try_from(i % 251).unwrap_or(0))
        .collect()
}

/// The vectors as JSON.
pub fn generate() -> Result<Value> {
    let ids: Vec<IdentityKeyPair> = (1..=6)
        .map(|i| IdentityKeyPair::from_secret_bytes(&seed(i)))
        .collect();
    let identities: Vec<Value> = ids
        .iter()
        .map(|k| {
            let p = k.public_key();
            json!({
                "seed": hex::encode(*k.to_secret_bytes()),
                "ed25519_public": hex::encode(p.as_bytes()),
                "x25519_public": hex::encode(p.to_x25519().as_bytes()),
                "partition": topics::partition(p),
                "partitioned_topic": topics::partitioned_topic(p).as_str(),
                "contact_code_topic": topics::contact_code_topic(p).as_str(),
            })
        })
        .collect();

    let mut negotiated = Vec::new();
    for (a, b) in [(0usize, 1usize), (1, 0), (0, 0), (2, 3), (4, 5)] {
        let dh = ids[a]
            .diffie_hellman(&ids[b].public_key().to_x25519())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let n =
            Negotiated::derive(&ids[a], ids[b].public_key()).map_err(|e| anyhow::anyhow!("{e}"))?;
        negotiated.push(json!({
            "own": a,
            "peer": b,
            "dh": hex::encode(dh.as_bytes()),
            "topic": n.topic().as_str(),
            "key": hex::encode(n.key().as_bytes()),
        }));
    }

    let mut seal = Vec::new();
    for (i, (recipient, len)) in [
        (1usize, 0usize),
        (1, 11),
        (0, 253),
        (2, 254),
        (3, 300),
        (4, 1000),
    ]
    .into_iter()
    .enumerate()
    {
        let ephemeral = x25519_dalek::StaticSecret::from(seed(100 + u8::try_from(i)?));
        let msg = data(len, 0x5a);
        let sealed = payload::seal_with_ephemeral(&ephemeral, ids[recipient].public_key(), &msg)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let opened = payload::open(&ids[recipient], &sealed).map_err(|e| anyhow::anyhow!("{e}"))?;
        if opened.as_slice() != msg.as_slice() {
            bail!("seal vector {i} does not round-trip");
        }
        seal.push(json!({
            "recipient": recipient,
            "ephemeral_secret": hex::encode(ephemeral.to_bytes()),
            "ephemeral_public": hex::encode(x25519_dalek::PublicKey::from(&ephemeral).as_bytes()),
            "data": hex::encode(&msg),
            "payload": hex::encode(&sealed),
        }));
    }

    let mut symmetric = Vec::new();
    for (i, len) in [0usize, 1, 200, 256, 1000, 65536].into_iter().enumerate() {
        let key = SymmetricKey::from_bytes(seed(200 + u8::try_from(i)?));
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&seed(220 + u8::try_from(i)?)[..12]);
        let msg = data(len, 0xa5);
        let ct = key
            .encrypt_with_nonce(&nonce, &msg)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        symmetric.push(json!({
            "key": hex::encode(key.as_bytes()),
            "nonce": hex::encode(nonce),
            "data": hex::encode(&msg),
            "payload": hex::encode(&ct),
        }));
    }

    Ok(json!({
        "description": "status-sessions known answers: partition and content topics, negotiated topic and key (DESIGN.md rule 9), payload sealed to an identity (rule 10) and the symmetric payload of 26 version 1, both around the unsigned 26 framing with zero padding to 256 bytes",
        "generator": "cargo xtask vectors sessions",
        "app_name": topics::APP_NAME,
        "app_version": topics::APP_VERSION,
        "encoding": topics::ENCODING,
        "partitions": topics::PARTITIONS,
        "identities": identities,
        "negotiated": negotiated,
        "seal": seal,
        "symmetric": symmetric,
    }))
}

fn vectors_dir(root: &Path) -> PathBuf {
    root.join("crates/status-sessions/tests/vectors")
}

/// Writes the vectors file.
pub fn write(root: &Path) -> Result<()> {
    let dir = vectors_dir(root);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("sessions.json");
    let mut text = serde_json::to_string_pretty(&generate()?)?;
    text.push('\n');
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// The virtual environment with the pinned `cryptography`, created under the target dir
/// on first use.
pub fn python_venv(root: &Path) -> Result<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let venv = target.join("py-venv");
    let python = venv.join("bin/python");
    let marker = venv.join(format!("cryptography-{CRYPTOGRAPHY_VERSION}"));
    if !marker.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .context("starting python3 -m venv")?;
        if !status.success() {
            bail!("python3 -m venv failed ({status})");
        }
        let status = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(format!("cryptography=={CRYPTOGRAPHY_VERSION}"))
            .status()
            .context("starting pip")?;
        if !status.success() {
            bail!("pip install cryptography=={CRYPTOGRAPHY_VERSION} failed ({status})");
        }
        std::fs::write(&marker, b"")?;
    }
    Ok(python)
}

/// Runs the independent Python checker against the committed vectors.
pub fn python_check(root: &Path) -> Result<()> {
    let python = python_venv(root)?;
    let dir = vectors_dir(root);
    let status = Command::new(python)
        .arg(dir.join("check_sessions.py"))
        .arg(dir.join("sessions.json"))
        .status()
        .context("starting check_sessions.py")?;
    if !status.success() {
        bail!("check_sessions.py failed ({status})");
    }
    Ok(())
}
