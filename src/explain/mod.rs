//! The product's voice and its vocabulary: every type a resolution's story is told in.
//! [`event`] the steps, [`outcome`] how a resolution ended, [`verdict`] what the validator
//! concluded, [`proof`] the facts of a denial proof, [`ede`] the one derivation of Extended
//! DNS Errors, [`diagnose`] the root cause and remedy, [`render`] the text for people, [`log`]
//! the bounded explanation store, [`wire`] and [`reasons`] the small types events are made of.
//! Depends on nothing else in the crate but `clock`: `resolver` and `dnssec` produce these
//! types, `server` and `cli` read them.

pub mod diagnose;
pub mod diagnosis;
pub mod ede;
pub mod event;
pub mod log;
pub mod outcome;
pub mod proof;
pub mod reasons;
pub mod render;
pub mod verdict;
pub mod wire;

pub use ede::{Ede, EdeCode};
pub use event::{Event, Trace, TraceEntry};
pub use outcome::{Failure, Outcome, Resolution};
pub use verdict::{
    BogusReason, DenialHow, DenialVerdict, IndeterminateReason, InsecureReason, Security,
    SignatureCheck, SignatureDetail, SignatureFailure, SignatureVerdict,
};
