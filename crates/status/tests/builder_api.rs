//! The facade's async API end to end: two nodes built with `Node::builder()` on loopback
//! (real TCP, real encrypted databases in temporary directories) exchange contact codes,
//! request and accept, then text, reply, react, edit and delete, and page the history;
//! a third builder restores an account from its recovery phrase.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use status::chat::{ChatId, Emoji, MessageId};
use status::node::{HistoryCursor, Node, NodeEvent, NodeEvents};
use status::store::Passphrase;

const STEP: Duration = Duration::from_secs(60);

async fn wait_for(
    events: &mut NodeEvents,
    what: &str,
    want: impl Fn(&NodeEvent) -> bool,
) -> NodeEvent {
    tokio::time::timeout(STEP, async {
        loop {
            match events.recv().await {
                Some(event) if want(&event) => return event,
                Some(_) => {}
                None => panic!("events closed while waiting for {what}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Polls `check` until it holds (the change it waits for produces no event).
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    tokio::time::timeout(STEP, async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

fn builder(dir: &std::path::Path, name: &str) -> status::node::NodeBuilder {
    Node::builder()
        .data_dir(dir.join(name))
        .passphrase(Passphrase::from("correct horse battery staple"))
        .listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .display_name(name)
        .insecure_kdf_for_tests_only()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_builders_chat_reply_react_edit_delete_and_page() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, mut alice_events, _) = builder(dir.path(), "alice").create().await.unwrap();
    let (bob, mut bob_events, _) = builder(dir.path(), "bob").create().await.unwrap();
    bob.dial(alice.dial_addr().unwrap().clone()).await.unwrap();
    wait_for(&mut alice_events, "bob's connection", |e| {
        matches!(e, NodeEvent::PeerConnected(_))
    })
    .await;

    let bob_code = bob.contact_code().await.unwrap();
    let alice_key = *alice.public_key();
    let bob_key = *bob.public_key();
    alice.add_contact(&bob_code).await.unwrap();
    alice
        .send_contact_request(bob_key, "hi, it's alice")
        .await
        .unwrap();
    wait_for(
        &mut bob_events,
        "the request",
        |e| matches!(e, NodeEvent::ContactRequest { from, .. } if *from == alice_key),
    )
    .await;
    bob.accept(alice_key).await.unwrap();
    wait_for(
        &mut alice_events,
        "the acceptance",
        |e| matches!(e, NodeEvent::ContactAdded(k) if *k == bob_key),
    )
    .await;

    let first = alice.send_text(bob_key, "first").await.unwrap().unwrap();
    wait_for(
        &mut bob_events,
        "first",
        |e| matches!(e, NodeEvent::Message { id, .. } if *id == first),
    )
    .await;
    // The relay's byte counters: a delivered message was written by one side and read
    // by the other.
    let (sent, got) = (
        alice.relay_traffic().await.unwrap(),
        bob.relay_traffic().await.unwrap(),
    );
    assert!(sent.bytes_out > 0 && sent.message_bytes_published > 0);
    assert!(got.bytes_in > 0 && got.message_bytes_received > 0);
    let reply = bob
        .reply(ChatId::OneToOne(alice_key), first, "reply to first")
        .await
        .unwrap()
        .unwrap();
    wait_for(
        &mut alice_events,
        "the reply",
        |e| matches!(e, NodeEvent::Message { id, .. } if *id == reply),
    )
    .await;

    let chat_at_bob = ChatId::OneToOne(alice_key);
    let chat_at_alice = ChatId::OneToOne(bob_key);
    let page = alice
        .history_page(chat_at_alice.clone(), HistoryCursor::Latest, 10)
        .await
        .unwrap();
    let got_reply = page.messages.iter().find(|m| m.id == reply).unwrap();
    assert_eq!(got_reply.response_to, Some(first));

    alice.react(reply, Emoji::ThumbsUp, false).await.unwrap();
    alice.edit(first, "first, edited").await.unwrap();
    let doomed = alice
        .send_text(bob_key, "to be deleted")
        .await
        .unwrap()
        .unwrap();
    wait_for(
        &mut bob_events,
        "the doomed message",
        |e| matches!(e, NodeEvent::Message { id, .. } if *id == doomed),
    )
    .await;
    alice.delete(doomed).await.unwrap();

    let find = |id: MessageId| {
        let bob = bob.clone();
        let chat = chat_at_bob.clone();
        async move {
            bob.history_page(chat, HistoryCursor::Latest, 100)
                .await
                .unwrap()
                .messages
                .into_iter()
                .find(|m| m.id == id)
        }
    };
    eventually("the edit at bob", || async {
        find(first).await.is_some_and(|m| m.text == "first, edited")
    })
    .await;
    eventually("the reaction at bob", || async {
        find(reply).await.is_some_and(|m| {
            m.reactions.iter().any(|((who, emoji), (_, on))| {
                *who == alice_key && *emoji == Emoji::ThumbsUp && *on
            })
        })
    })
    .await;
    eventually("the delete at bob", || async {
        find(doomed).await.is_none()
    })
    .await;
    assert!(
        bob.edit(first, "not mine").await.is_err(),
        "only the author edits"
    );

    // Paging: 5 more messages, read back newest first two at a time.
    for i in 0..5 {
        let id = alice
            .send_text(bob_key, &format!("m{i}"))
            .await
            .unwrap()
            .unwrap();
        wait_for(
            &mut bob_events,
            "a paged message",
            |e| matches!(e, NodeEvent::Message { id: got, .. } if *got == id),
        )
        .await;
    }
    let all = bob.history(chat_at_bob.clone()).await.unwrap();
    let mut cursor = HistoryCursor::Latest;
    let mut pages = Vec::new();
    loop {
        let page = bob
            .history_page(chat_at_bob.clone(), cursor, 2)
            .await
            .unwrap();
        assert!(page.messages.len() <= 2);
        pages.push(
            page.messages
                .into_iter()
                .map(|m| m.text)
                .collect::<Vec<_>>(),
        );
        match page.next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    let paged: Vec<String> = pages.into_iter().rev().flatten().collect();
    let whole: Vec<String> = all.into_iter().map(|(_, text)| text).collect();
    assert_eq!(
        paged, whole,
        "pages put together are the whole history, in order"
    );
    assert_eq!(paged.last().map(String::as_str), Some("m4"));

    alice.shutdown().await;
    bob.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builder_restores_an_account_and_reopens_it() {
    let dir = tempfile::tempdir().unwrap();
    let (node, _events, mnemonic) = builder(dir.path(), "original").create().await.unwrap();
    let key = *node.public_key();
    node.shutdown().await;

    let (restored, _events) = builder(dir.path(), "restored")
        .restore(&mnemonic.phrase())
        .await
        .unwrap();
    assert_eq!(
        *restored.public_key(),
        key,
        "the same words give the same identity"
    );
    restored.shutdown().await;

    let (reopened, _events) = builder(dir.path(), "restored").open().await.unwrap();
    assert_eq!(*reopened.public_key(), key);
    reopened.shutdown().await;

    let wrong = Node::builder()
        .data_dir(dir.path().join("restored"))
        .passphrase(Passphrase::from("wrong"))
        .open()
        .await;
    assert!(matches!(wrong, Err(status::node::NodeError::Account(_))));
    let missing = Node::builder()
        .data_dir(dir.path().join("restored"))
        .open()
        .await;
    assert!(matches!(missing, Err(status::node::NodeError::Config(_))));
}

/// A node that restarts and fetches its history from a store peer skips the messages it
/// had already handled (their hashes are in its seen table): they do not reach the
/// session layer again, where old messages of earlier ratchet steps would count as
/// undecryptable and start a needless session recovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_after_a_restart_skips_messages_already_handled() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, mut alice_events, _) = builder(dir.path(), "alice")
        .serve_store(true)
        .create()
        .await
        .unwrap();
    let store = alice.dial_addr().unwrap().clone();
    let bob_builder = |dir: &std::path::Path| builder(dir, "bob").store_peer(store.clone());
    let (bob, mut bob_events, _) = bob_builder(dir.path()).create().await.unwrap();
    wait_for(&mut bob_events, "the first history fetch", |e| {
        matches!(e, NodeEvent::HistoryFetched { .. })
    })
    .await;

    let bob_code = bob.contact_code().await.unwrap();
    let (alice_key, bob_key) = (*alice.public_key(), *bob.public_key());
    alice.add_contact(&bob_code).await.unwrap();
    alice.send_contact_request(bob_key, "hi").await.unwrap();
    wait_for(
        &mut bob_events,
        "the request",
        |e| matches!(e, NodeEvent::ContactRequest { from, .. } if *from == alice_key),
    )
    .await;
    bob.accept(alice_key).await.unwrap();
    wait_for(
        &mut alice_events,
        "the acceptance",
        |e| matches!(e, NodeEvent::ContactAdded(k) if *k == bob_key),
    )
    .await;
    let mut texts = Vec::new();
    for n in 0..3 {
        let id = alice
            .send_text(bob_key, &format!("text {n}"))
            .await
            .unwrap()
            .unwrap();
        wait_for(
            &mut bob_events,
            "a text",
            |e| matches!(e, NodeEvent::Message { id: got, .. } if *got == id),
        )
        .await;
        texts.push(id);
    }
    // Bob's acks reach Alice, so nothing is retransmitted while Bob is away.
    for id in &texts {
        wait_for(
            &mut alice_events,
            "a delivery",
            |e| matches!(e, NodeEvent::Delivered { id: got, .. } if got == id),
        )
        .await;
    }
    bob.shutdown().await;

    let (bob, mut bob_events) = bob_builder(dir.path()).open().await.unwrap();
    let NodeEvent::HistoryFetched { count, skipped } = wait_for(
        &mut bob_events,
        "the history fetch after the restart",
        |e| matches!(e, NodeEvent::HistoryFetched { .. }),
    )
    .await
    else {
        unreachable!()
    };
    // The store holds the request, the acceptance, the three texts and the acks; every
    // message addressed to Bob was handled before the restart.
    assert!(count >= 4, "the store returned {count} messages");
    assert!(
        skipped >= 4,
        "only {skipped} of {count} fetched messages were skipped as already handled"
    );
    let history = bob.history(ChatId::OneToOne(alice_key)).await.unwrap();
    assert_eq!(
        history
            .iter()
            .filter(|(_, t)| t.starts_with("text "))
            .count(),
        3,
        "each text is stored once"
    );
    bob.shutdown().await;
    alice.shutdown().await;
}
