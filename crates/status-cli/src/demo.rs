//! `status-chat demo`: two people on this machine, each with an account in a temporary
//! directory and a Waku node on loopback, play a first contact and a conversation.

use std::fmt::Write as _;
use std::time::Duration;

use status::account::{Account, CreateOptions};
use status::chat::ChatId;
use status::identity::ContactCode;
use status::node::{self, NodeConfig, NodeEvent, NodeEvents, NodeHandle};
use status::store::{KdfParams, Passphrase};

use crate::error::CliError;
use crate::output;

/// Longest wait for any one step.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

fn say(line: &str) {
    let mut text = String::with_capacity(line.len() + 1);
    let _ = writeln!(text, "{line}");
    output::print(&text);
}

fn fail(step: &str) -> CliError {
    CliError::Other(format!("the demo timed out while waiting for {step}"))
}

async fn wait_for(
    events: &mut NodeEvents,
    step: &str,
    mut want: impl FnMut(&NodeEvent) -> bool,
) -> Result<NodeEvent, CliError> {
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .map_err(|_| fail(step))?
            .ok_or_else(|| CliError::Other(format!("a node stopped while waiting for {step}")))?;
        if want(&event) {
            return Ok(event);
        }
    }
}

struct Person {
    name: &'static str,
    dir: std::path::PathBuf,
    handle: NodeHandle,
    events: NodeEvents,
}

fn passphrase(name: &str) -> Passphrase {
    Passphrase::from(format!("demo passphrase of {name}"))
}

fn loopback() -> Result<status::node::Multiaddr, CliError> {
    "/ip4/127.0.0.1/tcp/0"
        .parse()
        .map_err(|_| CliError::Other("bad listen address".into()))
}

async fn start_node(
    name: &'static str,
    account: Account,
    store_peers: Vec<status::node::Multiaddr>,
) -> Result<(NodeHandle, NodeEvents), CliError> {
    let mut config = NodeConfig {
        listen: vec![loopback()?],
        display_name: name.to_owned(),
        ..NodeConfig::default()
    };
    config.serve_store = true;
    config.store_peers = store_peers;
    node::start(account, config).await.map_err(node_err)
}

async fn person(name: &'static str, root: &std::path::Path) -> Result<Person, CliError> {
    let dir = root.join(name.to_lowercase());
    // Throw-away accounts: cheap key derivation so the demo starts at once.
    let options = CreateOptions::default()
        .with_kdf(KdfParams::INSECURE_FOR_TESTS_ONLY)
        .with_display_name(name);
    let (account, _mnemonic) = Account::create(&dir, &passphrase(name), options, &mut rand::rng())?;
    let key = account.chat_key();
    let alias = account.alias();
    let (handle, events) = start_node(name, account, Vec::new()).await?;
    say(&format!(
        "[{name}] account in {}; chat key {key} ({alias}); listening on {}",
        dir.display(),
        handle
            .dial_addr()
            .map_or_else(|| "?".to_owned(), ToString::to_string)
    ));
    Ok(Person {
        name,
        dir,
        handle,
        events,
    })
}

fn node_err(e: status::node::NodeError) -> CliError {
    CliError::Other(e.to_string())
}

pub(crate) fn run() -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Other(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(play())
}

async fn play() -> Result<(), CliError> {
    let root = std::env::temp_dir().join(format!("status-chat-demo-{}", std::process::id()));
    let result = play_in(&root).await;
    let _ = std::fs::remove_dir_all(&root);
    result
}

async fn play_in(root: &std::path::Path) -> Result<(), CliError> {
    say("== 1. Two accounts, two Waku nodes on loopback");
    let mut alice = person("Alice", root).await?;
    let mut bob = person("Bob", root).await?;
    let addr_alice = alice
        .handle
        .dial_addr()
        .cloned()
        .ok_or_else(|| CliError::Other("Alice's node is not listening".into()))?;
    bob.handle
        .dial(addr_alice.clone())
        .await
        .map_err(node_err)?;
    wait_for(&mut alice.events, "Bob's node to connect", |e| {
        matches!(e, NodeEvent::PeerConnected(_))
    })
    .await?;
    say("[Bob] connected to Alice's node");

    say("== 2. Contact exchange (what the QR codes carry)");
    let alice_code = alice
        .handle
        .contact_code()
        .await
        .map_err(node_err)?
        .to_uri();
    let bob_code = bob.handle.contact_code().await.map_err(node_err)?.to_uri();
    say(&format!(
        "[Alice] shows {}…",
        &alice_code[..48.min(alice_code.len())]
    ));
    say(&format!(
        "[Bob] shows {}…",
        &bob_code[..48.min(bob_code.len())]
    ));
    let scanned_bob =
        ContactCode::from_uri(&bob_code).map_err(|e| CliError::Other(e.to_string()))?;
    let scanned_alice =
        ContactCode::from_uri(&alice_code).map_err(|e| CliError::Other(e.to_string()))?;
    say("[Alice] scanned Bob's code: signature and prekey bundle verified");
    let bob_key = *scanned_bob.identity();
    let alice_key = *scanned_alice.identity();
    let safety = status::identity::SafetyNumber::new(&alice_key, &bob_key);
    say(&format!(
        "        safety number (same on both sides): {safety}"
    ));

    say("== 3. X3DH and the contact request");
    alice
        .handle
        .add_contact(&scanned_bob)
        .await
        .map_err(node_err)?;
    alice
        .handle
        .send_contact_request(bob_key, "Hi Bob, it's Alice")
        .await
        .map_err(node_err)?;
    say("[Alice] X3DH with Bob's bundle; contact request sent in the first ratchet message");
    let request = wait_for(&mut bob.events, "the contact request", |e| {
        matches!(e, NodeEvent::ContactRequest { .. })
    })
    .await?;
    if let NodeEvent::ContactRequest { intro, .. } = request {
        say(&format!(
            "[Bob] contact request from {}: \"{intro}\"",
            alice.name
        ));
    }

    say("== 4. Accept");
    bob.handle.accept(alice_key).await.map_err(node_err)?;
    say("[Bob] accepted");
    wait_for(
        &mut alice.events,
        "the acceptance",
        |e| matches!(e, NodeEvent::ContactAdded(k) if *k == bob_key),
    )
    .await?;
    say("[Alice] Bob accepted: mutual contacts");

    say("== 5. Messages both ways");
    let lines = [
        (true, "Lunch tomorrow?"),
        (false, "Sure, 12:30 at the usual place."),
        (true, "See you there!"),
    ];
    for (from_alice, text) in lines {
        let (sender, receiver, to) = if from_alice {
            (&mut alice, &mut bob, bob_key)
        } else {
            (&mut bob, &mut alice, alice_key)
        };
        let id = sender.handle.send_text(to, text).await.map_err(node_err)?;
        say(&format!("[{}] → \"{text}\"", sender.name));
        let got = wait_for(&mut receiver.events, "a message", |e| {
            matches!(e, NodeEvent::Message { .. })
        })
        .await?;
        if let NodeEvent::Message { text, .. } = got {
            say(&format!("[{}] ← \"{text}\"", receiver.name));
        }
        wait_for(
            &mut sender.events,
            "the delivery receipt",
            |e| matches!(e, NodeEvent::Delivered { id: d, .. } if Some(*d) == id),
        )
        .await?;
        say(&format!("[{}] ✓ delivered", sender.name));
    }
    let history = alice
        .handle
        .history(ChatId::OneToOne(bob_key))
        .await
        .map_err(node_err)?;
    say(&format!(
        "[Alice] history with Bob: {} messages (contact request included)",
        history.len()
    ));

    say("== 6. Bob goes away; Alice writes; Bob comes back");
    bob.handle.shutdown().await;
    say("[Bob] node stopped");
    let missed = ["Are you there?", "Call me when you are back."];
    let mut missed_ids = Vec::new();
    for text in missed {
        let id = alice
            .handle
            .send_text(bob_key, text)
            .await
            .map_err(node_err)?;
        missed_ids.push(id);
        say(&format!("[Alice] → \"{text}\" (Bob is offline)"));
    }
    let account = Account::open(&bob.dir, &passphrase(bob.name))?;
    say(
        "[Bob] account reopened: sessions, contacts and history come back from the encrypted database",
    );
    let (handle, events) = start_node(bob.name, account, vec![addr_alice.clone()]).await?;
    bob.handle = handle;
    bob.events = events;
    let mut got = Vec::new();
    while got.len() < missed.len() {
        let event = wait_for(&mut bob.events, "the missed messages", |e| {
            matches!(
                e,
                NodeEvent::Message { .. } | NodeEvent::HistoryFetched { .. }
            )
        })
        .await?;
        match event {
            NodeEvent::HistoryFetched { count, .. } => {
                say(&format!(
                    "[Bob] asked Alice's store for what he missed: {count} messages"
                ));
            }
            NodeEvent::Message { text, .. } => {
                say(&format!("[Bob] ← \"{text}\" (missed while offline)"));
                got.push(text);
            }
            _ => {}
        }
    }
    for id in missed_ids {
        wait_for(
            &mut alice.events,
            "the delivery receipts",
            |e| matches!(e, NodeEvent::Delivered { id: d, .. } if Some(*d) == id),
        )
        .await?;
    }
    say("[Alice] ✓✓ both delivered");
    let id = bob
        .handle
        .send_text(alice_key, "Back now: the same session goes on.")
        .await
        .map_err(node_err)?;
    say("[Bob] → \"Back now: the same session goes on.\"");
    wait_for(&mut alice.events, "Bob's message after his restart", |e| {
        matches!(e, NodeEvent::Message { .. })
    })
    .await?;
    say("[Alice] ← \"Back now: the same session goes on.\"");
    wait_for(
        &mut bob.events,
        "the delivery receipt",
        |e| matches!(e, NodeEvent::Delivered { id: d, .. } if Some(*d) == id),
    )
    .await?;
    say("[Bob] ✓ delivered");

    alice.handle.shutdown().await;
    bob.handle.shutdown().await;
    say("== Done");
    Ok(())
}
