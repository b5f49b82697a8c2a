//! Runs `status-chat demo` (two nodes on loopback) and checks its transcript.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn demo_transcript() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_status-chat"))
        .arg("demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: the demo's own steps time out after 60 s each; kill it after 5 minutes.
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(300) {
            child.kill().unwrap();
            panic!("demo did not finish");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected_in_order = [
        "== 1. Two accounts",
        "[Bob] connected to Alice's node",
        "== 2. Contact exchange",
        "[Alice] scanned Bob's code",
        "safety number",
        "== 3. X3DH and the contact request",
        "[Bob] contact request from Alice: \"Hi Bob, it's Alice\"",
        "[Alice] Bob accepted: mutual contacts",
        "[Alice] → \"Lunch tomorrow?\"",
        "[Bob] ← \"Lunch tomorrow?\"",
        "[Alice] ✓ delivered",
        "[Bob] → \"Sure, 12:30 at the usual place.\"",
        "[Alice] ← \"Sure, 12:30 at the usual place.\"",
        "[Bob] ✓ delivered",
        "[Bob] ← \"See you there!\"",
        "[Alice] history with Bob: 4 messages",
        "== 6. Bob goes away",
        "[Bob] node stopped",
        "[Alice] → \"Are you there?\" (Bob is offline)",
        "[Bob] account reopened",
        "[Bob] ← \"Are you there?\" (missed while offline)",
        "[Bob] ← \"Call me when you are back.\" (missed while offline)",
        "[Alice] ✓✓ both delivered",
        "[Alice] ← \"Back now: the same session goes on.\"",
        "[Bob] ✓ delivered",
        "== Done",
    ];
    let mut rest: &str = &text;
    for want in expected_in_order {
        let at = rest
            .find(want)
            .unwrap_or_else(|| panic!("missing {want:?} (in order) in:\n{text}"));
        rest = &rest[at + want.len()..];
    }
}
