//! Enforcers: what puts decisions in force. nftables for addresses.

pub mod nftables;
