//! Re-delivered events stay single across rollovers.
//!
//! `create` with a fixed `_id` answers 409 only inside one backing index: once a data stream
//! has rolled over, the same `_id` is accepted again by the new write index
//! (elastic/elasticsearch#44794). Re-deliveries are normal here (Lambda's async retries,
//! the on-failure queue, `shipper ship` replays, dead-letter re-drives, `follow` restarts), so
//! the shipper itself has to know when a 409 can no longer be trusted:
//!
//! - An event can have an earlier copy in an *older* backing index only if it was first
//!   delivered before the current write index was created, and its first delivery came after
//!   it happened: so only events whose timestamp is older than the write index's creation are
//!   *suspects*. The write index and its creation time are cached per data stream (one
//!   `GET <ds>/_settings/index.creation_date` per data stream per process), so the usual
//!   delivery — recent events, first time — makes no extra request. A data stream with a
//!   single backing index has no older index to hold a copy: nothing is a suspect.
//! - Suspects are looked up before they are sent (one `_search` by `ids` per chunk of them):
//!   those found anywhere in the data stream are counted as already present and not sent.
//! - Every `_bulk` answer names the index each item went to. A created item in another index
//!   than the cached write index means the data stream rolled over since the cache was filled:
//!   the cache is refreshed, and the items just created that were suspects under the new
//!   write index are looked up; a copy in an older index means the new one is a duplicate,
//!   and it is deleted from the backing index it went to (deletes must name the backing
//!   index: https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-delete).
//! - A resend after an unknown outcome (timeout, reset, unreadable answer) refreshes the cache
//!   first; if the data stream rolled over in between, the index the first attempt went to is
//!   asked in real time (`_mget`) before the resend. Searches see a write only after the next
//!   refresh (1 s by default); `_mget` sees it at once, which matters exactly here, where the
//!   first attempt may be a moment old. The same real-time ask covers a copy created after a
//!   rollover that the cache hadn't seen yet (the previous write index is asked).
//!
//! Dead letters are looked up every time (they are rare, and a record can be re-dead-lettered
//! on another day or after a rollover); dated indices need nothing (an event always goes to
//! the index of its own day, where `create` finds it).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;

use crate::service::TransportError;

/// A data stream's current write index, as far as the shipper knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteIndex {
    pub name: String,
    /// `index.creation_date`, ms since the epoch.
    pub created_ms: i64,
    /// Backing indices older than this one (0: nothing older could hold a copy).
    pub older: usize,
}

/// One stored copy of an `_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub id: String,
    pub index: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// An HTTP answer other than 200.
    #[error("HTTP {status}: {error_type}: {reason}")]
    Refused {
        status: u16,
        error_type: String,
        reason: String,
    },
    #[error("unreadable answer: {0}")]
    Unreadable(String),
}

impl LookupError {
    /// A refusal that asking again won't change: the credentials may not read settings or
    /// search (403, a write-only API key), or the server has no such API (an emulator). Delivery
    /// goes on without the checks, loudly, rather than not at all.
    pub fn disables_lookups(&self) -> bool {
        matches!(self, LookupError::Refused { status, .. } if (400..500).contains(status) && !matches!(status, 401 | 408 | 429))
    }

    /// 401 (the credentials themselves are refused) or a failed TLS handshake: `_bulk` would
    /// fail the same way, and retrying can't help.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            LookupError::Refused { status: 401, .. }
                | LookupError::Transport(TransportError::Tls(_))
        )
    }
}

/// The two questions the shipper asks the cluster besides `_bulk`. The real one is
/// [`crate::lookup::EsLookup`]; tests script their own.
#[async_trait]
pub trait IdLookup: Send + Sync {
    /// The newest backing index of `data_stream` (by generation), when it was created, and how
    /// many older backing indices there are; `None` when nothing of that name exists.
    async fn write_index(
        &self,
        data_stream: &str,
        timeout: Duration,
    ) -> Result<Option<WriteIndex>, LookupError>;

    /// Every stored copy of these `_id`s in `target` (a data stream, an index or a pattern),
    /// as far as a search sees: a copy written less than a refresh interval ago (1 s by
    /// default) may not show yet.
    async fn copies(
        &self,
        target: &str,
        ids: &[&str],
        timeout: Duration,
    ) -> Result<Vec<Copy>, LookupError>;

    /// Which of these `_id`s the concrete `index` holds, in real time (`_mget` reads what was
    /// written a moment ago, which a search doesn't see until the next refresh). A missing
    /// index holds none.
    async fn present_in(
        &self,
        index: &str,
        ids: &[&str],
        timeout: Duration,
    ) -> Result<Vec<String>, LookupError>;
}

/// Ids per `_search`: `size` must stay within `index.max_result_window` (10,000 by default)
/// with room for an id stored twice.
pub const IDS_PER_LOOKUP: usize = 4_000;

#[derive(Debug, Clone)]
struct Entry {
    /// `None`: the data stream did not exist when last asked.
    write: Option<WriteIndex>,
    stale: bool,
}

/// What the shipper knows of each data stream's write index, kept across invocations of one
/// process (a warm Lambda container). Cheap to share.
#[derive(Debug, Default)]
pub struct Rollovers {
    entries: Mutex<HashMap<Arc<str>, Entry>>,
    /// Why lookups are off (a 403): said once, then delivery proceeds without them.
    disabled: Mutex<Option<String>>,
}

impl Rollovers {
    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<str>, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True when the cache has nothing for `target`, or knows it to be out of date.
    pub fn needs_refresh(&self, target: &str) -> bool {
        self.lock().get(target).is_none_or(|e| e.stale)
    }

    pub fn set(&self, target: Arc<str>, write: Option<WriteIndex>) {
        self.lock().insert(
            target,
            Entry {
                write,
                stale: false,
            },
        );
    }

    pub fn mark_stale(&self, target: &str) {
        if let Some(e) = self.lock().get_mut(target) {
            e.stale = true;
        }
    }

    pub fn get(&self, target: &str) -> Option<WriteIndex> {
        self.lock().get(target).and_then(|e| e.write.clone())
    }

    /// Could an event of `target` at `timestamp_ms` already be stored in an older backing
    /// index? Unknown targets are not suspects here: callers refresh them first.
    pub fn is_suspect(&self, target: &str, timestamp_ms: i64) -> bool {
        self.lock()
            .get(target)
            .and_then(|e| e.write.as_ref())
            .is_some_and(|w| w.older > 0 && timestamp_ms < w.created_ms)
    }

    /// Does a created item in `index` show that `target` rolled over since it was cached?
    /// A failure-store index (`.fs-…`) is not a backing index and says nothing.
    pub fn shows_rollover(&self, target: &str, index: &str) -> bool {
        if index.starts_with(".fs-") {
            return false;
        }
        let mut g = self.lock();
        let Some(e) = g.get_mut(target) else {
            return false;
        };
        match &e.write {
            Some(w) => w.name != index && !e.stale,
            // The data stream did not exist: its first backing index has nothing older.
            None if generation(index) == Some(1) => {
                e.write = Some(WriteIndex {
                    name: index.to_owned(),
                    created_ms: i64::MIN,
                    older: 0,
                });
                false
            }
            None => !e.stale,
        }
    }

    pub fn disabled(&self) -> Option<String> {
        self.disabled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Turns lookups off for this process; true the first time (to warn once).
    pub fn disable(&self, why: String) -> bool {
        let mut d = self.disabled.lock().unwrap_or_else(|p| p.into_inner());
        let first = d.is_none();
        if first {
            *d = Some(why);
        }
        first
    }
}

/// The generation of a backing index, `.ds-<data stream>-<yyyy.MM.dd>-<generation>`
/// (https://www.elastic.co/docs/manage-data/data-store/data-streams#data-streams-generation).
pub fn generation(index: &str) -> Option<u64> {
    let (_, tail) = index.rsplit_once('-')?;
    (!tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()))
        .then(|| tail.parse().ok())
        .flatten()
}

/// Which index is older: by generation when both have one, else by name (dated indices sort
/// by day).
fn older_first(a: &str, b: &str) -> std::cmp::Ordering {
    match (generation(a), generation(b)) {
        (Some(x), Some(y)) if x != y => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// The copies to delete: of an `_id` stored more than once, every copy but the one in the
/// oldest index (the first delivery), as `(index, id)`.
pub fn extra_copies(copies: &[Copy]) -> Vec<(String, String)> {
    let mut by_id: HashMap<&str, Vec<&str>> = HashMap::new();
    for c in copies {
        by_id.entry(&c.id).or_default().push(&c.index);
    }
    let mut out = Vec::new();
    for (id, mut indices) in by_id {
        indices.sort_by(|a, b| older_first(a, b));
        indices.dedup();
        for index in indices.into_iter().skip(1) {
            out.push((index.to_owned(), id.to_owned()));
        }
    }
    out.sort();
    out
}

/// The ids that have at least one copy.
pub fn found_ids(copies: &[Copy]) -> HashSet<&str> {
    copies.iter().map(|c| c.id.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(id: &str, index: &str) -> Copy {
        Copy {
            id: id.into(),
            index: index.into(),
        }
    }

    #[test]
    fn generation_is_the_numeric_tail_of_a_backing_index_name() {
        assert_eq!(
            generation(".ds-logs-cloudwatch.a-default-2026.11.24-000002"),
            Some(2)
        );
        assert_eq!(generation("cloudwatch-deadletter-2026.11.24"), None);
        assert_eq!(generation("logs-x-default"), None);
        assert_eq!(generation("x-"), None);
    }

    #[test]
    fn of_two_copies_the_one_in_the_newer_backing_index_is_the_extra_one() {
        let copies = [
            copy("a", ".ds-logs-x-default-2026.11.25-000010"),
            copy("a", ".ds-logs-x-default-2026.11.24-000009"),
            copy("b", ".ds-logs-x-default-2026.11.25-000010"),
            copy("c", "cloudwatch-deadletter-2026.11.25"),
            copy("c", "cloudwatch-deadletter-2026.11.24"),
        ];
        assert_eq!(
            extra_copies(&copies),
            vec![
                (
                    ".ds-logs-x-default-2026.11.25-000010".to_owned(),
                    "a".to_owned()
                ),
                (
                    "cloudwatch-deadletter-2026.11.25".to_owned(),
                    "c".to_owned()
                ),
            ]
        );
        assert_eq!(found_ids(&copies).len(), 3);
    }

    #[test]
    fn only_events_older_than_a_write_index_with_older_siblings_are_suspects() {
        let r = Rollovers::default();
        assert!(r.needs_refresh("logs-x-default"));
        assert!(!r.is_suspect("logs-x-default", 0));
        r.set(
            "logs-x-default".into(),
            Some(WriteIndex {
                name: ".ds-logs-x-default-2026.11.25-000001".into(),
                created_ms: 1_000,
                older: 0,
            }),
        );
        assert!(!r.needs_refresh("logs-x-default"));
        assert!(!r.is_suspect("logs-x-default", 10), "no older index");
        r.set(
            "logs-x-default".into(),
            Some(WriteIndex {
                name: ".ds-logs-x-default-2026.11.25-000002".into(),
                created_ms: 1_000,
                older: 1,
            }),
        );
        assert!(r.is_suspect("logs-x-default", 999));
        assert!(!r.is_suspect("logs-x-default", 1_000));
        assert!(!r.shows_rollover("logs-x-default", ".ds-logs-x-default-2026.11.25-000002"));
        assert!(!r.shows_rollover("logs-x-default", ".fs-logs-x-default-2026.11.25-000003"));
        assert!(r.shows_rollover("logs-x-default", ".ds-logs-x-default-2026.11.26-000003"));
        r.mark_stale("logs-x-default");
        assert!(r.needs_refresh("logs-x-default"));
        assert!(
            !r.shows_rollover("logs-x-default", ".ds-logs-x-default-2026.11.26-000003"),
            "already known to be stale"
        );
    }

    #[test]
    fn a_data_stream_created_by_this_delivery_starts_at_generation_one_with_nothing_older() {
        let r = Rollovers::default();
        r.set("logs-x-default".into(), None);
        assert!(!r.shows_rollover("logs-x-default", ".ds-logs-x-default-2026.11.25-000001"));
        assert_eq!(r.get("logs-x-default").map(|w| w.older), Some(0));
        let r = Rollovers::default();
        r.set("logs-x-default".into(), None);
        assert!(r.shows_rollover("logs-x-default", ".ds-logs-x-default-2026.11.25-000004"));
    }

    #[test]
    fn lookups_are_disabled_once_and_say_why() {
        let r = Rollovers::default();
        assert!(r.disable("403".into()));
        assert!(!r.disable("again".into()));
        assert_eq!(r.disabled().as_deref(), Some("403"));
    }
}
