//! A running chat node: a Waku relay node (`waku-relay`) joined to the chat state
//! machine (`status-chat` over `status-sessions`), driven by one tokio task.
//!
//! The node owns the [`Account`]: every state change of the session and chat layers is
//! committed to the account database in one transaction ([`crate::persist`]) before the
//! Waku messages it produced are published, so a crash never leaves a ratchet behind a
//! message already sent; messages that were committed but not published are sent again
//! by the chat layer's retransmissions. A restarted node picks up its sessions,
//! contacts, messages and outbox.
//!
//! Offline delivery: a node can serve store v3 ([`NodeConfig::serve_store`]); when a
//! store peer ([`NodeConfig::store_peers`]) connects, the node asks it for what was sent
//! on its topics since it was last online and feeds the answers to the chat layer
//! (duplicates are dropped by message id).
//!
//! The node task owns everything; a [`NodeHandle`] sends it commands and a
//! [`NodeEvents`] receiver gets what happened. Outgoing Waku messages are published in
//! the task body, never inside a `select!` branch, so none is lost to cancellation.

use std::time::Duration;

use rand::SeedableRng as _;
use rand::rngs::StdRng;
use status_chat::sessions::X3dhSessions;
use status_chat::{Chat, ChatConfig, ChatId, ChatStore as _, Command, MessageId, Output};
use status_identity::{ContactCode, IdentityKeyPair, IdentityPublicKey};
use waku_relay::store::StoreQuery;

use crate::account::Account;
use crate::persist::{self, RecordingSessionStore};
use crate::store::StoreError;
use status_sessions::{DeviceInfo, SessionManager};
use tokio::sync::{mpsc, oneshot};
use waku_relay::{MessageHash, PubsubTopic, WakuMessage};

pub use libp2p::Multiaddr;

/// Capacity of the command and event channels.
pub const CHANNEL_CAP: usize = 256;
/// How often retransmissions are checked when nothing else happens.
const TICK: Duration = Duration::from_millis(500);

/// Settings of a node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Waku cluster.
    pub cluster: u16,
    /// Shard of the cluster.
    pub shard: u16,
    /// Display name sent with messages.
    pub display_name: String,
    /// Peers to connect to at start.
    pub bootstrap: Vec<Multiaddr>,
    /// Peers that serve store v3, asked for missed messages when they connect
    /// (addresses ending in `/p2p/<peer id>`; dialled at start too).
    pub store_peers: Vec<Multiaddr>,
    /// Keep messages for others (serve store v3 from memory).
    pub serve_store: bool,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            listen: Vec::new(),
            cluster: 16,
            shard: 32,
            display_name: String::new(),
            bootstrap: Vec::new(),
            store_peers: Vec::new(),
            serve_store: false,
        }
    }
}

/// Why the node could not start or a command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The relay node could not start.
    #[error("the network node could not start: {0}")]
    Relay(String),
    /// The session layer could not start.
    #[error("the session layer could not start: {0}")]
    Sessions(String),
    /// The chat layer refused the command.
    #[error("{0}")]
    Command(#[from] status_chat::CommandError),
    /// A contact code could not be made.
    #[error("cannot make a contact code: {0}")]
    ContactCode(#[from] status_identity::ContactCodeError),
    /// Dialling a peer failed.
    #[error("cannot connect to {addr}: {reason}")]
    Dial {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
    /// The account database failed.
    #[error("the account database failed: {0}")]
    Store(#[from] StoreError),
    /// The node has stopped.
    #[error("the node has stopped")]
    Stopped,
    /// The account could not be created, restored or opened.
    #[error(transparent)]
    Account(#[from] crate::account::AccountError),
    /// The builder lacks a setting it needs.
    #[error("{0}")]
    Config(&'static str),
}

/// A running node: the handle that [`Node::builder`] gives.
pub type Node = NodeHandle;

/// Builds and starts a [`Node`]: the account's data directory and passphrase, where to
/// listen, whom to dial, the Waku cluster and shard, store peers and whether to serve
/// store.
///
/// ```no_run
/// # async fn run() -> Result<(), status::node::NodeError> {
/// use status::node::{Node, NodeEvent};
/// use status::store::Passphrase;
///
/// let (node, mut events) = Node::builder()
///     .data_dir("/path/to/account")
///     .passphrase(Passphrase::from("correct horse battery staple"))
///     .listen("/ip4/127.0.0.1/tcp/0".parse().expect("an address"))
///     .open()
///     .await?;
/// println!("contact code: {}", node.contact_code().await?.to_uri());
/// while let Some(event) = events.recv().await {
///     if let NodeEvent::Message { text, .. } = event {
///         println!("{text}");
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct NodeBuilder {
    data_dir: Option<std::path::PathBuf>,
    passphrase: Option<crate::store::Passphrase>,
    config: NodeConfig,
    kdf: Option<crate::store::KdfParams>,
}

impl NodeHandle {
    /// A builder for a node.
    pub fn builder() -> NodeBuilder {
        NodeBuilder::default()
    }
}

impl NodeBuilder {
    /// The account's data directory (default: the platform's, [`crate::paths`]).
    pub fn data_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// The passphrase that unlocks the account database.
    pub fn passphrase(mut self, passphrase: crate::store::Passphrase) -> Self {
        self.passphrase = Some(passphrase);
        self
    }

    /// An address to listen on (repeatable; default: any port on loopback).
    pub fn listen(mut self, addr: Multiaddr) -> Self {
        self.config.listen.push(addr);
        self
    }

    /// A peer to connect to at start (repeatable).
    pub fn bootstrap(mut self, addr: Multiaddr) -> Self {
        self.config.bootstrap.push(addr);
        self
    }

    /// The Waku cluster and shard: the pubsub topic is `/waku/2/rs/<cluster>/<shard>`
    /// (default 16/32, what Status uses for 1:1 chats).
    pub fn shard(mut self, cluster: u16, shard: u16) -> Self {
        self.config.cluster = cluster;
        self.config.shard = shard;
        self
    }

    /// A peer serving store v3, asked for missed messages when it connects (repeatable;
    /// the address must end in `/p2p/<peer id>`).
    pub fn store_peer(mut self, addr: Multiaddr) -> Self {
        self.config.store_peers.push(addr);
        self
    }

    /// Whether this node keeps messages for others (serves store v3).
    pub fn serve_store(mut self, serve: bool) -> Self {
        self.config.serve_store = serve;
        self
    }

    /// The display name sent with messages.
    pub fn display_name(mut self, name: &str) -> Self {
        self.config.display_name = name.to_owned();
        self
    }

    /// Cheap key derivation for new accounts. Tests only: an account created so falls
    /// to a dictionary attack at once.
    #[doc(hidden)]
    pub fn insecure_kdf_for_tests_only(mut self) -> Self {
        self.kdf = Some(crate::store::KdfParams::INSECURE_FOR_TESTS_ONLY);
        self
    }

    fn parts(&mut self) -> Result<(std::path::PathBuf, crate::store::Passphrase), NodeError> {
        let dir = match self.data_dir.take() {
            Some(dir) => dir,
            None => crate::paths::default_data_dir().ok_or(NodeError::Config(
                "no data directory given and no default found",
            ))?,
        };
        let passphrase = self
            .passphrase
            .take()
            .ok_or(NodeError::Config("no passphrase given"))?;
        Ok((dir, passphrase))
    }

    fn options(&self) -> crate::account::CreateOptions {
        let options = crate::account::CreateOptions::default()
            .with_display_name(self.config.display_name.clone());
        match self.kdf {
            Some(kdf) => options.with_kdf(kdf),
            None => options,
        }
    }

    /// Opens the existing account and starts the node.
    pub async fn open(mut self) -> Result<(NodeHandle, NodeEvents), NodeError> {
        let (dir, passphrase) = self.parts()?;
        let account = blocking(move || Account::open(&dir, &passphrase)).await??;
        start(account, self.config).await
    }

    /// Creates a new account and starts the node; the recovery phrase is returned once,
    /// for the user to write down (it is not stored).
    pub async fn create(
        mut self,
    ) -> Result<(NodeHandle, NodeEvents, status_identity::Mnemonic), NodeError> {
        let (dir, passphrase) = self.parts()?;
        let options = self.options();
        let (account, mnemonic) =
            blocking(move || Account::create(&dir, &passphrase, options, &mut rand::rng()))
                .await??;
        let (node, events) = start(account, self.config).await?;
        Ok((node, events, mnemonic))
    }

    /// Restores an account from its recovery phrase (same identity, new device) and
    /// starts the node.
    pub async fn restore(mut self, phrase: &str) -> Result<(NodeHandle, NodeEvents), NodeError> {
        let (dir, passphrase) = self.parts()?;
        let options = self.options();
        let phrase = zeroize::Zeroizing::new(phrase.to_owned());
        let account = blocking(move || {
            Account::restore(&dir, &passphrase, &phrase, options, &mut rand::rng())
        })
        .await??;
        start(account, self.config).await
    }
}

/// Runs the key derivation (seconds of CPU) off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, NodeError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| NodeError::Config("the account task stopped"))
}

/// What happened, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
// Identity keys carry their decompressed point; events are few, so size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum NodeEvent {
    /// A peer connected.
    PeerConnected(String),
    /// A contact request arrived.
    ContactRequest {
        /// From.
        from: IdentityPublicKey,
        /// Its intro text.
        intro: String,
    },
    /// A contact became mutual.
    ContactAdded(IdentityPublicKey),
    /// A message arrived.
    Message {
        /// The chat.
        chat: ChatId,
        /// Its id.
        id: MessageId,
        /// Sender.
        from: IdentityPublicKey,
        /// Text.
        text: String,
    },
    /// A message of ours was acknowledged.
    Delivered {
        /// Its id.
        id: MessageId,
        /// By.
        to: IdentityPublicKey,
    },
    /// A contact added us to a group chat.
    GroupInvitation {
        /// The group.
        group: status_chat::GroupId,
        /// By whom.
        from: IdentityPublicKey,
    },
    /// A group chat changed (members, name, admins), or was created.
    GroupUpdated(status_chat::GroupId),
    /// Missed messages were fetched from a store peer.
    HistoryFetched {
        /// How many messages the store returned.
        count: usize,
        /// How many of them this node had handled already (relayed to it, or fetched
        /// before): skipped without reaching the chat and session layers.
        skipped: usize,
    },
    /// A message of ours gave up.
    DeliveryFailed {
        /// Its id.
        id: MessageId,
        /// To.
        to: IdentityPublicKey,
    },
}

type Reply<T> = oneshot::Sender<Result<T, NodeError>>;

enum Request {
    ContactCode(Reply<ContactCode>),
    Dial(Multiaddr, Reply<()>),
    Chat(Box<Command>, Reply<Vec<MessageId>>),
    Messages(ChatId, Reply<Vec<(IdentityPublicKey, String)>>),
    Page(ChatId, HistoryCursor, usize, Reply<HistoryPage>),
    Contacts(Reply<Vec<status_chat::Contact>>),
    Groups(Reply<Vec<status_chat::GroupChat>>),
    Traffic(Reply<waku_relay::Traffic>),
    Shutdown(oneshot::Sender<()>),
}

/// Sends commands to a running node. Cheap to clone.
#[derive(Clone)]
pub struct NodeHandle {
    requests: mpsc::Sender<Request>,
    public: IdentityPublicKey,
    dial_addr: Option<Multiaddr>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle")
            .field("public", &self.public)
            .field("dial_addr", &self.dial_addr)
            .finish_non_exhaustive()
    }
}

/// The events of a node.
pub type NodeEvents = mpsc::Receiver<NodeEvent>;

/// Most messages in one [`HistoryPage`].
pub const MAX_HISTORY_PAGE: usize = 500;

/// Where a history page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryCursor {
    /// The newest messages.
    Latest,
    /// The messages that sort before this position (from [`HistoryPage::next`]).
    Before(usize),
}

/// A page of a chat's history, oldest first within the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    /// The messages, in display order (the order both sides agree on).
    pub messages: Vec<status_chat::StoredMessage>,
    /// The cursor of the next (older) page, if there is one.
    pub next: Option<HistoryCursor>,
}

impl HistoryPage {
    fn of(
        all: Vec<status_chat::StoredMessage>,
        cursor: HistoryCursor,
        limit: usize,
    ) -> HistoryPage {
        let visible: Vec<_> = all.into_iter().filter(|m| !m.deleted).collect();
        let end = match cursor {
            HistoryCursor::Latest => visible.len(),
            HistoryCursor::Before(position) => position.min(visible.len()),
        };
        let start = end.saturating_sub(limit.clamp(1, MAX_HISTORY_PAGE));
        let next = (start > 0).then_some(HistoryCursor::Before(start));
        let messages = visible.into_iter().skip(start).take(end - start).collect();
        HistoryPage { messages, next }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn ms_to_ns(ms: u64) -> i64 {
    i64::try_from(ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX)
}

/// Starts a node for `account` and returns its handle and event receiver.
pub async fn start(
    mut account: Account,
    config: NodeConfig,
) -> Result<(NodeHandle, NodeEvents), NodeError> {
    let topic = PubsubTopic::shard(config.cluster, config.shard);
    let relay_config = waku_relay::Config {
        listen_addrs: if config.listen.is_empty() {
            waku_relay::Config::default().listen_addrs
        } else {
            config.listen.clone()
        },
        pubsub_topics: vec![topic.clone()],
        store: config.serve_store.then(waku_relay::StoreConfig::default),
        ..waku_relay::Config::default()
    };
    let mut rng = StdRng::from_rng(&mut rand::rng());
    let identity = IdentityKeyPair::from_secret_bytes(&account.identity().to_secret_bytes());
    let Restored {
        manager,
        sessions: session_store,
        chat: chat_store,
        last_online,
    } = restore(&mut account, &mut rng)?;
    let (relay, relay_events) = waku_relay::Node::start(relay_config)
        .await
        .map_err(|e| NodeError::Relay(e.to_string()))?;
    let sessions = X3dhSessions::new(manager, session_store);
    let public = *identity.public_key();
    let own = IdentityKeyPair::from_secret_bytes(&identity.to_secret_bytes());
    let chat_config = ChatConfig {
        display_name: config.display_name.clone(),
        ..ChatConfig::default()
    };
    let chat = Chat::new(identity, chat_config, chat_store);
    let (req_tx, req_rx) = mpsc::channel(CHANNEL_CAP);
    let (ev_tx, ev_rx) = mpsc::channel(CHANNEL_CAP);
    let dial_addr = relay.dial_addr();
    for addr in config.bootstrap.iter().chain(&config.store_peers) {
        if let Err(e) = relay.dial(addr.clone()).await {
            tracing::warn!(%addr, error = %e, "cannot dial");
        }
    }
    let store_peers = config.store_peers.iter().filter_map(peer_id_of).collect();
    let task = Task {
        relay,
        relay_events,
        topic,
        chat,
        sessions,
        own,
        display_name: config.display_name.clone(),
        account,
        rng,
        events: ev_tx,
        store_peers,
        last_online: last_online.unwrap_or(0),
        last_saved_ms: 0,
    };
    tokio::spawn(task.run(req_rx));
    Ok((
        NodeHandle {
            requests: req_tx,
            public,
            dial_addr,
        },
        ev_rx,
    ))
}

/// What the account database holds for a node.
struct Restored {
    manager: SessionManager,
    sessions: RecordingSessionStore,
    chat: status_chat::MemoryStore,
    last_online: Option<u64>,
}

/// Loads the layers' state from the account; the first time, creates this device's
/// session state (installation id, signed prekey) and saves it.
fn restore(account: &mut Account, rng: &mut StdRng) -> Result<Restored, NodeError> {
    let (session_store, chat_store, last_online) = account.store_mut().transaction(|tx| {
        let (s, c) = persist::load(tx)?;
        let last = tx
            .kv_get(NS_NODE, KEY_LAST_ONLINE)?
            .and_then(|v| v.as_slice().try_into().ok().map(u64::from_be_bytes));
        Ok::<_, StoreError>((s, c, last))
    })?;
    let copy = IdentityKeyPair::from_secret_bytes(&account.identity().to_secret_bytes());
    let now_ns = ms_to_ns(now_ms());
    let (manager, session_store) = if session_store.has_device() {
        let manager = SessionManager::restore(
            copy,
            status_sessions::Config::default(),
            &session_store,
            now_ns,
        )
        .map_err(|e| NodeError::Sessions(e.to_string()))?;
        (manager, session_store)
    } else {
        let (manager, changes) = SessionManager::new(
            rng,
            copy,
            status_sessions::Config::default(),
            DeviceInfo::default(),
            now_ns,
        )
        .map_err(|e| NodeError::Sessions(e.to_string()))?;
        let mut store = session_store;
        changes
            .apply(&mut store)
            .map_err(|e| NodeError::Sessions(e.to_string()))?;
        (manager, store)
    };
    account
        .store_mut()
        .transaction(|tx| persist::persist(tx, &session_store, &[]))?;
    Ok(Restored {
        manager,
        sessions: session_store,
        chat: chat_store,
        last_online,
    })
}

/// The account's contact code (identity, display name and this device's current prekey
/// bundle, as the node uses it), signed now, without starting a node. Creates the
/// device's session state the first time.
pub fn contact_code(account: &mut Account) -> Result<(ContactCode, String), NodeError> {
    let mut rng = StdRng::from_rng(&mut rand::rng());
    let restored = restore(account, &mut rng)?;
    let code = ContactCode::new(
        account.identity(),
        account.display_name(),
        &restored.manager.bundle().encode(),
        i64::try_from(now_ms()).unwrap_or(i64::MAX),
    )?;
    Ok((code, restored.manager.installation_id().to_string()))
}

const NS_NODE: &str = "node";
const KEY_LAST_ONLINE: &[u8] = b"last-online-ms";
/// How often "last online" is saved.
const LAST_ONLINE_EVERY_MS: u64 = 5_000;
/// How long the hash of a Waku message handed to the chat layer is remembered, so that
/// the same message relayed again or fetched again from a store peer is skipped (the
/// seen table holds at most this long a window of traffic; older hashes are pruned with
/// the last-online time).
const SEEN_RETENTION_SECS: i64 = 24 * 3600;
/// Most store pages fetched per history query.
const MAX_STORE_PAGES: usize = 20;

fn peer_id_of(addr: &Multiaddr) -> Option<libp2p::PeerId> {
    addr.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::P2p(id) => Some(id),
        _ => None,
    })
}

impl NodeHandle {
    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, NodeError> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(make(tx))
            .await
            .map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)?
    }

    /// Our identity public key.
    pub fn public_key(&self) -> &IdentityPublicKey {
        &self.public
    }

    /// An address other nodes on this machine can dial.
    pub fn dial_addr(&self) -> Option<&Multiaddr> {
        self.dial_addr.as_ref()
    }

    /// Our contact code (identity and current prekey bundle), signed now.
    pub async fn contact_code(&self) -> Result<ContactCode, NodeError> {
        self.ask(Request::ContactCode).await
    }

    /// Connects to a peer.
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), NodeError> {
        self.ask(|r| Request::Dial(addr, r)).await
    }

    /// Runs a chat command; returns the ids of the messages it sent, if any.
    pub async fn command(&self, command: Command) -> Result<Vec<MessageId>, NodeError> {
        self.ask(|r| Request::Chat(Box::new(command), r)).await
    }

    /// Adds a contact from its contact code.
    pub async fn add_contact(&self, code: &ContactCode) -> Result<(), NodeError> {
        self.command(Command::AddContact {
            key: *code.identity(),
            bundle: Some(code.bundle().to_vec()),
        })
        .await
        .map(|_| ())
    }

    /// Sends a contact request.
    pub async fn send_contact_request(
        &self,
        to: IdentityPublicKey,
        intro: &str,
    ) -> Result<(), NodeError> {
        self.command(Command::SendContactRequest {
            to,
            intro: intro.to_owned(),
        })
        .await
        .map(|_| ())
    }

    /// Accepts a contact request.
    pub async fn accept(&self, from: IdentityPublicKey) -> Result<(), NodeError> {
        self.command(Command::AcceptContact(from)).await.map(|_| ())
    }

    /// Sends a text to a contact; returns its message id.
    pub async fn send_text(
        &self,
        to: IdentityPublicKey,
        text: &str,
    ) -> Result<Option<MessageId>, NodeError> {
        Ok(self
            .command(Command::SendText {
                chat: ChatId::OneToOne(to),
                text: text.to_owned(),
                reply_to: None,
            })
            .await?
            .into_iter()
            .next())
    }

    /// The messages of a chat as (sender, text), in display order.
    pub async fn history(
        &self,
        chat: ChatId,
    ) -> Result<Vec<(IdentityPublicKey, String)>, NodeError> {
        self.ask(|r| Request::Messages(chat, r)).await
    }

    /// One page of a chat's history, newest first from `cursor`
    /// ([`HistoryCursor::Latest`] for the newest page). Deleted messages are skipped; at
    /// most [`MAX_HISTORY_PAGE`] messages per page.
    pub async fn history_page(
        &self,
        chat: ChatId,
        cursor: HistoryCursor,
        limit: usize,
    ) -> Result<HistoryPage, NodeError> {
        self.ask(|r| Request::Page(chat, cursor, limit, r)).await
    }

    /// Declines a contact request (locally: the requester is not told).
    pub async fn decline(&self, from: IdentityPublicKey) -> Result<(), NodeError> {
        self.command(Command::DeclineContact(from))
            .await
            .map(|_| ())
    }

    /// Sends a text to a chat (1:1 or group) as a reply to `reply_to`; returns its id.
    pub async fn reply(
        &self,
        chat: ChatId,
        reply_to: MessageId,
        text: &str,
    ) -> Result<Option<MessageId>, NodeError> {
        Ok(self
            .command(Command::SendText {
                chat,
                text: text.to_owned(),
                reply_to: Some(reply_to),
            })
            .await?
            .into_iter()
            .next())
    }

    /// Sends a text to a group chat; returns its id.
    pub async fn send_group_text(
        &self,
        group: status_chat::GroupId,
        text: &str,
    ) -> Result<Option<MessageId>, NodeError> {
        Ok(self
            .command(Command::SendText {
                chat: ChatId::Group(group),
                text: text.to_owned(),
                reply_to: None,
            })
            .await?
            .into_iter()
            .next())
    }

    /// Edits one of our messages.
    pub async fn edit(&self, id: MessageId, text: &str) -> Result<(), NodeError> {
        self.command(Command::Edit {
            id,
            text: text.to_owned(),
        })
        .await
        .map(|_| ())
    }

    /// Deletes one of our messages (for everyone in the chat).
    pub async fn delete(&self, id: MessageId) -> Result<(), NodeError> {
        self.command(Command::Delete(id)).await.map(|_| ())
    }

    /// Reacts to a message with `emoji`, or takes the reaction back (`retract`).
    pub async fn react(
        &self,
        id: MessageId,
        emoji: status_chat::Emoji,
        retract: bool,
    ) -> Result<(), NodeError> {
        self.command(Command::React { id, emoji, retract })
            .await
            .map(|_| ())
    }

    /// Creates a group chat with mutual contacts; returns its id.
    pub async fn create_group(
        &self,
        name: &str,
        members: Vec<IdentityPublicKey>,
    ) -> Result<status_chat::GroupId, NodeError> {
        let before: std::collections::BTreeSet<_> = self
            .groups()
            .await?
            .into_iter()
            .map(|g| g.id().clone())
            .collect();
        self.command(Command::CreateGroup {
            name: name.to_owned(),
            members,
        })
        .await?;
        self.groups()
            .await?
            .into_iter()
            .map(|g| g.id().clone())
            .find(|id| !before.contains(id))
            .ok_or(NodeError::Stopped)
    }

    /// Acts on a group chat: rename, add or remove members, join, leave, promote, step
    /// down (the rules of 55 apply; a refused event is an error).
    pub async fn group_event(
        &self,
        group: status_chat::GroupId,
        event: status_chat::GroupEventKind,
    ) -> Result<(), NodeError> {
        self.command(Command::Group { id: group, event })
            .await
            .map(|_| ())
    }

    /// Every group chat we know.
    pub async fn groups(&self) -> Result<Vec<status_chat::GroupChat>, NodeError> {
        self.ask(Request::Groups).await
    }

    /// Every known contact, with its state.
    pub async fn contacts(&self) -> Result<Vec<status_chat::Contact>, NodeError> {
        self.ask(Request::Contacts).await
    }

    /// The relay's byte counters since this node started: bytes read and written on
    /// its connections, and the encoded sizes of the Waku messages it published and
    /// received.
    pub async fn relay_traffic(&self) -> Result<waku_relay::Traffic, NodeError> {
        self.ask(Request::Traffic).await
    }

    /// Stops the node.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.requests.send(Request::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

struct Task {
    relay: waku_relay::Node,
    relay_events: waku_relay::Events,
    topic: PubsubTopic,
    chat: Chat<status_chat::MemoryStore>,
    sessions: X3dhSessions<RecordingSessionStore>,
    own: IdentityKeyPair,
    display_name: String,
    account: Account,
    rng: StdRng,
    events: mpsc::Sender<NodeEvent>,
    store_peers: Vec<libp2p::PeerId>,
    last_online: u64,
    last_saved_ms: u64,
}

impl Task {
    async fn run(mut self, mut requests: mpsc::Receiver<Request>) {
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                request = requests.recv() => {
                    let Some(request) = request else { break };
                    if let Some(done) = self.handle_request(request).await {
                        self.relay.shutdown().await;
                        // Close the database (and release its lock) before answering, so
                        // the account can be opened again as soon as shutdown returns.
                        drop(self);
                        let _ = done.send(());
                        return;
                    }
                }
                event = self.relay_events.recv() => {
                    let Some(event) = event else { break };
                    self.handle_relay(event).await;
                }
                _ = tick.tick() => {
                    let now = now_ms();
                    let out = self.chat.handle_timeout(&mut self.rng, now, &mut self.sessions);
                    self.publish(out).await;
                    if now.saturating_sub(self.last_saved_ms) >= LAST_ONLINE_EVERY_MS {
                        self.last_saved_ms = now;
                        let oldest = i64::try_from(now / 1000)
                            .unwrap_or(i64::MAX)
                            .saturating_sub(SEEN_RETENTION_SECS);
                        let saved = self.account.store_mut().transaction(|tx| {
                            tx.seen_prune(oldest)?;
                            tx.kv_put(NS_NODE, KEY_LAST_ONLINE, &now.to_be_bytes())
                        });
                        if let Err(e) = saved {
                            tracing::warn!(error = %e, "cannot save the last-online time");
                        }
                    }
                }
            }
        }
        self.relay.shutdown().await;
    }

    async fn handle_request(&mut self, request: Request) -> Option<oneshot::Sender<()>> {
        match request {
            Request::ContactCode(reply) => {
                let now = now_ms();
                let code = ContactCode::new(
                    self.chat_identity(),
                    &self.display_name,
                    &self.sessions.bundle_bytes(),
                    i64::try_from(now).unwrap_or(i64::MAX),
                )
                .map_err(NodeError::from);
                let _ = reply.send(code);
            }
            Request::Dial(addr, reply) => {
                let result = self.relay.dial(addr.clone()).await;
                let _ = reply.send(result.map_err(|reason| NodeError::Dial { addr, reason }));
            }
            Request::Chat(command, reply) => {
                let result =
                    self.chat
                        .handle_command(&mut self.rng, now_ms(), &mut self.sessions, *command);
                match result {
                    Ok(out) => {
                        let ids = sent_ids(&out);
                        self.publish(out).await;
                        let _ = reply.send(Ok(ids));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e.into()));
                    }
                }
            }
            Request::Messages(chat, reply) => {
                let list = self
                    .chat
                    .messages(&chat)
                    .into_iter()
                    .filter(|m| !m.deleted)
                    .map(|m| (m.sender, m.text))
                    .collect();
                let _ = reply.send(Ok(list));
            }
            Request::Page(chat, cursor, limit, reply) => {
                let all = self.chat.messages(&chat);
                let _ = reply.send(Ok(HistoryPage::of(all, cursor, limit)));
            }
            Request::Groups(reply) => {
                let _ = reply.send(Ok(self.chat.store().groups()));
            }
            Request::Contacts(reply) => {
                let _ = reply.send(Ok(self.chat.store().contacts()));
            }
            Request::Traffic(reply) => {
                let _ = reply.send(Ok(self.relay.traffic()));
            }
            Request::Shutdown(done) => return Some(done),
        }
        None
    }

    fn chat_identity(&self) -> &IdentityKeyPair {
        &self.own
    }

    async fn handle_relay(&mut self, event: waku_relay::Event) {
        match event {
            waku_relay::Event::PeerConnected { peer_id, .. } => {
                self.emit(NodeEvent::PeerConnected(peer_id.to_string()))
                    .await;
                if self.store_peers.contains(&peer_id) {
                    self.fetch_history(peer_id).await;
                }
            }
            waku_relay::Event::Message {
                pubsub_topic,
                message,
                ..
            } => {
                let topic = pubsub_topic.to_string();
                let hash = message.hash(&topic);
                self.ingest(&topic, &message, &hash).await;
            }
            _ => {}
        }
    }

    /// Asks a store peer for what was published on our topics since we were last online.
    async fn fetch_history(&mut self, peer: libp2p::PeerId) {
        let now = now_ms();
        let queries = self
            .chat
            .history_queries(&self.sessions, self.last_online, now);
        let mut fetched = 0usize;
        let mut complete = true;
        let mut skipped = 0usize;
        for (n, q) in queries.into_iter().enumerate() {
            let mut cursor = None;
            for page in 0..MAX_STORE_PAGES {
                let query = StoreQuery {
                    request_id: format!("history-{now}-{n}-{page}"),
                    include_data: true,
                    pubsub_topic: Some(q.pubsub_topic.clone()),
                    content_topics: q.content_topics.clone(),
                    time_start: Some(ms_to_ns(q.start_ms)),
                    time_end: Some(ms_to_ns(q.end_ms)),
                    cursor,
                    forward: true,
                    ..StoreQuery::default()
                };
                let response = match self.relay.store_query(peer, query).await {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(%peer, error = %e, "store query failed");
                        complete = false;
                        break;
                    }
                };
                for entry in response.messages {
                    if let Some((pubsub, message)) = entry.data {
                        fetched += 1;
                        let hash = message.hash(&pubsub);
                        if !self.ingest(&pubsub, &message, &hash).await {
                            skipped += 1;
                        }
                    }
                }
                cursor = response.cursor;
                if cursor.is_none() {
                    break;
                }
            }
            if cursor.is_some() {
                // Stopped at the page cap: the rest is asked for at the next fetch.
                complete = false;
            }
        }
        if complete {
            // The next fetch (a reconnection to a store peer) starts here, less the
            // chat layer's margin, instead of at the start of this run.
            self.last_online = now;
        }
        tracing::info!(%peer, fetched, skipped, "history fetched from store peer");
        self.emit(NodeEvent::HistoryFetched {
            count: fetched,
            skipped,
        })
        .await;
    }

    /// Hands a Waku message to the chat layer once: a message whose hash is in the
    /// account's seen table (relayed earlier, or fetched again from a store peer) is
    /// skipped before the session layer sees it, where an old message of an earlier
    /// ratchet step would count as undecryptable and start a session recovery. The hash
    /// is recorded in the transaction that commits the message's state change. Returns
    /// false for a message skipped that way.
    async fn ingest(&mut self, pubsub: &str, message: &WakuMessage, hash: &MessageHash) -> bool {
        let seen = self
            .account
            .store_mut()
            .transaction(|tx| tx.seen_contains(hash.as_bytes()));
        if matches!(seen, Ok(true)) {
            return false;
        }
        let out = self.chat.handle_waku(
            &mut self.rng,
            now_ms(),
            &mut self.sessions,
            pubsub,
            message.content_topic(),
            message.payload(),
        );
        self.commit_and_publish(out, Some(hash)).await;
        true
    }

    async fn emit(&mut self, event: NodeEvent) {
        let _ = self.events.send(event).await;
    }

    /// Commits the state change behind `out`, then shows its events and publishes its
    /// messages. Nothing is published if the commit fails.
    async fn publish(&mut self, out: Output) {
        self.commit_and_publish(out, None).await;
    }

    /// [`Task::publish`], also recording `seen` (the hash of the Waku message behind
    /// `out`) in the same transaction.
    async fn commit_and_publish(&mut self, out: Output, seen: Option<&MessageHash>) {
        let now_secs = i64::try_from(now_ms() / 1000).unwrap_or(i64::MAX);
        let committed = self.account.store_mut().transaction(|tx| {
            persist::persist(tx, self.sessions.store(), &out.changes)?;
            if let Some(hash) = seen {
                tx.seen_insert(hash.as_bytes(), now_secs)?;
            }
            Ok::<_, StoreError>(())
        });
        if let Err(e) = committed {
            tracing::error!(error = %e, "cannot save a state change; its messages are not sent");
            return;
        }
        for event in out.events {
            let mapped = match event {
                status_chat::Event::ContactRequestReceived { from, intro, .. } => {
                    Some(NodeEvent::ContactRequest { from, intro })
                }
                status_chat::Event::ContactAdded(key) => Some(NodeEvent::ContactAdded(key)),
                status_chat::Event::MessageReceived { chat, id } => {
                    self.chat.store().message(&id).map(|m| NodeEvent::Message {
                        chat,
                        id,
                        from: m.sender,
                        text: m.text,
                    })
                }
                status_chat::Event::Delivered { id, to } => Some(NodeEvent::Delivered { id, to }),
                status_chat::Event::GroupInvitation { group, from } => {
                    Some(NodeEvent::GroupInvitation { group, from })
                }
                status_chat::Event::GroupUpdated { group } => Some(NodeEvent::GroupUpdated(group)),
                status_chat::Event::DeliveryFailed { id, to } => {
                    Some(NodeEvent::DeliveryFailed { id, to })
                }
                _ => None,
            };
            if let Some(e) = mapped {
                self.emit(e).await;
            }
        }
        for m in out.messages {
            let topic = m
                .pubsub_topic
                .parse::<PubsubTopic>()
                .unwrap_or_else(|_| self.topic.clone());
            let message = match WakuMessage::new(m.content_topic.as_str(), m.payload) {
                Ok(msg) => msg.with_timestamp(waku_relay::node::now_ns()),
                Err(e) => {
                    tracing::warn!(error = %e, "dropping an outgoing message the relay refuses");
                    continue;
                }
            };
            if let Err(e) = self.relay.publish(&topic, &message).await {
                tracing::warn!(error = %e, "publish failed; the chat layer will send again");
            }
        }
    }
}

fn sent_ids(out: &Output) -> Vec<MessageId> {
    out.changes
        .iter()
        .filter_map(|c| match c {
            status_chat::StoreChange::Message(m) if m.outgoing => Some(m.id),
            _ => None,
        })
        .collect()
}
