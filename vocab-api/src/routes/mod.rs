//! Handlers, one module per area (and per Lambda): each validates its input, calls the
//! store and adds its domain fields to the request's log line.

pub mod client_events; // /client-events: the web app's own failures and page loads
pub mod lists; // /lists, /lists/{list_id}
pub mod me; // /me
pub mod notebook; // /lists/{list_id}/notebook[/{word_id}], /notebooks
pub mod quizzes; // /lists/{list_id}/quizzes, /quizzes/{quiz_id}/answers
pub mod words; // /lists/{list_id}/words[/{word_id}], /lists/{list_id}/review
