//! The storage the handlers need, and nothing more. One real implementation:
//! [`crate::dynamo::DynamoStore`]. Every method is scoped by the caller's user id, so one
//! user's data is unreachable with another user's id.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use crate::model::{ListPatch, NotebookSummary, Page, Profile, Quiz, Word, WordList, WordPatch};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend failed (network, a bug in a request): the operation, DynamoDB's error
    /// code and a short message (never a debug dump).
    #[error("{op} failed: {code}{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Backend {
        op: &'static str,
        code: String,
        message: String,
    },
    /// Over capacity (throttled): try again later.
    #[error("{0}: throttled")]
    Throttled(&'static str),
    /// An item could not be read back (missing or mistyped attribute).
    #[error("corrupt item: {0}")]
    Corrupt(String),
    /// An optimistic update kept losing to concurrent writers.
    #[error("{0}: too many concurrent updates")]
    Contention(&'static str),
}

/// Result of adding words to a list.
#[derive(Debug, PartialEq, Eq)]
pub enum AddWords {
    Added,
    NoSuchList,
    /// The list would exceed its maximum size.
    Full {
        current: i64,
    },
}

/// Which words a listing keeps (all `None`: every word). `search` is already normalized
/// (`crate::quiz::normalize`) and matches a substring of the normalized word or meaning.
#[derive(Clone, Debug, Default)]
pub struct WordFilter {
    pub learned: Option<bool>,
    pub min_wrong: Option<i64>,
    pub in_notebook: Option<bool>,
    pub search: Option<String>,
}

impl WordFilter {
    /// Whether `w` passes the filter.
    pub fn matches(&self, w: &Word, normalize: impl Fn(&str) -> String) -> bool {
        self.learned.is_none_or(|l| w.learned == l)
            && self.min_wrong.is_none_or(|m| w.wrong_count >= m)
            && self.in_notebook.is_none_or(|n| w.in_notebook == n)
            && self
                .search
                .as_deref()
                .is_none_or(|q| normalize(&w.word).contains(q) || normalize(&w.meaning).contains(q))
    }
}

/// Result of recording a quiz's answers.
#[derive(Debug, PartialEq, Eq)]
pub enum Submit {
    Recorded,
    AlreadySubmitted,
    NoSuchQuiz,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a new list.
    async fn create_list(&self, user: &str, list: &WordList) -> Result<(), StoreError>;
    async fn get_list(&self, user: &str, list_id: &str) -> Result<Option<WordList>, StoreError>;
    /// The user's lists in creation order, `limit` at a time, after the list id `after`.
    async fn lists(
        &self,
        user: &str,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Page<WordList>, StoreError>;
    /// Renames a list and/or sets its favourite flag; `None` when it doesn't exist.
    async fn update_list(
        &self,
        user: &str,
        list_id: &str,
        patch: &ListPatch,
    ) -> Result<Option<WordList>, StoreError>;
    /// Deletes a list and its words; `false` when it doesn't exist.
    async fn delete_list(&self, user: &str, list_id: &str) -> Result<bool, StoreError>;
    /// Adds words to a list (counting them on the list), keeping it at most `max_words`.
    async fn add_words(
        &self,
        user: &str,
        list_id: &str,
        words: &[Word],
        max_words: i64,
    ) -> Result<AddWords, StoreError>;
    /// All words of a list, in creation order.
    async fn words(&self, user: &str, list_id: &str) -> Result<Vec<Word>, StoreError>;
    /// The ids of a list's words, in creation order, read as keys only (quiz creation
    /// picks its words from them, then reads just those with [`Store::words_by_id`]).
    async fn word_ids(&self, user: &str, list_id: &str) -> Result<Vec<String>, StoreError>;
    /// The words of the list with these ids, in any order; ids not found are left out.
    async fn words_by_id(
        &self,
        user: &str,
        list_id: &str,
        ids: &[String],
    ) -> Result<Vec<Word>, StoreError>;
    /// The review list: up to `limit` words answered wrong at least once, most missed first
    /// (by `wrong_count - right_count`, then `wrong_count`, both descending; ties in id
    /// order), read from an index of just those words.
    async fn review(&self, user: &str, list_id: &str, limit: u32) -> Result<Vec<Word>, StoreError>;
    /// The words of a list matching `filter`, in creation order, `limit` at a time, after
    /// the word id `after`; `next_cursor` is set exactly when more matching words follow.
    async fn words_page(
        &self,
        user: &str,
        list_id: &str,
        filter: &WordFilter,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Page<Word>, StoreError>;
    /// Puts a word into the list's notebook or takes it out (idempotent, counting it on the
    /// list); `None` when the word doesn't exist.
    async fn set_in_notebook(
        &self,
        user: &str,
        list_id: &str,
        word_id: &str,
        in_notebook: bool,
    ) -> Result<Option<Word>, StoreError>;
    /// Every list of the user whose notebook is not empty, in creation order.
    async fn notebooks(&self, user: &str) -> Result<Vec<NotebookSummary>, StoreError>;
    /// Edits a word (keeping the list's learned count right); `None` when it doesn't exist.
    async fn update_word(
        &self,
        user: &str,
        list_id: &str,
        word_id: &str,
        patch: &WordPatch,
    ) -> Result<Option<Word>, StoreError>;
    /// Deletes a word (and uncounts it); `false` when it doesn't exist.
    async fn delete_word(
        &self,
        user: &str,
        list_id: &str,
        word_id: &str,
    ) -> Result<bool, StoreError>;
    async fn put_quiz(&self, user: &str, quiz: &Quiz) -> Result<(), StoreError>;
    async fn get_quiz(&self, user: &str, quiz_id: &str) -> Result<Option<Quiz>, StoreError>;
    /// Marks the quiz submitted (once) and adds each `(word_id, correct)` to the word's
    /// right/wrong counters and the user's totals, atomically per counter; every wrongly
    /// answered word goes into the list's notebook.
    async fn submit_quiz(
        &self,
        user: &str,
        quiz: &Quiz,
        results: &[(String, bool)],
    ) -> Result<Submit, StoreError>;
    /// The user's profile (created on first use) with stats.
    async fn profile(&self, user: &str) -> Result<Profile, StoreError>;
}

/// The review list's order: most missed first (`wrong - right`, then `wrong`, descending),
/// ties in id (creation) order. Both stores sort what their index gives them with it.
pub fn review_order(a: &Word, b: &Word) -> std::cmp::Ordering {
    (b.wrong_count - b.right_count)
        .cmp(&(a.wrong_count - a.right_count))
        .then(b.wrong_count.cmp(&a.wrong_count))
        .then_with(|| a.id.cmp(&b.id))
}

/// What one request's store calls read, for its log line (`app.items_read`,
/// `app.keys_read`): the request log layer runs each request inside [`Reads::scope`], the
/// stores count with [`count_items`] / [`count_keys`] (nothing is counted outside a request).
#[derive(Debug, Default)]
pub struct Reads {
    items: AtomicU64,
    keys: AtomicU64,
}

tokio::task_local! {
    static READS: Arc<Reads>;
}

impl Reads {
    /// Runs `f` with its store reads counted in `reads`.
    pub async fn scope<F: std::future::Future>(reads: Arc<Reads>, f: F) -> F::Output {
        READS.scope(reads, f).await
    }
    /// Items (words, lists, quizzes, profiles) read whole: by DynamoDB, the items a Query
    /// evaluated with all their attributes or a GetItem / BatchGetItem returned; by MongoDB,
    /// the documents the server returned.
    pub fn items(&self) -> u64 {
        self.items.load(Ordering::Relaxed)
    }
    /// Entries read as keys only (a keys-only Query or index).
    pub fn keys(&self) -> u64 {
        self.keys.load(Ordering::Relaxed)
    }
}

/// Counts `n` items read whole by the current request (see [`Reads`]).
pub fn count_items(n: usize) {
    let _ = READS.try_with(|r| r.items.fetch_add(n as u64, Ordering::Relaxed));
}

/// Counts `n` entries read as keys only by the current request (see [`Reads`]).
pub fn count_keys(n: usize) {
    let _ = READS.try_with(|r| r.keys.fetch_add(n as u64, Ordering::Relaxed));
}
