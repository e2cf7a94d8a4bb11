//! Domain types, serialized exactly as the API returns them.

use serde::{Deserialize, Serialize};

/// A user's word list with its counters.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WordList {
    pub id: String,
    pub name: String,
    pub source_lang: String,
    pub target_lang: String,
    pub word_count: i64,
    pub learned_count: i64,
    /// Bookmarked by its owner (the app shows favourites first).
    pub favorite: bool,
    /// Words in the list's incorrect-answers notebook.
    pub notebook_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// One word with its meaning and quiz history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Word {
    pub id: String,
    pub list_id: String,
    pub word: String,
    pub meaning: String,
    /// The owner's note on the word (may be empty).
    pub memo: String,
    pub learned: bool,
    /// In the list's incorrect-answers notebook (by hand or by a wrong quiz answer).
    pub in_notebook: bool,
    pub right_count: i64,
    pub wrong_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// A page of results; `next_cursor` is passed back as `?cursor=`.
#[derive(Clone, Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Changes to a word (PATCH); `None` leaves the value as it is.
#[derive(Clone, Debug, Default)]
pub struct WordPatch {
    pub word: Option<String>,
    pub meaning: Option<String>,
    pub memo: Option<String>,
    pub learned: Option<bool>,
}

impl WordPatch {
    /// The patch applied to `word`: both stores change a word the same way.
    pub fn apply_to(&self, word: &mut Word) {
        if let Some(w) = &self.word {
            word.word.clone_from(w);
        }
        if let Some(m) = &self.meaning {
            word.meaning.clone_from(m);
        }
        if let Some(m) = &self.memo {
            word.memo.clone_from(m);
        }
        if let Some(l) = self.learned {
            word.learned = l;
        }
    }
}

/// Changes to a list (PATCH); `None` leaves the value as it is.
#[derive(Clone, Debug, Default)]
pub struct ListPatch {
    pub name: Option<String>,
    pub favorite: Option<bool>,
}

/// What a batch delete did: ids deleted, and ids that were not there (or not the caller's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BatchDeleted {
    pub deleted: Vec<String>,
    pub not_found: Vec<String>,
}

/// A list whose notebook is not empty, with its size (`GET /notebooks`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NotebookSummary {
    pub list: WordList,
    pub count: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuizMode {
    /// Multiple choice: the answer among distractors from the same list.
    Choice,
    /// The answer is typed.
    Typed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    WordToMeaning,
    MeaningToWord,
}

/// A question as stored, with its answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub word_id: String,
    pub prompt: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub choices: Option<Vec<String>>,
    pub answer: String,
}

/// A generated quiz.
#[derive(Clone, Debug, PartialEq)]
pub struct Quiz {
    pub id: String,
    pub list_id: String,
    pub mode: QuizMode,
    pub direction: Direction,
    pub questions: Vec<Question>,
    pub submitted: bool,
    pub created_at: String,
}

/// The caller's profile and stats (`GET /me`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Profile {
    pub user_id: String,
    pub created_at: String,
    pub lists: i64,
    pub words: i64,
    pub learned: i64,
    pub quizzes_taken: i64,
    pub answers_right: i64,
    pub answers_wrong: i64,
}

/// Now, as RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A new id: UUID v7, so ids sort by creation time (and so do DynamoDB sort keys).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
