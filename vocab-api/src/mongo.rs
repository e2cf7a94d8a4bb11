//! [`Store`] on MongoDB (the original app's database), with the official driver.
//!
//! | collection | `_id`     | document                                                   |
//! |------------|-----------|------------------------------------------------------------|
//! | `lists`    | list id   | `user`, name, languages, `word_count`, `learned_count`, `notebook_count`, `deleting`? |
//! | `words`    | word id   | `user`, `list_id`, word, meaning, memo, flags, right/wrong counters |
//! | `quizzes`  | quiz id   | `user`, `list_id`, questions (with answers), `submitted`   |
//! | `profiles` | user id   | `created_at`, quiz and answer counters                     |
//!
//! Every filter names the caller (`user`, or the profile's `_id`), so one user's ids reach
//! nothing of another's. Ids are UUID v7 strings, so `_id` order is creation order.
//!
//! The same guarantees as the DynamoDB store, with MongoDB's means: counters move only by
//! `$inc`; every change that moves a list's counter with its words (adding words, marking one
//! learned, the notebook, deleting one) is one multi-document transaction,
//! retried on `TransientTransactionError` with jittered backoff, then answered as
//! contention (`409`). Transactions need a replica set or a sharded cluster (Atlas always
//! is); [`MongoStore::connect`] refuses a standalone server with a message that says so.

use std::time::Duration;

use async_trait::async_trait;
use mongodb::bson::{Bson, Document, doc};
use mongodb::error::{
    Error as MongoError, ErrorKind, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT,
    WriteFailure,
};
use mongodb::options::{
    Acknowledgment, ClientOptions, IndexOptions, ReadConcern, ReturnDocument, WriteConcern,
};
use mongodb::{Client, ClientSession, Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

use crate::model::{
    Direction, ListPatch, NotebookSummary, Page, Profile, Question, Quiz, QuizMode, Word, WordList,
    WordPatch,
};
use crate::store::{AddWords, Store, StoreError, Submit, WordFilter};

/// The database when the connection string names none.
pub const DEFAULT_DATABASE: &str = "vocab";
/// Words a page read asks the server for at a time.
const CURSOR_BATCH: u32 = 200;
/// Attempts of a transaction that keeps losing to concurrent writers (then `409`).
const CONTENDED_ATTEMPTS: u32 = 8;
/// How long the driver looks for a usable server before an operation fails.
const SERVER_SELECTION: Duration = Duration::from_secs(10);

pub struct MongoStore {
    client: Client,
    db: Database,
    lists: Collection<ListDoc>,
    words: Collection<WordDoc>,
    quizzes: Collection<QuizDoc>,
    profiles: Collection<Document>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ListDoc {
    #[serde(rename = "_id")]
    id: String,
    user: String,
    name: String,
    source_lang: String,
    target_lang: String,
    word_count: i64,
    learned_count: i64,
    #[serde(default)]
    favorite: bool,
    #[serde(default)]
    notebook_count: i64,
    created_at: String,
    updated_at: String,
    /// Set when a delete has begun: the list is gone for every reader and writer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deleting: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct WordDoc {
    #[serde(rename = "_id")]
    id: String,
    user: String,
    list_id: String,
    word: String,
    meaning: String,
    #[serde(default)]
    memo: String,
    learned: bool,
    #[serde(default)]
    in_notebook: bool,
    #[serde(default)]
    right_count: i64,
    #[serde(default)]
    wrong_count: i64,
    /// `wrong_count - right_count`, the review list's first sort key (kept with the
    /// counters on every answer; absent on words stored before it existed).
    #[serde(default)]
    miss: i64,
    created_at: String,
    updated_at: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct QuizDoc {
    #[serde(rename = "_id")]
    id: String,
    user: String,
    list_id: String,
    mode: QuizMode,
    direction: Direction,
    questions: Vec<Question>,
    submitted: bool,
    created_at: String,
}

impl ListDoc {
    fn new(user: &str, l: &WordList) -> Self {
        ListDoc {
            id: l.id.clone(),
            user: user.to_owned(),
            name: l.name.clone(),
            source_lang: l.source_lang.clone(),
            target_lang: l.target_lang.clone(),
            word_count: l.word_count,
            learned_count: l.learned_count,
            favorite: l.favorite,
            notebook_count: l.notebook_count,
            created_at: l.created_at.clone(),
            updated_at: l.updated_at.clone(),
            deleting: None,
        }
    }
    fn into_list(self) -> WordList {
        WordList {
            id: self.id,
            name: self.name,
            source_lang: self.source_lang,
            target_lang: self.target_lang,
            word_count: self.word_count,
            learned_count: self.learned_count,
            favorite: self.favorite,
            notebook_count: self.notebook_count,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

impl WordDoc {
    fn new(user: &str, w: &Word) -> Self {
        WordDoc {
            id: w.id.clone(),
            user: user.to_owned(),
            list_id: w.list_id.clone(),
            word: w.word.clone(),
            meaning: w.meaning.clone(),
            memo: w.memo.clone(),
            learned: w.learned,
            in_notebook: w.in_notebook,
            right_count: w.right_count,
            wrong_count: w.wrong_count,
            miss: w.wrong_count - w.right_count,
            created_at: w.created_at.clone(),
            updated_at: w.updated_at.clone(),
        }
    }
    fn into_word(self) -> Word {
        Word {
            id: self.id,
            list_id: self.list_id,
            word: self.word,
            meaning: self.meaning,
            memo: self.memo,
            learned: self.learned,
            in_notebook: self.in_notebook,
            right_count: self.right_count,
            wrong_count: self.wrong_count,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// What a transaction's body decided: commit, or abort; either way with this answer.
enum Step<T> {
    Commit(T),
    Abort(T),
}

/// Runs `$body` (an expression using the session `$s`, giving `Result<Step<T>, MongoError>`)
/// in a transaction, retrying the whole of it on a `TransientTransactionError` (a write
/// conflict with another transaction, a primary stepping down) with jittered backoff, and
/// the commit alone on `UnknownTransactionCommitResult`, as MongoDB's transaction docs
/// prescribe ("Retry Transaction" / "Retry Commit Operation").
macro_rules! transaction {
    ($self:ident, $op:literal, |$s:ident| $body:expr) => {{
        let mut outcome = Err(StoreError::Contention($op));
        for attempt in 1..=CONTENDED_ATTEMPTS {
            let mut session = $self.begin($op).await?;
            let $s = &mut session;
            let step = $body;
            match step {
                Ok(Step::Commit(value)) => match commit($s).await {
                    Ok(()) => {
                        outcome = Ok(value);
                        break;
                    }
                    Err(e) if e.contains_label(TRANSIENT_TRANSACTION_ERROR) => {}
                    Err(e) => {
                        outcome = Err(backend($op, e));
                        break;
                    }
                },
                Ok(Step::Abort(value)) => {
                    let _ = $s.abort_transaction().await;
                    outcome = Ok(value);
                    break;
                }
                Err(e) if e.contains_label(TRANSIENT_TRANSACTION_ERROR) => {
                    let _ = $s.abort_transaction().await;
                }
                Err(e) => {
                    let _ = $s.abort_transaction().await;
                    outcome = Err(backend($op, e));
                    break;
                }
            }
            if attempt < CONTENDED_ATTEMPTS {
                backoff(attempt).await;
            }
        }
        outcome
    }};
}

/// Commits, retrying the commit alone while its result is unknown (a commit is idempotent).
async fn commit(s: &mut ClientSession) -> Result<(), MongoError> {
    let mut tries = 0;
    loop {
        match s.commit_transaction().await {
            Err(e) if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) && tries < 3 => {
                tries += 1;
            }
            other => return other,
        }
    }
}

/// The connection string's database, or [`DEFAULT_DATABASE`].
pub fn database_name(options: &ClientOptions) -> &str {
    options
        .default_database
        .as_deref()
        .unwrap_or(DEFAULT_DATABASE)
}

impl MongoStore {
    /// Connects with `uri` (`mongodb://…` or `mongodb+srv://…`), checks the deployment can
    /// run transactions, and creates the indexes (idempotent: creating an index that exists
    /// with the same keys and name does nothing). `database` overrides the URI's.
    pub async fn connect(uri: &str, database: Option<&str>) -> Result<Self, StoreError> {
        let mut options = ClientOptions::parse(uri)
            .await
            .map_err(|e| backend("connect", e))?;
        options
            .app_name
            .get_or_insert_with(|| "vocab-api".to_owned());
        options
            .server_selection_timeout
            .get_or_insert(SERVER_SELECTION);
        let name = database
            .map(str::to_owned)
            .unwrap_or_else(|| database_name(&options).to_owned());
        let client = Client::with_options(options).map_err(|e| backend("connect", e))?;
        let store = MongoStore::new(client, &name);
        store.check_deployment().await?;
        store.ensure_indexes().await?;
        Ok(store)
    }

    fn new(client: Client, database: &str) -> Self {
        let db = client.database(database);
        MongoStore {
            lists: db.collection("lists"),
            words: db.collection("words"),
            quizzes: db.collection("quizzes"),
            profiles: db.collection("profiles"),
            db,
            client,
        }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Transactions exist on replica sets and sharded clusters only: say so at start, not at
    /// the first write.
    async fn check_deployment(&self) -> Result<(), StoreError> {
        let hello = self
            .db
            .run_command(doc! { "hello": 1 })
            .await
            .map_err(|e| backend("hello", e))?;
        let replica_set = hello.get_str("setName").is_ok();
        let sharded = hello.get_str("msg").is_ok_and(|m| m == "isdbgrid");
        if replica_set || sharded {
            return Ok(());
        }
        Err(StoreError::Backend {
            op: "connect",
            code: "StandaloneServer".into(),
            message: "the MongoDB server is a standalone: the store needs transactions, which \
                      need a replica set or a sharded cluster (Atlas always is; a local mongod: \
                      --replSet rs0, then rs.initiate())"
                .into(),
        })
    }

    /// The indexes every query uses: the user's lists, and a list's words, in `_id`
    /// (creation) order. Also creates the collections, which a transaction on an older
    /// server can't.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let index = |keys: Document, name: &str| {
            IndexModel::builder()
                .keys(keys)
                .options(IndexOptions::builder().name(name.to_owned()).build())
                .build()
        };
        self.lists
            .create_index(index(doc! { "user": 1, "_id": 1 }, "user_id"))
            .await
            .map_err(|e| backend("createIndexes", e))?;
        self.words
            .create_index(index(
                doc! { "user": 1, "list_id": 1, "_id": 1 },
                "user_list_id",
            ))
            .await
            .map_err(|e| backend("createIndexes", e))?;
        // The review list: only words answered wrong are in this (partial) index, in the
        // list's order (most missed first), so the list is read from its front with a limit.
        self.words
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "user": 1, "list_id": 1, "miss": -1, "wrong_count": -1, "_id": 1 })
                    .options(
                        IndexOptions::builder()
                            .name("user_list_review".to_owned())
                            .partial_filter_expression(doc! { "wrong_count": { "$gt": 0 } })
                            .build(),
                    )
                    .build(),
            )
            .await
            .map_err(|e| backend("createIndexes", e))?;
        self.quizzes
            .create_index(index(doc! { "user": 1, "_id": 1 }, "user_id"))
            .await
            .map_err(|e| backend("createIndexes", e))?;
        for name in ["profiles"] {
            match self.db.create_collection(name).await {
                Ok(()) => {}
                // NamespaceExists: already there.
                Err(e) if code_of(&e).is_some_and(|(c, _)| c == 48) => {}
                Err(e) => return Err(backend("create", e)),
            }
        }
        Ok(())
    }

    /// A session with a transaction begun: snapshot reads, majority writes (MongoDB's
    /// recommended transaction settings).
    async fn begin(&self, op: &'static str) -> Result<ClientSession, StoreError> {
        let mut s = self
            .client
            .start_session()
            .await
            .map_err(|e| backend(op, e))?;
        s.start_transaction()
            .read_concern(ReadConcern::snapshot())
            .write_concern(WriteConcern::builder().w(Acknowledgment::Majority).build())
            .await
            .map_err(|e| backend(op, e))?;
        Ok(s)
    }

    fn list_filter(user: &str, list_id: &str) -> Document {
        doc! { "_id": list_id, "user": user, "deleting": { "$exists": false } }
    }

    fn word_filter(user: &str, list_id: &str, word_id: &str) -> Document {
        doc! { "_id": word_id, "user": user, "list_id": list_id }
    }

    /// The rest of a list delete once its tombstone is set: its words, then the list.
    async fn finish_delete(&self, user: &str, list_id: &str) -> Result<(), StoreError> {
        self.words
            .delete_many(doc! { "user": user, "list_id": list_id })
            .await
            .map_err(|e| backend("delete", e))?;
        self.lists
            .delete_one(doc! { "_id": list_id, "user": user })
            .await
            .map_err(|e| backend("delete", e))?;
        Ok(())
    }

    async fn add_words_txn(
        &self,
        s: &mut ClientSession,
        user: &str,
        list_id: &str,
        docs: &[WordDoc],
        max_words: i64,
    ) -> Result<Step<AddWords>, MongoError> {
        let n = i64::try_from(docs.len()).unwrap_or(i64::MAX);
        let mut cond = Self::list_filter(user, list_id);
        cond.insert("word_count", doc! { "$lte": max_words - n });
        let counted = self
            .lists
            .update_one(
                cond,
                doc! { "$inc": { "word_count": n }, "$set": { "updated_at": crate::model::now() } },
            )
            .session(&mut *s)
            .await?;
        if counted.matched_count == 0 {
            // Gone (or being deleted), or full: the answer, not a failure.
            let list = self
                .lists
                .find_one(Self::list_filter(user, list_id))
                .session(&mut *s)
                .await?;
            return Ok(Step::Abort(match list {
                None => AddWords::NoSuchList,
                Some(l) => AddWords::Full {
                    current: l.word_count,
                },
            }));
        }
        self.words.insert_many(docs).session(&mut *s).await?;
        Ok(Step::Commit(AddWords::Added))
    }

    async fn notebook_txn(
        &self,
        s: &mut ClientSession,
        user: &str,
        list_id: &str,
        word_id: &str,
        in_notebook: bool,
    ) -> Result<Step<Option<Word>>, MongoError> {
        let mut filter = Self::word_filter(user, list_id, word_id);
        // Flips only from the other value (a word stored without the flag is out of it), so
        // the list's counter moves exactly once per change.
        if in_notebook {
            filter.insert("in_notebook", doc! { "$ne": true });
        } else {
            filter.insert("in_notebook", true);
        }
        let flipped = self
            .words
            .find_one_and_update(filter, doc! { "$set": { "in_notebook": in_notebook } })
            .return_document(ReturnDocument::After)
            .session(&mut *s)
            .await?;
        match flipped {
            Some(w) => {
                self.lists
                    .update_one(
                        doc! { "_id": list_id, "user": user },
                        doc! { "$inc": { "notebook_count": if in_notebook { 1i64 } else { -1i64 } } },
                    )
                    .session(&mut *s)
                    .await?;
                Ok(Step::Commit(Some(w.into_word())))
            }
            // Missing, or already as asked.
            None => Ok(Step::Abort(
                self.words
                    .find_one(Self::word_filter(user, list_id, word_id))
                    .session(&mut *s)
                    .await?
                    .map(WordDoc::into_word),
            )),
        }
    }

    async fn update_word_txn(
        &self,
        s: &mut ClientSession,
        user: &str,
        list_id: &str,
        word_id: &str,
        patch: &WordPatch,
    ) -> Result<Step<Option<Word>>, MongoError> {
        let now = crate::model::now();
        let mut set = doc! { "updated_at": &now };
        if let Some(w) = &patch.word {
            set.insert("word", w);
        }
        if let Some(m) = &patch.meaning {
            set.insert("meaning", m);
        }
        if let Some(m) = &patch.memo {
            set.insert("memo", m);
        }
        if let Some(l) = patch.learned {
            set.insert("learned", l);
        }
        let before = self
            .words
            .find_one_and_update(
                Self::word_filter(user, list_id, word_id),
                doc! { "$set": set },
            )
            .return_document(ReturnDocument::Before)
            .session(&mut *s)
            .await?;
        let Some(before) = before else {
            return Ok(Step::Abort(None));
        };
        let was_learned = before.learned;
        let mut word = before.into_word();
        patch.apply_to(&mut word);
        word.updated_at = now;
        // The list's learned counter moves with the flag, in the same transaction.
        if word.learned != was_learned {
            self.lists
                .update_one(
                    doc! { "_id": list_id, "user": user },
                    doc! { "$inc": { "learned_count": if word.learned { 1i64 } else { -1i64 } } },
                )
                .session(&mut *s)
                .await?;
        }
        Ok(Step::Commit(Some(word)))
    }

    async fn delete_word_txn(
        &self,
        s: &mut ClientSession,
        user: &str,
        list_id: &str,
        word_id: &str,
    ) -> Result<Step<bool>, MongoError> {
        let Some(gone) = self
            .words
            .find_one_and_delete(Self::word_filter(user, list_id, word_id))
            .session(&mut *s)
            .await?
        else {
            return Ok(Step::Abort(false));
        };
        // Uncounted with the flags the deleted document had.
        self.lists
            .update_one(
                doc! { "_id": list_id, "user": user },
                doc! { "$inc": {
                    "word_count": -1i64,
                    "learned_count": if gone.learned { -1i64 } else { 0i64 },
                    "notebook_count": if gone.in_notebook { -1i64 } else { 0i64 },
                } },
            )
            .session(&mut *s)
            .await?;
        Ok(Step::Commit(true))
    }

    /// Puts the words `ids` into the list's notebook (those not yet in it) and counts them
    /// on the list, in one transaction.
    async fn add_to_notebook_txn(
        &self,
        s: &mut ClientSession,
        user: &str,
        list_id: &str,
        ids: &[&str],
    ) -> Result<Step<()>, MongoError> {
        let moved = self
            .words
            .update_many(
                doc! { "user": user, "list_id": list_id, "_id": { "$in": ids }, "in_notebook": { "$ne": true } },
                doc! { "$set": { "in_notebook": true } },
            )
            .session(&mut *s)
            .await?;
        if moved.modified_count == 0 {
            return Ok(Step::Abort(()));
        }
        self.lists
            .update_one(
                doc! { "_id": list_id, "user": user },
                doc! { "$inc": { "notebook_count": i64::try_from(moved.modified_count).unwrap_or(i64::MAX) } },
            )
            .session(&mut *s)
            .await?;
        Ok(Step::Commit(()))
    }
}

#[async_trait]
impl Store for MongoStore {
    async fn create_list(&self, user: &str, list: &WordList) -> Result<(), StoreError> {
        self.lists
            .insert_one(ListDoc::new(user, list))
            .await
            .map_err(|e| backend("insert", e))?;
        Ok(())
    }

    async fn get_list(&self, user: &str, list_id: &str) -> Result<Option<WordList>, StoreError> {
        let list = self
            .lists
            .find_one(Self::list_filter(user, list_id))
            .await
            .map_err(|e| backend("find", e))?;
        crate::store::count_items(usize::from(list.is_some()));
        Ok(list.map(ListDoc::into_list))
    }

    async fn lists(
        &self,
        user: &str,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Page<WordList>, StoreError> {
        let mut filter = doc! { "user": user, "deleting": { "$exists": false } };
        if let Some(after) = after {
            filter.insert("_id", doc! { "$gt": after });
        }
        let mut items: Vec<WordList> = collect(
            self.lists
                .find(filter)
                .sort(doc! { "_id": 1 })
                .limit(i64::from(limit) + 1)
                .await,
        )
        .await?
        .into_iter()
        .map(ListDoc::into_list)
        .collect();
        Ok(page(&mut items, limit))
    }

    async fn update_list(
        &self,
        user: &str,
        list_id: &str,
        patch: &ListPatch,
    ) -> Result<Option<WordList>, StoreError> {
        let mut set = doc! { "updated_at": crate::model::now() };
        if let Some(name) = &patch.name {
            set.insert("name", name);
        }
        if let Some(favorite) = patch.favorite {
            set.insert("favorite", favorite);
        }
        Ok(self
            .lists
            .find_one_and_update(Self::list_filter(user, list_id), doc! { "$set": set })
            .return_document(ReturnDocument::After)
            .await
            .map_err(|e| backend("findAndModify", e))?
            .map(ListDoc::into_list))
    }

    async fn delete_list(&self, user: &str, list_id: &str) -> Result<bool, StoreError> {
        // First a tombstone on the list: every add of words is a transaction whose first
        // write is conditional on there being none, so from here on no word can be added (a
        // transaction that read the list before conflicts with this write and is retried);
        // the words already there are then all seen by the delete.
        let marked = self
            .lists
            .update_one(
                Self::list_filter(user, list_id),
                doc! { "$set": { "deleting": crate::model::now() } },
            )
            .await
            .map_err(|e| backend("update", e))?;
        if marked.matched_count == 1 {
            self.finish_delete(user, list_id).await?;
            return Ok(true);
        }
        // Already being deleted by another request: that one answers 204, this one 404,
        // and both make sure it is finished.
        let dying = self
            .lists
            .find_one(doc! { "_id": list_id, "user": user })
            .await
            .map_err(|e| backend("find", e))?;
        if dying.is_some() {
            self.finish_delete(user, list_id).await?;
        }
        Ok(false)
    }

    async fn add_words(
        &self,
        user: &str,
        list_id: &str,
        words: &[Word],
        max_words: i64,
    ) -> Result<AddWords, StoreError> {
        let docs: Vec<WordDoc> = words.iter().map(|w| WordDoc::new(user, w)).collect();
        // One transaction: the list's counter (conditional on the list existing, not being
        // deleted, and staying within its size) and every word, all or nothing.
        transaction!(self, "add words", |s| self
            .add_words_txn(s, user, list_id, &docs, max_words)
            .await)
    }

    async fn words(&self, user: &str, list_id: &str) -> Result<Vec<Word>, StoreError> {
        let words = collect(
            self.words
                .find(doc! { "user": user, "list_id": list_id })
                .sort(doc! { "_id": 1 })
                .batch_size(CURSOR_BATCH)
                .await,
        )
        .await?;
        crate::store::count_items(words.len());
        Ok(words.into_iter().map(WordDoc::into_word).collect())
    }

    async fn word_ids(&self, user: &str, list_id: &str) -> Result<Vec<String>, StoreError> {
        // `_id` only: answered from the `user_list_id` index alone (a covered query).
        let ids: Vec<Document> = collect(
            self.words
                .clone_with_type::<Document>()
                .find(doc! { "user": user, "list_id": list_id })
                .projection(doc! { "_id": 1 })
                .sort(doc! { "_id": 1 })
                .batch_size(10 * CURSOR_BATCH)
                .await,
        )
        .await?;
        crate::store::count_keys(ids.len());
        ids.iter()
            .map(|d| {
                d.get_str("_id")
                    .map(str::to_owned)
                    .map_err(|e| StoreError::Corrupt(format!("word _id: {e}")))
            })
            .collect()
    }

    async fn words_by_id(
        &self,
        user: &str,
        list_id: &str,
        ids: &[String],
    ) -> Result<Vec<Word>, StoreError> {
        let words = collect(
            self.words
                .find(doc! { "user": user, "list_id": list_id, "_id": { "$in": ids } })
                .await,
        )
        .await?;
        crate::store::count_items(words.len());
        Ok(words.into_iter().map(WordDoc::into_word).collect())
    }

    async fn review(&self, user: &str, list_id: &str, limit: u32) -> Result<Vec<Word>, StoreError> {
        // `wrong_count > 0` is the partial index's own filter, so the planner can use it;
        // its key order is the sort, so the server reads `limit` entries and stops.
        let mut words: Vec<Word> = collect(
            self.words
                .find(doc! { "user": user, "list_id": list_id, "wrong_count": { "$gt": 0 } })
                .sort(doc! { "miss": -1, "wrong_count": -1, "_id": 1 })
                .limit(i64::from(limit))
                .await,
        )
        .await?
        .into_iter()
        .map(WordDoc::into_word)
        .collect();
        crate::store::count_items(words.len());
        words.sort_by(crate::store::review_order);
        Ok(words)
    }

    async fn words_page(
        &self,
        user: &str,
        list_id: &str,
        filter: &WordFilter,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Page<Word>, StoreError> {
        // The flags and counters are filtered by the server, the search here (it compares
        // normalized text, which a query can't express); the cursor is read only until one
        // matching word past `limit` shows there is a next page.
        let mut query = doc! { "user": user, "list_id": list_id };
        if let Some(after) = after {
            query.insert("_id", doc! { "$gt": after });
        }
        if let Some(l) = filter.learned {
            query.insert("learned", l);
        }
        if let Some(m) = filter.min_wrong {
            query.insert("wrong_count", doc! { "$gte": m });
        }
        match filter.in_notebook {
            Some(true) => {
                query.insert("in_notebook", true);
            }
            Some(false) => {
                query.insert("in_notebook", doc! { "$ne": true });
            }
            None => {}
        }
        let batch = if filter.search.is_some() {
            CURSOR_BATCH
        } else {
            limit.saturating_add(1).min(CURSOR_BATCH)
        };
        let mut cursor = self
            .words
            .find(query)
            .sort(doc! { "_id": 1 })
            .batch_size(batch)
            .await
            .map_err(|e| backend("find", e))?;
        let want = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut items: Vec<Word> = Vec::new();
        while cursor.advance().await.map_err(|e| backend("getMore", e))? {
            crate::store::count_items(1);
            let word = cursor
                .deserialize_current()
                .map_err(|e| StoreError::Corrupt(format!("word: {e}")))?
                .into_word();
            if !filter.matches(&word, crate::quiz::normalize) {
                continue;
            }
            items.push(word);
            if items.len() > want {
                break;
            }
        }
        Ok(page(&mut items, limit))
    }

    async fn set_in_notebook(
        &self,
        user: &str,
        list_id: &str,
        word_id: &str,
        in_notebook: bool,
    ) -> Result<Option<Word>, StoreError> {
        transaction!(self, "notebook", |s| self
            .notebook_txn(s, user, list_id, word_id, in_notebook)
            .await)
    }

    async fn notebooks(&self, user: &str) -> Result<Vec<NotebookSummary>, StoreError> {
        let lists = collect(
            self.lists
                .find(doc! { "user": user, "deleting": { "$exists": false }, "notebook_count": { "$gt": 0 } })
                .sort(doc! { "_id": 1 })
                .await,
        )
        .await?;
        Ok(lists
            .into_iter()
            .map(|l| NotebookSummary {
                count: l.notebook_count,
                list: l.into_list(),
            })
            .collect())
    }

    async fn update_word(
        &self,
        user: &str,
        list_id: &str,
        word_id: &str,
        patch: &WordPatch,
    ) -> Result<Option<Word>, StoreError> {
        transaction!(self, "update word", |s| self
            .update_word_txn(s, user, list_id, word_id, patch)
            .await)
    }

    async fn delete_word(
        &self,
        user: &str,
        list_id: &str,
        word_id: &str,
    ) -> Result<bool, StoreError> {
        transaction!(self, "delete word", |s| self
            .delete_word_txn(s, user, list_id, word_id)
            .await)
    }

    async fn put_quiz(&self, user: &str, quiz: &Quiz) -> Result<(), StoreError> {
        let doc = QuizDoc {
            id: quiz.id.clone(),
            user: user.to_owned(),
            list_id: quiz.list_id.clone(),
            mode: quiz.mode,
            direction: quiz.direction,
            questions: quiz.questions.clone(),
            submitted: quiz.submitted,
            created_at: quiz.created_at.clone(),
        };
        self.quizzes
            .insert_one(doc)
            .await
            .map_err(|e| backend("insert", e))?;
        Ok(())
    }

    async fn get_quiz(&self, user: &str, quiz_id: &str) -> Result<Option<Quiz>, StoreError> {
        Ok(self
            .quizzes
            .find_one(doc! { "_id": quiz_id, "user": user })
            .await
            .map_err(|e| backend("find", e))?
            .map(|q| Quiz {
                id: q.id,
                list_id: q.list_id,
                mode: q.mode,
                direction: q.direction,
                questions: q.questions,
                submitted: q.submitted,
                created_at: q.created_at,
            }))
    }

    async fn submit_quiz(
        &self,
        user: &str,
        quiz: &Quiz,
        results: &[(String, bool)],
    ) -> Result<Submit, StoreError> {
        // Once only: the flag flips from false to true in one conditional write.
        let flipped = self
            .quizzes
            .update_one(
                doc! { "_id": &quiz.id, "user": user, "submitted": false },
                doc! { "$set": { "submitted": true, "submitted_at": crate::model::now() } },
            )
            .await
            .map_err(|e| backend("update", e))?;
        if flipped.matched_count == 0 {
            let exists = self
                .quizzes
                .find_one(doc! { "_id": &quiz.id, "user": user })
                .await
                .map_err(|e| backend("find", e))?
                .is_some();
            return Ok(if exists {
                Submit::AlreadySubmitted
            } else {
                Submit::NoSuchQuiz
            });
        }
        let ids = |correct: bool| -> Vec<&str> {
            results
                .iter()
                .filter(|(_, c)| *c == correct)
                .map(|(id, _)| id.as_str())
                .collect()
        };
        let (right, wrong) = (ids(true), ids(false));
        // One atomic update per word (concurrent submissions never lose a count, and never
        // conflict): the counter plus one, and `miss` computed from the counters in the same
        // update (so a word stored before `miss` existed gets it right on its next answer);
        // words deleted since the quiz was made match nothing: skipped, not recreated.
        for (ids, counter) in [(&right, "right_count"), (&wrong, "wrong_count")] {
            if ids.is_empty() {
                continue;
            }
            let count = |name: &str| doc! { "$ifNull": [format!("${name}"), 0i64] };
            let pipeline = vec![
                doc! { "$set": { counter: { "$add": [count(counter), 1i64] } } },
                doc! { "$set": { "miss": { "$subtract": [count("wrong_count"), count("right_count")] } } },
            ];
            self.words
                .update_many(
                    doc! { "user": user, "list_id": &quiz.list_id, "_id": { "$in": ids.as_slice() } },
                    pipeline,
                )
                .await
                .map_err(|e| backend("update", e))?;
        }
        if !wrong.is_empty() {
            transaction!(self, "notebook", |s| self
                .add_to_notebook_txn(s, user, &quiz.list_id, &wrong)
                .await)?;
        }
        let count = |v: &[&str]| i64::try_from(v.len()).unwrap_or(i64::MAX);
        self.profiles
            .update_one(
                doc! { "_id": user },
                doc! {
                    "$setOnInsert": { "created_at": crate::model::now() },
                    "$inc": { "quizzes_taken": 1i64, "answers_right": count(&right), "answers_wrong": count(&wrong) },
                },
            )
            .upsert(true)
            .await
            .map_err(|e| backend("update", e))?;
        Ok(Submit::Recorded)
    }

    async fn profile(&self, user: &str) -> Result<Profile, StoreError> {
        let profile = self
            .profiles
            .find_one_and_update(
                doc! { "_id": user },
                doc! { "$setOnInsert": { "created_at": crate::model::now() } },
            )
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await
            .map_err(|e| backend("findAndModify", e))?
            .unwrap_or_default();
        let lists = collect(
            self.lists
                .find(doc! { "user": user, "deleting": { "$exists": false } })
                .await,
        )
        .await?;
        let created_at = profile
            .get_str("created_at")
            .map_err(|e| StoreError::Corrupt(format!("profile created_at: {e}")))?
            .to_owned();
        Ok(Profile {
            user_id: user.to_owned(),
            created_at,
            lists: i64::try_from(lists.len()).unwrap_or(i64::MAX),
            words: lists.iter().map(|l| l.word_count).sum(),
            learned: lists.iter().map(|l| l.learned_count).sum(),
            quizzes_taken: counter(&profile, "quizzes_taken")?,
            answers_right: counter(&profile, "answers_right")?,
            answers_wrong: counter(&profile, "answers_wrong")?,
        })
    }
}

/// A number in a document (absent = 0), whichever integer or double type the server kept.
fn counter(doc: &Document, key: &str) -> Result<i64, StoreError> {
    match doc.get(key) {
        None => Ok(0),
        Some(Bson::Int64(n)) => Ok(*n),
        Some(Bson::Int32(n)) => Ok(i64::from(*n)),
        #[allow(clippy::cast_possible_truncation)]
        Some(Bson::Double(n)) if n.fract() == 0.0 => Ok(*n as i64),
        Some(other) => Err(StoreError::Corrupt(format!(
            "{key}: expected a number, got {other}"
        ))),
    }
}

/// Keeps `limit` items; the cursor is the last one's id when one more was read.
fn page<T: HasId>(items: &mut Vec<T>, limit: u32) -> Page<T> {
    let want = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = items.len() > want;
    items.truncate(want);
    Page {
        next_cursor: if more {
            items.last().map(|i| i.id().to_owned())
        } else {
            None
        },
        items: std::mem::take(items),
    }
}

trait HasId {
    fn id(&self) -> &str;
}
impl HasId for WordList {
    fn id(&self) -> &str {
        &self.id
    }
}
impl HasId for Word {
    fn id(&self) -> &str {
        &self.id
    }
}

/// Every document of a `find`.
async fn collect<T>(cursor: Result<mongodb::Cursor<T>, MongoError>) -> Result<Vec<T>, StoreError>
where
    T: serde::de::DeserializeOwned + Send + Sync,
{
    let mut cursor = cursor.map_err(|e| backend("find", e))?;
    let mut out = Vec::new();
    while cursor.advance().await.map_err(|e| backend("getMore", e))? {
        out.push(
            cursor
                .deserialize_current()
                .map_err(|e| StoreError::Corrupt(format!("document: {e}")))?,
        );
    }
    Ok(out)
}

/// Full-jitter exponential backoff before attempt `attempt + 1`: a random wait up to
/// 25 ms × 2^attempt, at most 800 ms (as the DynamoDB store).
async fn backoff(attempt: u32) {
    let cap_ms = (25u64 << attempt.min(10)).min(800);
    tokio::time::sleep(Duration::from_millis(fastrand::u64(0..=cap_ms))).await;
}

/// The server's error code and name, where it sent one.
fn code_of(e: &MongoError) -> Option<(i32, String)> {
    match e.kind.as_ref() {
        ErrorKind::Command(c) => Some((c.code, c.code_name.clone())),
        ErrorKind::Write(WriteFailure::WriteError(w)) => {
            Some((w.code, w.code_name.clone().unwrap_or_default()))
        }
        ErrorKind::Write(WriteFailure::WriteConcernError(w)) => Some((w.code, w.code_name.clone())),
        ErrorKind::InsertMany(m) => m
            .write_errors
            .as_ref()
            .and_then(|w| w.first())
            .map(|w| (w.code, w.code_name.clone().unwrap_or_default()))
            .or_else(|| {
                m.write_concern_error
                    .as_ref()
                    .map(|w| (w.code, w.code_name.clone()))
            }),
        _ => None,
    }
}

/// A driver error as a short, stable store error: the operation, the server's code name
/// (or the kind of failure: `ServerSelection`, `Io`, `Authentication`…) and a short message.
/// The connection string is never part of it (the driver redacts credentials, and we don't
/// add the URI); the full error is logged at debug level only.
fn backend(op: &'static str, e: MongoError) -> StoreError {
    tracing::debug!(target: "vocab_api::store", op, error = %e, "MongoDB call failed");
    if e.contains_label(TRANSIENT_TRANSACTION_ERROR) {
        return StoreError::Contention(op);
    }
    let (code, message) = match code_of(&e) {
        Some((code, name)) => (
            if name.is_empty() {
                format!("Code{code}")
            } else {
                name
            },
            match e.kind.as_ref() {
                ErrorKind::Command(c) => c.message.clone(),
                ErrorKind::Write(WriteFailure::WriteError(w)) => w.message.clone(),
                _ => String::new(),
            },
        ),
        None => {
            let kind = match e.kind.as_ref() {
                ErrorKind::ServerSelection { .. } => "ServerSelection",
                ErrorKind::Io(_) => "Io",
                ErrorKind::Authentication { .. } => "Authentication",
                ErrorKind::DnsResolve { .. } => "DnsResolve",
                ErrorKind::InvalidArgument { .. } => "InvalidArgument",
                ErrorKind::InvalidTlsConfig { .. } => "InvalidTlsConfig",
                ErrorKind::BsonDeserialization(_) => "BsonDeserialization",
                ErrorKind::Transaction { .. } => "Transaction",
                ErrorKind::ConnectionPoolCleared { .. } => "ConnectionPoolCleared",
                ErrorKind::InvalidResponse { .. } => "InvalidResponse",
                _ => "Error",
            };
            (kind.to_owned(), first_line(&e.to_string()))
        }
    };
    if matches!(code.as_str(), "BsonDeserialization") {
        return StoreError::Corrupt(format!(
            "{op}: {}",
            message.chars().take(160).collect::<String>()
        ));
    }
    StoreError::Backend {
        op,
        code,
        message: message.chars().take(160).collect(),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_owned()
}
