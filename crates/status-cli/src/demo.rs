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
    account: Account,
    handle: NodeHandle,
    events: NodeEvents,
}

async fn person(name: &'static str, root: &std::path::Path) -> Result<Person, CliError> {
    let dir = root.join(name.to_lowercase());
    // Throw-away accounts: cheap key derivation so the demo starts at once.
    let options = CreateOptions::default()
        .with_kdf(KdfParams::INSECURE_FOR_TESTS_ONLY)
        .with_display_name(name);
    let (account, _mnemonic) = Account::create(
        &dir,
        &Passphrase::from(format!("demo passphrase of {name}")),
        options,
        &mut rand::rng(),
    )?;
    let identity =
        status::identity::IdentityKeyPair::from_secret_bytes(&account.identity().to_secret_bytes());
    let config = NodeConfig {
        listen: vec![
            "/ip4/127.0.0.1/tcp/0"
                .parse()
                .map_err(|_| CliError::Other("bad listen address".into()))?,
        ],
        display_name: name.to_owned(),
        ..NodeConfig::default()
    };
    let (handle, events) = node::start(identity, config)
        .await
        .map_err(|e| CliError::Other(e.to_string()))?;
    say(&format!(
        "[{name}] account in {}; chat key {} ({}); listening on {}",
        dir.display(),
        account.chat_key(),
        account.alias(),
        handle
            .dial_addr()
            .map_or_else(|| "?".to_owned(), ToString::to_string)
    ));
    Ok(Person {
        name,
        account,
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
    let addr = alice
        .handle
        .dial_addr()
        .cloned()
        .ok_or_else(|| CliError::Other("Alice's node is not listening".into()))?;
    bob.handle.dial(addr).await.map_err(node_err)?;
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

    say("== 6. Restart with delivery of what was missed");
    say("   not yet: this version keeps chat state in memory (see the project notes)");

    alice.handle.shutdown().await;
    bob.handle.shutdown().await;
    let _ = (&alice.account, &bob.account);
    say("== Done");
    Ok(())
}
