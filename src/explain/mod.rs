//! The product's voice: the vocabulary of recursion ([`event`]), the mapping from an
//! outcome to Extended DNS Errors ([`ede`]), and the trace as text ([`render`]). Depends on
//! nothing else in the crate.

pub mod diagnosis;
pub mod ede;
pub mod event;
pub mod log;
pub mod render;

pub use ede::{Ede, EdeCode};
pub use event::{Event, Trace, TraceEntry};
