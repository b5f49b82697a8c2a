//! `status-chat`: end-to-end encrypted 1:1 chat over Waku v2.

fn main() {
    println!("status-chat {}", env!("CARGO_PKG_VERSION"));
}
