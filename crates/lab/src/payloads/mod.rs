//! The web payload classifier's workbench (issue 17, in progress): the
//! labelled corpus by source (`corpus`, with benign values of other kinds
//! from `benign`) and `rampart train payloads`
//! with its leave-one-source-out figures (`train`), and `rampart check`.

pub mod benign;
pub mod check;
pub mod corpus;
pub mod train;
