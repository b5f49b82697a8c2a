//! Two `status-chat run` processes over loopback: contact codes, request and accept,
//! messages both ways, one side killed with SIGKILL in the middle of a burst and
//! restarted: no message lost or duplicated, the session goes on, and what was sent
//! while it was down arrives.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

const STEP: Duration = Duration::from_secs(60);

fn base(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_status-chat"));
    cmd.arg("--data-dir")
        .arg(dir)
        .env("STATUS_CHAT_INSECURE_TEST_KDF", "1")
        .env("STATUS_CHAT_PASSPHRASE", "test passphrase")
        .env_remove("STATUS_CHAT_PASSPHRASE_FILE")
        .env_remove("STATUS_CHAT_DATA_DIR");
    cmd
}

fn init(dir: &Path, name: &str) {
    let out = base(dir)
        .args(["init", "--name", name])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Proc {
    name: &'static str,
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Proc {
    fn start(name: &'static str, dir: &Path, args: &[&str]) -> Proc {
        let mut child = base(dir)
            .arg("run")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc {
            name,
            child,
            stdin,
            lines: rx,
            seen: Vec::new(),
        }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Waits for a line starting with `prefix`; returns the rest of it.
    fn expect(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.trim().to_owned();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("{}: no {prefix:?} in time; saw {:#?}", self.name, self.seen)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "{}: exited before {prefix:?}; saw {:#?}",
                        self.name, self.seen
                    )
                }
            }
        }
    }

    fn history(&mut self, key: &str) -> Vec<String> {
        self.send(&format!("/history {key}"));
        let mut out = Vec::new();
        loop {
            let line = self.expect("");
            if line.starts_with("end: history") {
                return out;
            }
            if let Some(rest) = line.strip_prefix("history: ") {
                out.push(
                    rest.split_once(' ')
                        .map(|(_, t)| t.to_owned())
                        .unwrap_or_default(),
                );
            }
        }
    }

    fn kill(mut self) {
        // SIGKILL on Unix: no chance to clean up.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn loopback_args(peer: Option<&str>) -> Vec<String> {
    let mut args = vec!["--listen".to_owned(), "/ip4/127.0.0.1/tcp/0".to_owned()];
    if let Some(peer) = peer {
        args.extend([
            "--peer".into(),
            peer.into(),
            "--store-peer".into(),
            peer.into(),
        ]);
    }
    args
}

fn start(name: &'static str, dir: &Path, peer: Option<&str>) -> (Proc, String, String, String) {
    let args = loopback_args(peer);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut p = Proc::start(name, dir, &args);
    let addr = p.expect("listening: ");
    let key = p.expect("chat-key: ");
    let code = p.expect("contact-code: ");
    p.expect("ready");
    (p, addr, key, code)
}

#[test]
fn two_accounts_chat_and_survive_sigkill() {
    let root = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (root.path().join("alice"), root.path().join("bob"));
    init(&a_dir, "Alice");
    init(&b_dir, "Bob");

    let (mut alice, a_addr, a_key, a_code) = start("alice", &a_dir, None);
    let (mut bob, _, b_key, _) = start("bob", &b_dir, Some(&a_addr));

    // Bob scans Alice's code and asks; Alice accepts.
    bob.send(&format!("/add {a_code} Hello from Bob"));
    assert_eq!(alice.expect("request: "), format!("{b_key} Hello from Bob"));
    alice.send(&format!("/accept {b_key}"));
    assert_eq!(bob.expect("contact: "), a_key);

    // Both ways, with delivery receipts.
    alice.send(&format!("/msg {b_key} m1"));
    let id = alice.expect("sent: ");
    assert_eq!(bob.expect("message: "), format!("{a_key} m1"));
    while alice.expect("delivered: ") != id {}
    bob.send(&format!("/msg {a_key} r1"));
    assert_eq!(alice.expect("message: "), format!("{b_key} r1"));

    // A burst; Bob is killed with SIGKILL after the third message arrives.
    for i in 2..=11 {
        alice.send(&format!("/msg {b_key} m{i}"));
    }
    for _ in 0..2 {
        bob.expect("message: ");
    }
    bob.kill();
    // More while Bob is down.
    for i in 12..=14 {
        alice.send(&format!("/msg {b_key} m{i}"));
        alice.expect("sent: ");
    }

    // Bob comes back: everything arrives once, nothing twice.
    let (mut bob, _, b_key2, _) = start("bob", &b_dir, Some(&a_addr));
    assert_eq!(b_key2, b_key);
    let want: Vec<String> = (1..=14).map(|i| format!("m{i}")).collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    let texts = loop {
        let history = bob.history(&a_key);
        let texts: Vec<String> = history
            .into_iter()
            .filter(|t| t.starts_with('m') && t[1..].parse::<u32>().is_ok())
            .collect();
        if want.iter().all(|w| texts.contains(w)) || Instant::now() > deadline {
            break texts;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let mut sorted = texts.clone();
    sorted.sort_by_key(|t| t[1..].parse::<u32>().unwrap());
    assert_eq!(sorted, want, "history after restart: {texts:?}");

    // The session goes on both ways after the restart.
    bob.send(&format!("/msg {a_key} back"));
    let deadline = Instant::now() + STEP;
    loop {
        let line = alice.expect("message: ");
        if line == format!("{b_key} back") {
            break;
        }
        assert!(Instant::now() < deadline);
    }
    alice.send(&format!("/msg {b_key} welcome back"));
    loop {
        if bob.expect("message: ") == format!("{a_key} welcome back") {
            break;
        }
    }
}

/// Waits on `p` for a group message with this text; returns the sender's chat key.
fn expect_gmessage(p: &mut Proc, group: &str, text: &str) -> String {
    loop {
        let line = p.expect("gmessage: ");
        let mut parts = line.splitn(3, ' ');
        let (g, from, t) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or(""),
        );
        if g == group && t == text {
            return from;
        }
    }
}

#[test]
fn three_accounts_group_chat_survives_sigkill() {
    let root = tempfile::tempdir().unwrap();
    let dirs: Vec<_> = ["alice", "bob", "carol"]
        .iter()
        .map(|n| root.path().join(n))
        .collect();
    init(&dirs[0], "Alice");
    init(&dirs[1], "Bob");
    init(&dirs[2], "Carol");
    let (mut alice, a_addr, a_key, a_code) = start("alice", &dirs[0], None);
    let (mut bob, _, b_key, b_code) = start("bob", &dirs[1], Some(&a_addr));
    let (mut carol, _, c_key, _) = start("carol", &dirs[2], Some(&a_addr));

    // Everyone becomes everyone's contact.
    bob.send(&format!("/add {a_code} hi"));
    assert!(alice.expect("request: ").starts_with(&b_key));
    alice.send(&format!("/accept {b_key}"));
    assert_eq!(bob.expect("contact: "), a_key);
    carol.send(&format!("/add {a_code} hi"));
    assert!(alice.expect("request: ").starts_with(&c_key));
    alice.send(&format!("/accept {c_key}"));
    assert_eq!(carol.expect("contact: "), a_key);
    carol.send(&format!("/add {b_code} hi"));
    assert!(bob.expect("request: ").starts_with(&c_key));
    bob.send(&format!("/accept {c_key}"));
    assert_eq!(carol.expect("contact: "), b_key);

    // Alice makes a group; Bob and Carol join.
    alice.send(&format!("/group friends {b_key},{c_key}"));
    let group = alice.expect("group: ");
    let group = group.split_whitespace().next().unwrap().to_owned();
    for p in [&mut bob, &mut carol] {
        assert!(p.expect("group-invite: ").starts_with(&group));
        p.send(&format!("/join {group}"));
        p.expect("joined: ");
    }
    // Messages go to members who joined: wait until Alice has seen both joins.
    for _ in 0..2 {
        assert_eq!(alice.expect("group-updated: "), group);
    }

    alice.send(&format!("/gmsg {group} hello group"));
    assert_eq!(expect_gmessage(&mut bob, &group, "hello group"), a_key);
    assert_eq!(expect_gmessage(&mut carol, &group, "hello group"), a_key);
    bob.send(&format!("/gmsg {group} hi from bob"));
    assert_eq!(expect_gmessage(&mut alice, &group, "hi from bob"), b_key);
    assert_eq!(expect_gmessage(&mut carol, &group, "hi from bob"), b_key);

    // Carol is killed; Alice writes; Carol comes back and gets it, group intact.
    carol.kill();
    alice.send(&format!("/gmsg {group} while carol was away"));
    alice.expect("sent: ");
    let (mut carol, _, _, _) = start("carol", &dirs[2], Some(&a_addr));
    assert_eq!(
        expect_gmessage(&mut carol, &group, "while carol was away"),
        a_key
    );
    carol.send(&format!("/gmsg {group} back in the group"));
    assert_eq!(
        expect_gmessage(&mut alice, &group, "back in the group"),
        c_key
    );
    assert_eq!(
        expect_gmessage(&mut bob, &group, "back in the group"),
        c_key
    );
}

fn oneshot(dir: &Path, args: &[&str]) -> String {
    let out = base(dir).args(args).stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn one_shot_commands_against_a_running_node() {
    let root = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (root.path().join("alice"), root.path().join("bob"));
    init(&a_dir, "Alice");
    init(&b_dir, "Bob");
    // Bob's one-shot commands listen on loopback only.
    std::fs::write(
        b_dir.join("config.toml"),
        "listen = [\"/ip4/127.0.0.1/tcp/0\"]\n",
    )
    .unwrap();
    let (mut alice, a_addr, a_key, a_code) = start("alice", &a_dir, None);

    let out = oneshot(
        &b_dir,
        &["add", &a_code, "--intro", "one shot", "--peer", &a_addr],
    );
    assert!(out.contains("Contact request sent"), "{out}");
    let request = alice.expect("request: ");
    assert!(request.ends_with("one shot"), "{request}");
    let b_key = request.split_whitespace().next().unwrap().to_owned();
    alice.send(&format!("/accept {b_key}"));
    alice.expect("accepted: ");

    // Bob picks up the acceptance and sends; Alice gets the message.
    let out = oneshot(
        &b_dir,
        &[
            "send",
            &a_key,
            "hello from a one-shot",
            "--peer",
            &a_addr,
            "--wait",
            "90",
        ],
    );
    assert!(out.contains("Delivered."), "{out}");
    loop {
        if alice.expect("message: ") == format!("{b_key} hello from a one-shot") {
            break;
        }
    }
    let chats = oneshot(&b_dir, &["chats"]);
    assert!(
        chats.contains(&a_key) && chats.contains("Mutual"),
        "{chats}"
    );
    let history = oneshot(&b_dir, &["history", &a_key]);
    assert!(history.contains("me: hello from a one-shot"), "{history}");
    let requests = oneshot(&a_dir.join("nowhere"), &["--help"]);
    assert!(requests.contains("requests"));
}
