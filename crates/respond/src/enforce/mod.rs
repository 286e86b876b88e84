//! Enforcers: what puts decisions in force. nftables for addresses,
//! signals for processes.

pub mod nftables;
pub mod process;
