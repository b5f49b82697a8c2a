//! `noise-peer`: one side of a Waku Noise handshake and session, driven by a line
//! protocol on stdin/stdout so that any other implementation can be tested against this
//! one live. Flags, lines and exit codes are in the crate docs ("The `noise-peer`
//! program"); the logic is the library's sans-IO driver, this file only does the IO:
//! reading stdin, printing lines, the timeout and the exit code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, Write};
use std::process::exit;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use status_noise::peer::{EXIT_TIMEOUT, EXIT_USAGE, Next, Peer, parse_args};

fn print(lines: &mut Vec<String>) {
    let stdout = std::io::stdout();
    let mut l = stdout.lock();
    for line in lines.drain(..) {
        let _ = writeln!(l, "{line}");
    }
    let _ = l.flush();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = match parse_args(&args) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("noise-peer: {msg}");
            exit(EXIT_USAGE)
        }
    };
    let deadline = Instant::now() + Duration::from_secs(cfg.timeout_secs);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(Some(line)).is_err() {
                return;
            }
        }
        let _ = tx.send(None);
    });
    let mut rng = rand::rng();
    let mut out = Vec::new();
    let started = Peer::start(cfg, &mut rng, &mut out);
    print(&mut out);
    let mut peer = match started {
        Ok(p) => p,
        Err(code) => exit(code),
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match rx.recv_timeout(left) {
            Ok(Some(l)) => l,
            Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => exit(peer.eof()),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                eprintln!("noise-peer: timeout");
                exit(EXIT_TIMEOUT)
            }
        };
        let next = peer.line(&line, &mut rng, &mut out);
        print(&mut out);
        if let Next::Exit(code) = next {
            exit(code)
        }
    }
}
