//! The web payload classifier's workbench (issue 17): the labelled corpus
//! by source (`corpus`, with benign values of other kinds from `benign` and
//! `generated`, SQL probes composed by `sql_grammar`), `rampart train payloads` with its leave-one-source-out
//! figures and chosen threshold (`train`), `rampart eval payloads` on any
//! labelled values (`eval`, with `train`'s `figures`), `rampart check`, and
//! `rampart bench payloads` (`bench`).

pub mod bench;
pub mod benign;
pub mod check;
pub mod corpus;
pub mod eval;
mod figures;
pub mod generated;
mod sql_grammar;
pub mod train;
