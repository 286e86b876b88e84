//! The host: /proc parsers (`procfs`) for the collector that turns them
//! into metric and process events (issue 5; the collector itself is next).

pub mod procfs;
