//! Creates an identity and prints what people use to recognise it: chat key, alias, emoji
//! hash, identicon, a safety number with a second generated identity, and the contact
//! code as a QR code for the terminal.
//!
//! ```text
//! cargo run -p status-identity --example whoami            # OS randomness
//! cargo run -p status-identity --example whoami -- 42      # seeded, reproducible
//! cargo run -p status-identity --example whoami -- 42 --light   # QR for light terminals
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand::SeedableRng;
use rand::rngs::ChaCha20Rng;
use status_identity::{Account, ContactCode, WordCount};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let light = args.iter().any(|a| a == "--light");
    let seed = args.iter().find_map(|a| a.parse::<u64>().ok());
    let mut rng: Box<dyn rand::CryptoRng> = match seed {
        Some(seed) => Box::new(ChaCha20Rng::seed_from_u64(seed)),
        None => Box::new(rand::rng()),
    };

    let me = Account::create(&mut *rng, WordCount::Twelve);
    let peer = Account::create(&mut *rng, WordCount::Twelve);
    let key = me.identity().public_key();

    println!(
        "identity (recoverable from a {}-word mnemonic, not shown)",
        me.mnemonic().word_count()
    );
    println!("chat key:    {}", key.to_chat_key());
    println!("alias:       {}", key.alias());
    println!("emoji hash:  {}", key.emoji_hash());
    println!("identicon:");
    print!("{}", key.identicon().to_ansi());
    println!();
    println!(
        "peer:        {} ({})",
        peer.identity().public_key().alias(),
        peer.identity().public_key().to_chat_key()
    );
    println!("safety number with the peer (both of you see the same):");
    let number = key.safety_number(peer.identity().public_key());
    let groups: Vec<&str> = number.groups().collect();
    for line in groups.chunks(4) {
        println!("    {}", line.join(" "));
    }
    println!();

    // A real client puts its X3DH prekey bundle here; this example uses placeholder bytes.
    let timestamp_ms = 1_700_000_000_000;
    let code = ContactCode::new(
        me.identity(),
        &key.alias().to_string(),
        b"example bundle",
        timestamp_ms,
    )
    .expect("contact code within bounds");
    println!("contact code: {code}");
    let qr = code.to_qr().expect("contact code fits in a QR code");
    if light {
        print!("{}", qr.to_unicode());
    } else {
        print!("{}", qr.to_unicode_inverted());
    }
}
