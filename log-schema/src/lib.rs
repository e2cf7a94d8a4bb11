//! The log schema shared by the vocab API and the shipper.
//!
//! The API writes one JSON line per request with these ECS names; the shipper promotes the
//! same names to top-level ECS fields. Both sides import the constants from here, so a rename
//! is a compile error on both sides instead of a silently empty dashboard.

pub mod field;
mod layer;

pub use layer::{EcsLayer, ecs_layer};
