//! Content topics (23/WAKU2-TOPICS), pubsub topics (named and static shards of
//! RELAY-SHARDING, formerly 51) and autosharding.

use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// Number of shards in a cluster (RELAY-SHARDING).
pub const SHARDS_PER_CLUSTER: u16 = 1024;

/// Why a string is not a content topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopicError {
    /// It does not start with `/`.
    #[error("a topic starts with '/'")]
    MissingLeadingSlash,
    /// It has neither 4 nor 5 `/`-separated parts.
    #[error("a content topic has 4 parts (or 5 with a generation), found {0}")]
    WrongPartCount(usize),
    /// A part is empty.
    #[error("empty part in topic")]
    EmptyPart,
    /// The generation is not a decimal number.
    #[error("generation is not a decimal number")]
    BadGeneration,
    /// Autosharding only knows generation 0 (as nwaku and js-waku).
    #[error("generation {0} is not supported for autosharding")]
    UnsupportedGeneration(u32),
    /// A network needs at least one shard.
    #[error("a network needs at least one shard")]
    NoShards,
}

/// A content topic `/{application}/{version}/{name}/{encoding}`, optionally with
/// a `/{generation}` prefix (RELAY-SHARDING).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContentTopic {
    generation: Option<u32>,
    application: String,
    version: String,
    name: String,
    encoding: String,
}

impl ContentTopic {
    /// A short-form (generation 0) content topic. Parts must be non-empty and
    /// contain no `/`.
    pub fn new(
        application: &str,
        version: &str,
        name: &str,
        encoding: &str,
    ) -> Result<Self, TopicError> {
        for p in [application, version, name, encoding] {
            if p.is_empty() || p.contains('/') {
                return Err(TopicError::EmptyPart);
            }
        }
        Ok(Self {
            generation: None,
            application: application.into(),
            version: version.into(),
            name: name.into(),
            encoding: encoding.into(),
        })
    }

    /// The generation (0 when the short form is used).
    pub fn generation(&self) -> u32 {
        self.generation.unwrap_or(0)
    }
    /// The application name.
    pub fn application(&self) -> &str {
        &self.application
    }
    /// The application version.
    pub fn version(&self) -> &str {
        &self.version
    }
    /// The topic name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The payload encoding.
    pub fn encoding(&self) -> &str {
        &self.encoding
    }
}

impl FromStr for ContentTopic {
    type Err = TopicError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s.strip_prefix('/').ok_or(TopicError::MissingLeadingSlash)?;
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(TopicError::EmptyPart);
        }
        match parts.as_slice() {
            [app, ver, name, enc] => Self::new(app, ver, name, enc),
            [generation, app, ver, name, enc] => {
                if !generation.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(TopicError::BadGeneration);
                }
                let generation: u32 = generation.parse().map_err(|_| TopicError::BadGeneration)?;
                let mut t = Self::new(app, ver, name, enc)?;
                t.generation = Some(generation);
                Ok(t)
            }
            other => Err(TopicError::WrongPartCount(other.len())),
        }
    }
}

impl fmt::Display for ContentTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(g) = self.generation {
            write!(f, "/{g}")?;
        }
        write!(
            f,
            "/{}/{}/{}/{}",
            self.application, self.version, self.name, self.encoding
        )
    }
}

/// A pubsub topic: a static shard `/waku/2/rs/<cluster>/<shard>` or any other
/// (named) topic string such as `/waku/2/default-waku/proto`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PubsubTopic {
    /// A static shard of a cluster.
    StaticShard {
        /// Cluster id (0-15 reserved, 1 The Waku Network, 16 Status).
        cluster: u16,
        /// Shard index.
        shard: u16,
    },
    /// A named topic, kept verbatim.
    Named(String),
}

impl PubsubTopic {
    /// The legacy default topic of 23.
    pub const DEFAULT: &'static str = "/waku/2/default-waku/proto";

    /// The static shard `/waku/2/rs/<cluster>/<shard>`.
    pub fn shard(cluster: u16, shard: u16) -> Self {
        Self::StaticShard { cluster, shard }
    }

    /// `(cluster, shard)` if this is a static shard.
    pub fn as_shard(&self) -> Option<(u16, u16)> {
        match self {
            Self::StaticShard { cluster, shard } => Some((*cluster, *shard)),
            Self::Named(_) => None,
        }
    }
}

fn canonical_u16(s: &str) -> Option<u16> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

impl From<&str> for PubsubTopic {
    fn from(s: &str) -> Self {
        if let Some(rest) = s.strip_prefix("/waku/2/rs/")
            && let Some((c, sh)) = rest.split_once('/')
            && let (Some(cluster), Some(shard)) = (canonical_u16(c), canonical_u16(sh))
        {
            return Self::StaticShard { cluster, shard };
        }
        Self::Named(s.to_owned())
    }
}

impl FromStr for PubsubTopic {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(s))
    }
}

impl fmt::Display for PubsubTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StaticShard { cluster, shard } => write!(f, "/waku/2/rs/{cluster}/{shard}"),
            Self::Named(s) => f.write_str(s),
        }
    }
}

/// Autosharding (RELAY-SHARDING, nwaku's rule): the shard of `topic` in a
/// network of `shard_count` shards is the last 8 bytes of
/// `SHA-256(application ‖ version)` as a big-endian u64, modulo `shard_count`.
pub fn autoshard_index(topic: &ContentTopic, shard_count: u16) -> Result<u16, TopicError> {
    if shard_count == 0 {
        return Err(TopicError::NoShards);
    }
    if topic.generation() != 0 {
        return Err(TopicError::UnsupportedGeneration(topic.generation()));
    }
    let mut h = Sha256::new();
    h.update(topic.application.as_bytes());
    h.update(topic.version.as_bytes());
    let digest: [u8; 32] = h.finalize().into();
    let mut last = [0u8; 8];
    last.copy_from_slice(&digest[24..]);
    let idx = u64::from_be_bytes(last) % u64::from(shard_count);
    // idx < shard_count <= u16::MAX.
    Ok(u16::try_from(idx).unwrap_or(0))
}

/// The static-shard pubsub topic of `topic` in `cluster` with `shard_count` shards.
pub fn autoshard(
    topic: &ContentTopic,
    cluster: u16,
    shard_count: u16,
) -> Result<PubsubTopic, TopicError> {
    Ok(PubsubTopic::shard(
        cluster,
        autoshard_index(topic, shard_count)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_short_and_long() {
        let t: ContentTopic = "/toychat/2/huilong/proto".parse().unwrap();
        assert_eq!(
            (
                t.generation(),
                t.application(),
                t.version(),
                t.name(),
                t.encoding()
            ),
            (0, "toychat", "2", "huilong", "proto")
        );
        assert_eq!(t.to_string(), "/toychat/2/huilong/proto");
        let t: ContentTopic = "/0/myapp/1/mytopic/cbor".parse().unwrap();
        assert_eq!(t.generation(), 0);
        assert_eq!(t.to_string(), "/0/myapp/1/mytopic/cbor");
        let t: ContentTopic = "/3/myapp/1/mytopic/cbor".parse().unwrap();
        assert_eq!(t.generation(), 3);
    }

    #[test]
    fn parse_errors() {
        assert_eq!(
            "a/b/c/d".parse::<ContentTopic>(),
            Err(TopicError::MissingLeadingSlash)
        );
        assert_eq!(
            "/a/b/c".parse::<ContentTopic>(),
            Err(TopicError::WrongPartCount(3))
        );
        assert_eq!(
            "/a//c/d".parse::<ContentTopic>(),
            Err(TopicError::EmptyPart)
        );
        assert_eq!(
            "/x/a/b/c/d".parse::<ContentTopic>(),
            Err(TopicError::BadGeneration)
        );
        assert_eq!(
            "/a/b/c/d/e/f".parse::<ContentTopic>(),
            Err(TopicError::WrongPartCount(6))
        );
    }

    #[test]
    fn pubsub_topics() {
        assert_eq!(
            PubsubTopic::from("/waku/2/rs/16/32"),
            PubsubTopic::shard(16, 32)
        );
        assert_eq!(PubsubTopic::shard(1, 7).to_string(), "/waku/2/rs/1/7");
        assert_eq!(
            PubsubTopic::from(PubsubTopic::DEFAULT),
            PubsubTopic::Named("/waku/2/default-waku/proto".into())
        );
        assert!(matches!(
            PubsubTopic::from("/waku/2/rs/016/1"),
            PubsubTopic::Named(_)
        ));
        assert!(matches!(
            PubsubTopic::from("/waku/2/rs/70000/1"),
            PubsubTopic::Named(_)
        ));
        assert!(matches!(
            PubsubTopic::from("/waku/2/rs/1/2/3"),
            PubsubTopic::Named(_)
        ));
    }

    #[test]
    fn autoshard_spec_example() {
        let t = ContentTopic::new("myapp", "1", "mytopic", "cbor").unwrap();
        assert_eq!(autoshard_index(&t, 8), Ok(0));
    }

    #[test]
    fn autoshard_matches_js_waku() {
        // Measured with js-waku: /waku-interop/1/chat/proto -> /waku/2/rs/1/3.
        let t: ContentTopic = "/waku-interop/1/chat/proto".parse().unwrap();
        assert_eq!(autoshard(&t, 1, 8), Ok(PubsubTopic::shard(1, 3)));
    }

    #[test]
    fn autoshard_errors() {
        let t: ContentTopic = "/1/myapp/1/t/proto".parse().unwrap();
        assert_eq!(
            autoshard_index(&t, 8),
            Err(TopicError::UnsupportedGeneration(1))
        );
        let t: ContentTopic = "/myapp/1/t/proto".parse().unwrap();
        assert_eq!(autoshard_index(&t, 0), Err(TopicError::NoShards));
        // Explicit generation 0 equals the short form.
        let long: ContentTopic = "/0/myapp/1/t/proto".parse().unwrap();
        assert_eq!(autoshard_index(&long, 8), autoshard_index(&t, 8));
    }

    proptest! {
        #[test]
        fn content_topic_roundtrip(
            g in proptest::option::of(any::<u32>()),
            parts in proptest::array::uniform4("[a-zA-Z0-9_.-]{1,10}"),
        ) {
            let s = match g {
                Some(g) => format!("/{g}/{}/{}/{}/{}", parts[0], parts[1], parts[2], parts[3]),
                None => format!("/{}/{}/{}/{}", parts[0], parts[1], parts[2], parts[3]),
            };
            if let Ok(t) = s.parse::<ContentTopic>() {
                prop_assert_eq!(t.to_string(), s);
            } else {
                // Only a 5-part form whose first part is not a number may fail.
                prop_assert!(g.is_none());
            }
        }

        #[test]
        fn pubsub_roundtrip(s in "/waku/2/rs/[0-9]{1,6}/[0-9]{1,6}|/[a-z/]{0,20}") {
            prop_assert_eq!(PubsubTopic::from(s.as_str()).to_string(), s);
        }

        #[test]
        fn shard_roundtrip(c in any::<u16>(), s in any::<u16>()) {
            let t = PubsubTopic::shard(c, s);
            prop_assert_eq!(PubsubTopic::from(t.to_string().as_str()), t);
        }

        #[test]
        fn autoshard_in_range(app in "[a-z]{1,8}", ver in "[0-9]{1,3}", n in 1u16..1024) {
            let t = ContentTopic::new(&app, &ver, "x", "proto").unwrap();
            prop_assert!(autoshard_index(&t, n).unwrap() < n);
        }
    }
}
