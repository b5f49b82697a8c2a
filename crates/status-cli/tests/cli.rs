//! Drives the real `status-chat` binary: init, whoami, restore, and the error sentences.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn status_chat(dir: &Path, pass: Option<&str>, args: &[&str]) -> Output {
    status_chat_stdin(dir, pass, args, "")
}

fn status_chat_stdin(dir: &Path, pass: Option<&str>, args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_status-chat"));
    cmd.arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("STATUS_CHAT_INSECURE_TEST_KDF", "1")
        .env_remove("STATUS_CHAT_PASSPHRASE")
        .env_remove("STATUS_CHAT_PASSPHRASE_FILE")
        .env_remove("STATUS_CHAT_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(pass) = pass {
        cmd.env("STATUS_CHAT_PASSPHRASE", pass);
    }
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write as _;
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn field(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[test]
fn init_whoami_restore_and_errors() {
    let root = tempfile::tempdir().unwrap();
    let alice = root.path().join("alice");

    let out = status_chat(&alice, Some("secret"), &["init", "--name", "Alice"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let key = field(&text, "Chat key:");
    assert!(key.starts_with("z6Mk"), "{key}");
    let phrase = text
        .lines()
        .skip_while(|l| !l.starts_with("Your recovery phrase"))
        .find(|l| l.starts_with("    "))
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(phrase.split_whitespace().count(), 12);
    assert!(alice.join("config.toml").is_file());

    // whoami: the same key, an alias, 14 emojis, a contact code, a QR in the terminal
    // and as files.
    let png = root.path().join("qr.png");
    let svg = root.path().join("qr.svg");
    let out = status_chat(
        &alice,
        Some("secret"),
        &[
            "whoami",
            "--qr-png",
            png.to_str().unwrap(),
            "--qr-svg",
            svg.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(field(&text, "Chat key:"), key);
    assert_eq!(field(&text, "Alias:").split_whitespace().count(), 3);
    assert_eq!(field(&text, "Emoji hash:").chars().count(), 14);
    assert_eq!(field(&text, "Display name:"), "Alice");
    assert!(field(&text, "Contact code:").starts_with("status-rs://contact/"));
    assert!(text.contains('█'));
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));

    // The recovery phrase is never stored.
    for entry in std::fs::read_dir(&alice).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(phrase.len()).any(|w| w == phrase.as_bytes()),
                "phrase found in {}",
                path.display()
            );
        }
    }

    // Wrong passphrase, no passphrase, no account, existing account: one sentence each.
    let out = status_chat(&alice, Some("wrong"), &["whoami"]);
    assert!(!out.status.success());
    assert_eq!(stderr(&out).trim(), "status-chat: the passphrase is wrong");
    let out = status_chat(&alice, None, &["whoami"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no passphrase given"),
        "{}",
        stderr(&out)
    );
    let out = status_chat(&root.path().join("nobody"), Some("x"), &["whoami"]);
    assert!(
        stderr(&out).contains("there is no account in"),
        "{}",
        stderr(&out)
    );
    let out = status_chat(&alice, Some("secret"), &["init"]);
    assert!(
        stderr(&out).contains("already holds an account"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("panicked"));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));

    // Passphrase from a file.
    let pass_file = root.path().join("pass.txt");
    std::fs::write(&pass_file, "secret\n").unwrap();
    let out = status_chat(
        &alice,
        None,
        &[
            "--passphrase-file",
            pass_file.to_str().unwrap(),
            "whoami",
            "--no-qr",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).contains('█'));

    // Restore elsewhere from the phrase on standard input: the same chat key.
    let restored = root.path().join("restored");
    let out = status_chat_stdin(
        &restored,
        Some("other"),
        &["init", "--restore"],
        &format!("{phrase}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(field(&stdout(&out), "Chat key:"), key);
    let out = status_chat_stdin(
        &root.path().join("bad"),
        Some("other"),
        &["init", "--restore"],
        "not a real phrase\n",
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("recovery phrase"), "{}", stderr(&out));

    // Logs go to a file in the data directory.
    assert!(alice.join("logs").join("status-chat.log").is_file());
}
