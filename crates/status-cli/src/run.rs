//! `status-chat run`: the node in the foreground with a line-mode chat on the terminal.
//!
//! Lines starting with `/` are commands (see [`HELP`]); everything that happens is
//! printed as one line, prefixed so that scripts can read it:
//!
//! ```text
//! listening: <multiaddr>        an address others can use with --peer
//! chat-key: <z6Mk…>             who we are
//! contact-code: <status-rs://…> what `/add` takes (and the QR code carries)
//! request: <chat key> <intro>   a contact request arrived (/accept it)
//! contact: <chat key>           a contact became mutual
//! message: <chat key> <text>    a message arrived
//! sent: <message id>            a message left
//! delivered: <message id>       …and was acknowledged
//! failed: <message id>          …and gave up
//! history-fetched: <n>          missed messages asked from a store peer
//! error: <sentence>             a command failed
//! ```

use std::fmt::Write as _;

use status::account::Account;
use status::chat::ChatId;
use status::identity::{ChatKey, ContactCode, IdentityPublicKey};
use status::node::{self, Multiaddr, NodeConfig, NodeEvent, NodeHandle};
use tokio::io::AsyncBufReadExt as _;

use crate::config::Config;
use crate::error::CliError;
use crate::output;

/// The commands of the line mode.
pub(crate) const HELP: &str = "\
commands:
  /code                         show our contact code
  /add <contact-code> [intro]   add a contact and send a contact request
  /requests                     list contact requests waiting for an answer
  /accept <chat-key>            accept a contact request
  /chats                        list contacts
  /msg <chat-key> <text>        send a message
  /history <chat-key>           show a conversation
  /group <name> <key>[,<key>…]  create a group chat with mutual contacts
  /join <group-id>              join a group chat we were added to
  /gmsg <group-id> <text>       send a message to a group chat
  /quit                         stop";

fn say(line: &str) {
    let mut text = String::with_capacity(line.len() + 1);
    let _ = writeln!(text, "{line}");
    output::print(&text);
}

fn parse_addrs(list: &[String], what: &str) -> Result<Vec<Multiaddr>, CliError> {
    list.iter()
        .map(|a| {
            a.parse()
                .map_err(|_| CliError::Other(format!("{a} is not a valid {what} address")))
        })
        .collect()
}

fn hex(id: &status::chat::MessageId) -> String {
    id.to_hex()
}

fn chat_key(key: &IdentityPublicKey) -> String {
    ChatKey::from(*key).to_string()
}

/// Options of `run` that override `config.toml`.
#[derive(Debug, Default)]
pub(crate) struct RunOptions {
    pub(crate) listen: Vec<String>,
    pub(crate) peers: Vec<String>,
    pub(crate) store_peers: Vec<String>,
}

pub(crate) fn run(account: Account, config: &Config, options: RunOptions) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Other(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(run_async(account, config, options))
}

async fn run_async(account: Account, config: &Config, options: RunOptions) -> Result<(), CliError> {
    let listen = if options.listen.is_empty() {
        &config.listen
    } else {
        &options.listen
    };
    let mut bootstrap = parse_addrs(&config.bootstrap, "peer")?;
    bootstrap.extend(parse_addrs(&options.peers, "peer")?);
    let mut store_peers = parse_addrs(&config.store_peers, "store peer")?;
    store_peers.extend(parse_addrs(&options.store_peers, "store peer")?);
    let mut node_config = NodeConfig {
        listen: parse_addrs(listen, "listen")?,
        cluster: config.cluster,
        shard: config.shard,
        display_name: config.display_name.clone(),
        ..NodeConfig::default()
    };
    node_config.bootstrap = bootstrap;
    node_config.store_peers = store_peers;
    node_config.serve_store = config.serve_store;
    let key = account.chat_key().to_string();
    say("connecting…");
    let (handle, mut events) = node::start(account, node_config)
        .await
        .map_err(|e| CliError::Other(e.to_string()))?;
    if let Some(addr) = handle.dial_addr() {
        say(&format!("listening: {addr}"));
    }
    say(&format!("chat-key: {key}"));
    match handle.contact_code().await {
        Ok(code) => say(&format!("contact-code: {}", code.to_uri())),
        Err(e) => say(&format!("error: {e}")),
    }
    say("ready (type /help)");
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    loop {
        tokio::select! {
            line = lines.next_line(), if stdin_open => {
                match line {
                    Ok(Some(line)) => {
                        if !command(&handle, line.trim()).await {
                            break;
                        }
                    }
                    // End of input: keep running until killed (scripts close stdin).
                    Ok(None) | Err(_) => stdin_open = false,
                }
            }
            event = events.recv() => {
                let Some(event) = event else { break };
                show(&event);
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    handle.shutdown().await;
    say("stopped");
    Ok(())
}

fn show(event: &NodeEvent) {
    match event {
        NodeEvent::PeerConnected(peer) => say(&format!("peer: {peer}")),
        NodeEvent::ContactRequest { from, intro } => {
            say(&format!("request: {} {intro}", chat_key(from)));
        }
        NodeEvent::ContactAdded(key) => say(&format!("contact: {}", chat_key(key))),
        NodeEvent::Message {
            chat: ChatId::Group(group),
            from,
            text,
            ..
        } => {
            say(&format!("gmessage: {group} {} {text}", chat_key(from)));
        }
        NodeEvent::Message { from, text, .. } => {
            say(&format!("message: {} {text}", chat_key(from)));
        }
        NodeEvent::GroupInvitation { group, from } => {
            say(&format!("group-invite: {group} {}", chat_key(from)));
        }
        NodeEvent::GroupUpdated(group) => say(&format!("group-updated: {group}")),
        NodeEvent::Delivered { id, .. } => say(&format!("delivered: {}", hex(id))),
        NodeEvent::DeliveryFailed { id, .. } => say(&format!("failed: {}", hex(id))),
        NodeEvent::HistoryFetched { count, .. } => say(&format!("history-fetched: {count}")),
        _ => {}
    }
}

fn parse_key(text: &str) -> Result<IdentityPublicKey, String> {
    ChatKey::parse(text)
        .map(|k| *k.public_key())
        .map_err(|e| format!("{text} is not a chat key: {e}"))
}

fn parse_group(text: &str) -> Result<status::chat::GroupId, String> {
    status::chat::GroupId::parse(text.trim()).map_err(|e| format!("{text} is not a group id: {e}"))
}

/// Runs one line; returns false to stop.
async fn command(handle: &NodeHandle, line: &str) -> bool {
    if line.is_empty() {
        return true;
    }
    let (cmd, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim();
    let result: Result<(), String> = async {
        match cmd {
            "/quit" | "/exit" => return Err(String::new()),
            "/help" => say(HELP),
            "/code" => {
                let code = handle.contact_code().await.map_err(|e| e.to_string())?;
                say(&format!("contact-code: {}", code.to_uri()));
            }
            "/add" => {
                let (code, intro) = rest.split_once(' ').unwrap_or((rest, ""));
                let code =
                    ContactCode::from_uri(code).map_err(|e| format!("not a contact code: {e}"))?;
                let intro = if intro.is_empty() { "Hi!" } else { intro };
                handle.add_contact(&code).await.map_err(|e| e.to_string())?;
                handle
                    .send_contact_request(*code.identity(), intro)
                    .await
                    .map_err(|e| e.to_string())?;
                say(&format!("requested: {}", chat_key(code.identity())));
            }
            "/accept" => {
                let key = parse_key(rest)?;
                handle.accept(key).await.map_err(|e| e.to_string())?;
                say(&format!("accepted: {}", chat_key(&key)));
            }
            "/requests" | "/chats" => {
                let contacts = handle.contacts().await.map_err(|e| e.to_string())?;
                let want_requests = cmd == "/requests";
                for c in contacts {
                    let state = c.state();
                    let pending = matches!(state, status::chat::ContactState::RequestReceived);
                    if want_requests == pending || (!want_requests && c.is_mutual()) {
                        say(&format!("{}: {} {:?}", &cmd[1..], chat_key(&c.key), state));
                    }
                }
                say(&format!("end: {}", &cmd[1..]));
            }
            "/msg" => {
                let (key, text) = rest
                    .split_once(' ')
                    .ok_or_else(|| "usage: /msg <chat-key> <text>".to_owned())?;
                let key = parse_key(key)?;
                let id = handle
                    .send_text(key, text.trim())
                    .await
                    .map_err(|e| e.to_string())?;
                if let Some(id) = id {
                    say(&format!("sent: {}", hex(&id)));
                }
            }
            "/history" => {
                let key = parse_key(rest)?;
                let list = handle
                    .history(ChatId::OneToOne(key))
                    .await
                    .map_err(|e| e.to_string())?;
                for (from, text) in &list {
                    say(&format!("history: {} {text}", chat_key(from)));
                }
                say(&format!("end: history {}", list.len()));
            }
            "/group" => {
                let (name, keys) = rest
                    .split_once(' ')
                    .ok_or_else(|| "usage: /group <name> <key>[,<key>…]".to_owned())?;
                let members = keys
                    .split(',')
                    .map(|k| parse_key(k.trim()))
                    .collect::<Result<Vec<_>, _>>()?;
                let before: Vec<_> = handle
                    .groups()
                    .await
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|g| g.id().clone())
                    .collect();
                handle
                    .command(status::chat::Command::CreateGroup {
                        name: name.to_owned(),
                        members,
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                for g in handle.groups().await.map_err(|e| e.to_string())? {
                    if !before.contains(g.id()) {
                        say(&format!("group: {} {}", g.id(), g.name()));
                    }
                }
            }
            "/join" => {
                let id = parse_group(rest)?;
                handle
                    .command(status::chat::Command::Group {
                        id,
                        event: status::chat::GroupEventKind::MemberJoined,
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                say(&format!("joined: {rest}"));
            }
            "/gmsg" => {
                let (id, text) = rest
                    .split_once(' ')
                    .ok_or_else(|| "usage: /gmsg <group-id> <text>".to_owned())?;
                let ids = handle
                    .command(status::chat::Command::SendText {
                        chat: ChatId::Group(parse_group(id)?),
                        text: text.trim().to_owned(),
                        reply_to: None,
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                for id in ids {
                    say(&format!("sent: {}", hex(&id)));
                }
            }
            other => return Err(format!("unknown command {other}; type /help")),
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => true,
        Err(e) if e.is_empty() => false,
        Err(e) => {
            say(&format!("error: {e}"));
            true
        }
    }
}
