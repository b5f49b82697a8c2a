//! The one-shot subcommands: `requests`, `chats` and `history` read the account database;
//! `add`, `accept` and `send` start the node, do one thing, wait a little for the other
//! side, and stop (what is not acknowledged yet is sent again the next time the node
//! runs).

use std::fmt::Write as _;
use std::time::Duration;

use status::account::Account;
use status::chat::{ChatId, ChatStore as _, ContactState, GroupId, MemoryStore};
use status::identity::{ChatKey, ContactCode, IdentityPublicKey};
use status::node::{self, NodeConfig, NodeEvent};
use status::store::StoreError;

use crate::config::Config;
use crate::error::CliError;
use crate::output;

fn chat_key(key: &IdentityPublicKey) -> String {
    ChatKey::from(*key).to_string()
}

fn load(account: &mut Account) -> Result<MemoryStore, CliError> {
    let (_, chat) = account
        .store_mut()
        .transaction(|tx| status::persist::load(tx))
        .map_err(|e: StoreError| CliError::Other(format!("cannot read the account: {e}")))?;
    Ok(chat)
}

/// `status-chat requests`.
pub(crate) fn requests(mut account: Account) -> Result<(), CliError> {
    let store = load(&mut account)?;
    let mut out = String::new();
    let mut n = 0;
    for c in store.contacts() {
        if c.state() == ContactState::RequestReceived {
            n += 1;
            let _ = writeln!(out, "{}  \"{}\"", chat_key(&c.key), c.intro);
        }
    }
    if n == 0 {
        let _ = writeln!(out, "No contact requests.");
    } else {
        let _ = writeln!(out, "Accept one with `status-chat accept <chat-key>`.");
    }
    output::print(&out);
    Ok(())
}

/// `status-chat chats`.
pub(crate) fn chats(mut account: Account) -> Result<(), CliError> {
    let store = load(&mut account)?;
    let mut out = String::new();
    for c in store.contacts() {
        let chat = ChatId::OneToOne(c.key);
        let messages = store.messages(&chat);
        let last = messages.last().map(|m| m.text.as_str()).unwrap_or("");
        let _ = writeln!(
            out,
            "{}  {:?}  {} messages  {}",
            chat_key(&c.key),
            c.state(),
            messages.len(),
            last
        );
    }
    for g in store.groups() {
        let messages = store.messages(&ChatId::Group(g.id().clone()));
        let _ = writeln!(
            out,
            "{}  group \"{}\"  {} members  {} messages",
            g.id(),
            g.name(),
            g.members().len(),
            messages.len()
        );
    }
    if out.is_empty() {
        out.push_str("No chats yet. Add someone with `status-chat add <contact-code>`.\n");
    }
    output::print(&out);
    Ok(())
}

fn parse_chat(text: &str) -> Result<ChatId, CliError> {
    if let Ok(key) = ChatKey::parse(text) {
        return Ok(ChatId::OneToOne(*key.public_key()));
    }
    GroupId::parse(text)
        .map(ChatId::Group)
        .map_err(|_| CliError::Other(format!("{text} is neither a chat key nor a group id")))
}

/// `status-chat history <chat>`.
pub(crate) fn history(mut account: Account, chat: &str, limit: usize) -> Result<(), CliError> {
    let chat = parse_chat(chat)?;
    let store = load(&mut account)?;
    let me = *account.public_key();
    let messages = store.messages(&chat);
    let skip = messages.len().saturating_sub(limit);
    let mut out = String::new();
    for m in messages.iter().skip(skip) {
        let who = if m.sender == me {
            "me".to_owned()
        } else {
            chat_key(&m.sender)
        };
        let text = if m.deleted { "(deleted)" } else { &m.text };
        let _ = writeln!(out, "[{}] {who}: {text}  {:?}", m.timestamp_ms, m.status());
    }
    if messages.is_empty() {
        out.push_str("No messages.\n");
    }
    output::print(&out);
    Ok(())
}

/// What a networked one-shot command does.
pub(crate) enum Action {
    Add { target: String, intro: String },
    Accept(String),
    Send { to: String, text: String },
}

fn parse_key(text: &str) -> Result<IdentityPublicKey, CliError> {
    ChatKey::parse(text)
        .map(|k| *k.public_key())
        .map_err(|e| CliError::Other(format!("{text} is not a chat key: {e}")))
}

/// `status-chat add|accept|send`: start, act, wait up to `wait` for the answer, stop.
pub(crate) fn networked(
    account: Account,
    config: &Config,
    peers: &[String],
    action: Action,
    wait: Duration,
) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Other(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let parse = |list: &[String]| -> Result<Vec<node::Multiaddr>, CliError> {
            list.iter()
                .map(|a| {
                    a.parse()
                        .map_err(|_| CliError::Other(format!("{a} is not a valid address")))
                })
                .collect()
        };
        let mut bootstrap = parse(&config.bootstrap)?;
        bootstrap.extend(parse(peers)?);
        let mut node_config = NodeConfig {
            listen: parse(&config.listen)?,
            cluster: config.cluster,
            shard: config.shard,
            display_name: config.display_name.clone(),
            ..NodeConfig::default()
        };
        node_config.bootstrap = bootstrap;
        // The peers named here are asked for missed messages too (e.g. an acceptance
        // that arrived while we were offline).
        let mut store_peers = parse(&config.store_peers)?;
        store_peers.extend(parse(peers)?);
        node_config.store_peers = store_peers;
        eprintln!("connecting…");
        let (handle, mut events) = node::start(account, node_config)
            .await
            .map_err(|e| CliError::Other(e.to_string()))?;
        let err = |e: status::node::NodeError| CliError::Other(e.to_string());
        let expect: Box<dyn Fn(&NodeEvent) -> bool + Send> = match action {
            Action::Add { target, intro } => {
                let key = if let Ok(code) = ContactCode::from_uri(&target) {
                    handle.add_contact(&code).await.map_err(err)?;
                    *code.identity()
                } else {
                    let key = parse_key(&target)?;
                    handle
                        .command(status::chat::Command::AddContact { key, bundle: None })
                        .await
                        .map_err(err)?;
                    key
                };
                handle.send_contact_request(key, &intro).await.map_err(err)?;
                println!("Contact request sent to {}.", chat_key(&key));
                Box::new(move |e| matches!(e, NodeEvent::Delivered { to, .. } if *to == key))
            }
            Action::Accept(who) => {
                let key = parse_key(&who)?;
                handle.accept(key).await.map_err(err)?;
                println!("Accepted {}.", chat_key(&key));
                Box::new(move |e| matches!(e, NodeEvent::Delivered { to, .. } if *to == key))
            }
            Action::Send { to, text } => {
                let key = parse_key(&to)?;
                let id = match handle.send_text(key, &text).await {
                    Err(status::node::NodeError::Command(
                        status::chat::CommandError::NotMutual,
                    )) => {
                        // The acceptance may still be on its way: wait for it.
                        eprintln!("waiting for {} to accept…", chat_key(&key));
                        let accepted = tokio::time::timeout(wait, async {
                            while let Some(e) = events.recv().await {
                                if matches!(e, NodeEvent::ContactAdded(k) if k == key) {
                                    return true;
                                }
                            }
                            false
                        })
                        .await
                        .unwrap_or(false);
                        if !accepted {
                            handle.shutdown().await;
                            return Err(CliError::Other(format!(
                                "{} has not accepted your contact request yet",
                                chat_key(&key)
                            )));
                        }
                        handle.send_text(key, &text).await.map_err(err)?
                    }
                    other => other.map_err(err)?,
                };
                println!("Sent.");
                Box::new(move |e| matches!(e, NodeEvent::Delivered { id: d, .. } if Some(*d) == id))
            }
        };
        let delivered = tokio::time::timeout(wait, async {
            while let Some(e) = events.recv().await {
                if expect(&e) {
                    return true;
                }
            }
            false
        })
        .await
        .unwrap_or(false);
        if delivered {
            println!("Delivered.");
        } else {
            println!(
                "Not acknowledged yet; it is sent again the next time status-chat runs (`status-chat run`)."
            );
        }
        handle.shutdown().await;
        Ok(())
    })
}
