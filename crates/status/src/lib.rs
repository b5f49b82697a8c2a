//! Status 1:1 chat on Waku v2, in Rust: the facade that composes the layers.
//!
//! The layers are re-exported for programs that need more than the facade.

pub use status_chat as chat;
pub use status_identity as identity;
pub use status_noise as noise;
pub use status_sessions as sessions;
pub use status_x3dh as x3dh;
pub use waku_relay as relay;
