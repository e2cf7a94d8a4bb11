//! [`Store`] on DynamoDB, single-table design:
//!
//! | pk           | sk                       | item                                   |
//! |--------------|--------------------------|----------------------------------------|
//! | `USER#<sub>` | `PROFILE`                | created_at, quiz/answer counters       |
//! | `USER#<sub>` | `LIST#<list>`            | a list, its word/learned counters      |
//! | `USER#<sub>` | `WORD#<list>#<word>`     | a word, its right/wrong counters (and, once answered, the review index's keys) |
//! | `USER#<sub>` | `QUIZ#<quiz>`            | a quiz (questions as JSON), submitted  |
//!
//! The sparse, keys-only global secondary index [`REVIEW_INDEX`] holds only words answered
//! wrong, most missed first: the review list reads its front.
//!
//! The partition key is the user, so every read and write is confined to the caller's data.
//! Counters change only through atomic `ADD`; state changes that move a counter (a word
//! learned, a word deleted, a quiz submitted once) are conditional writes or transactions.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, CreateGlobalSecondaryIndexAction, Delete,
    DeleteRequest, GlobalSecondaryIndex, GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType,
    KeysAndAttributes, Projection, ProjectionType, Put, ScalarAttributeType, TransactWriteItem,
    Update, WriteRequest,
};

use crate::config::Config;
use crate::model::{
    Direction, ListPatch, NotebookSummary, Page, Profile, Question, Quiz, QuizMode, Word, WordList,
    WordPatch,
};
use crate::store::{AddWords, Store, StoreError, Submit, WordFilter};

type Item = HashMap<String, AttributeValue>;

/// Most items in one DynamoDB transaction.
const TRANSACTION_MAX: usize = 100;
/// Most requests in one BatchWriteItem.
const BATCH_MAX: usize = 25;
/// Most keys in one BatchGetItem.
const BATCH_GET_MAX: usize = 100;
/// Keys a keys-only Query asks for per page (quiz creation's candidates).
const KEYS_PAGE: i32 = 1000;
/// Items a Query evaluates per page when paging through a list's words.
const QUERY_PAGE: i32 = 200;

pub struct DynamoStore {
    client: Client,
    table: String,
}

/// A DynamoDB client for `config`: the AWS default chain, or `endpoint` when set (DynamoDB
/// Local, moto), with dummy credentials and `us-east-1` if the environment has none.
pub async fn connect(config: &Config) -> Client {
    use aws_sdk_dynamodb::config::{Credentials, Region};
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http_client());
    if let Some(endpoint) = &config.endpoint {
        loader = loader.endpoint_url(endpoint);
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none()
            && std::env::var_os("AWS_PROFILE").is_none()
        {
            loader =
                loader.credentials_provider(Credentials::new("local", "local", None, None, "env"));
        }
        if std::env::var_os("AWS_REGION").is_none()
            && std::env::var_os("AWS_DEFAULT_REGION").is_none()
        {
            loader = loader.region(Region::new("us-east-1"));
        }
    }
    Client::new(&loader.load().await)
}

/// The SDK's HTTP client on rustls with ring, the workspace's one TLS stack (see Cargo.toml:
/// the SDK's default client would add aws-lc).
pub fn http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The sparse index of the review list: only words answered wrong at least once have its
/// partition key, [`REVIEW_PK`] (the user and the list), and its sort key [`REVIEW_SCORE`]
/// orders them most missed first. Keys only: the words are then read by key.
pub const REVIEW_INDEX: &str = "review";
/// `REVIEW#<list_id>#USER#<sub>` on a word answered wrong at least once (absent otherwise).
const REVIEW_PK: &str = "review_pk";
/// `(wrong_count - right_count) × MISS_WEIGHT + wrong_count`, kept by atomic arithmetic on
/// every answer (written from the first answer on, right or wrong).
const REVIEW_SCORE: &str = "review_score";
/// Weight of the net misses in [`REVIEW_SCORE`]: orders by net misses, then by wrong answers
/// while a word has fewer than a billion of them.
const MISS_WEIGHT: i64 = 1_000_000_000;

/// Creates the table (pk/sk strings, on-demand, with the review index) unless it exists;
/// adds the review index to an existing table that lacks it; waits until both are active.
/// The same definition is in infra/ (Terraform) and the README.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    let attr = |name: &str, kind: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(kind)
            .build()
    };
    let built = (|| {
        Ok::<_, aws_sdk_dynamodb::error::BuildError>((
            vec![key("pk", KeyType::Hash)?, key("sk", KeyType::Range)?],
            vec![
                attr("pk", ScalarAttributeType::S)?,
                attr("sk", ScalarAttributeType::S)?,
                attr(REVIEW_PK, ScalarAttributeType::S)?,
                attr(REVIEW_SCORE, ScalarAttributeType::N)?,
            ],
            vec![
                key(REVIEW_PK, KeyType::Hash)?,
                key(REVIEW_SCORE, KeyType::Range)?,
            ],
        ))
    })()
    .map_err(|e| build_err("CreateTable", e))?;
    let (table_keys, attributes, index_keys) = built;
    let keys_only = || {
        Projection::builder()
            .projection_type(ProjectionType::KeysOnly)
            .build()
    };
    let index = GlobalSecondaryIndex::builder()
        .index_name(REVIEW_INDEX)
        .set_key_schema(Some(index_keys.clone()))
        .projection(keys_only())
        .build()
        .map_err(|e| build_err("CreateTable", e))?;
    let result = client
        .create_table()
        .table_name(table)
        .set_key_schema(Some(table_keys))
        .set_attribute_definitions(Some(attributes.clone()))
        .global_secondary_indexes(index)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    if let Err(err) = result {
        let exists = err
            .as_service_error()
            .is_some_and(|e| e.is_resource_in_use_exception());
        if !exists {
            return Err(backend("CreateTable", err));
        }
    }
    let mut index_requested = false;
    for _ in 0..240 {
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| backend("DescribeTable", e))?;
        let Some(t) = described.table() else {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            continue;
        };
        let active = t.table_status().is_some_and(|s| s.as_str() == "ACTIVE");
        let review = t
            .global_secondary_indexes()
            .iter()
            .find(|i| i.index_name() == Some(REVIEW_INDEX));
        match review {
            Some(i) if active && i.index_status().is_none_or(|s| s.as_str() == "ACTIVE") => {
                return Ok(());
            }
            // A table made before the review index: add it (DynamoDB backfills it from the
            // items that have its keys).
            None if active && !index_requested => {
                let create = CreateGlobalSecondaryIndexAction::builder()
                    .index_name(REVIEW_INDEX)
                    .set_key_schema(Some(index_keys.clone()))
                    .projection(keys_only())
                    .build()
                    .map_err(|e| build_err("UpdateTable", e))?;
                client
                    .update_table()
                    .table_name(table)
                    .set_attribute_definitions(Some(attributes.clone()))
                    .global_secondary_index_updates(
                        GlobalSecondaryIndexUpdate::builder().create(create).build(),
                    )
                    .send()
                    .await
                    .map_err(|e| backend("UpdateTable", e))?;
                index_requested = true;
            }
            _ => {}
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    Err(StoreError::Backend {
        op: "DescribeTable",
        code: "NotActive".into(),
        message: format!("table {table} or its {REVIEW_INDEX} index did not become active"),
    })
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn get(&self, user: &str, sk: String) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", pk(user))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("GetItem", e))?;
        crate::store::count_items(usize::from(out.item.is_some()));
        Ok(out.item)
    }

    /// Every item of the user whose sort key starts with `prefix`, in key order.
    async fn query_all(&self, user: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        self.query_pages(user, prefix, None, |page, scanned| {
            crate::store::count_items(scanned);
            items.extend(page);
            Ok(())
        })
        .await?;
        Ok(items)
    }

    /// Pages through the user's items whose sort key starts with `prefix` (strongly
    /// consistent), handing each page and the number of items DynamoDB read for it to `each`.
    /// `keys_only`: only the sort keys, `KEYS_PAGE` at a time.
    async fn query_pages(
        &self,
        user: &str,
        prefix: &str,
        keys_only: Option<i32>,
        mut each: impl FnMut(Vec<Item>, usize) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", pk(user))
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start.take());
            if let Some(limit) = keys_only {
                q = q.projection_expression("sk").limit(limit);
            }
            let out = q.send().await.map_err(|e| backend("Query", e))?;
            each(
                out.items.unwrap_or_default(),
                usize::try_from(out.scanned_count).unwrap_or(0),
            )?;
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(()),
            }
        }
    }

    /// Counts one answer on a word: its right or wrong counter, atomically, and the review
    /// index's attributes with it (the score by atomic arithmetic; the index key from the
    /// first wrong answer on). `false` when the word is gone.
    async fn count_answer(
        &self,
        user: &str,
        list_id: &str,
        word_id: &str,
        correct: bool,
    ) -> Result<bool, StoreError> {
        let (counter, delta) = if correct {
            ("right_count", -MISS_WEIGHT)
        } else {
            ("wrong_count", MISS_WEIGHT + 1)
        };
        let set_key = if correct { "" } else { ", review_pk = :rpk" };
        for attempt in 1..=CONTENDED_ATTEMPTS {
            // The score is right by arithmetic when it exists, or when the word has never
            // been answered (it starts at 0); a word answered before the index existed
            // has counters but no score: the condition fails and it is written exactly below.
            let mut update = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", pk(user))
                .key("sk", s(word_sk(list_id, word_id)))
                .update_expression(format!(
                    "ADD #c :one SET review_score = if_not_exists(review_score, :zero) + :d{set_key}"
                ))
                .condition_expression(
                    "attribute_exists(pk) AND (attribute_exists(review_score) \
                     OR (wrong_count = :zero AND right_count = :zero))",
                )
                .expression_attribute_names("#c", counter)
                .expression_attribute_values(":one", num(1))
                .expression_attribute_values(":zero", num(0))
                .expression_attribute_values(":d", num(delta));
            if !correct {
                update = update.expression_attribute_values(":rpk", s(review_pk(user, list_id)));
            }
            match update.send().await {
                Ok(_) => return Ok(true),
                Err(e) if is_condition_failed(&e) => {}
                Err(e) => return Err(backend("UpdateItem", e)),
            }
            let Some(item) = self.get(user, word_sk(list_id, word_id)).await? else {
                return Ok(false);
            };
            if !item.contains_key(REVIEW_SCORE)
                && self
                    .score_legacy(user, list_id, word_id, &item, correct)
                    .await?
            {
                return Ok(true);
            }
            // Lost to a concurrent answer: again, after a jittered wait.
            backoff(attempt).await;
        }
        Err(StoreError::Contention("count answer"))
    }

    /// [`Self::count_answer`] for a word answered before the review index existed: the
    /// counter and the exact score from the counters read, conditional on them being
    /// unchanged. `false` when they changed meanwhile.
    async fn score_legacy(
        &self,
        user: &str,
        list_id: &str,
        word_id: &str,
        item: &Item,
        correct: bool,
    ) -> Result<bool, StoreError> {
        let (wrong, right) = (
            get_n_or_zero(item, "wrong_count")?,
            get_n_or_zero(item, "right_count")?,
        );
        let (new_wrong, new_right) = if correct {
            (wrong, right + 1)
        } else {
            (wrong + 1, right)
        };
        let unchanged = |name: &str, value: &str| {
            if item.contains_key(name) {
                format!("{name} = {value}")
            } else {
                format!("attribute_not_exists({name})")
            }
        };
        let mut sets = "review_score = :score".to_owned();
        if new_wrong > 0 {
            sets.push_str(", review_pk = :rpk");
        }
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", pk(user))
            .key("sk", s(word_sk(list_id, word_id)))
            .update_expression(format!("ADD #c :one SET {sets}"))
            .condition_expression(format!(
                "attribute_exists(pk) AND attribute_not_exists(review_score) AND {} AND {}",
                unchanged("wrong_count", ":w"),
                unchanged("right_count", ":r"),
            ))
            .expression_attribute_names(
                "#c",
                if correct {
                    "right_count"
                } else {
                    "wrong_count"
                },
            )
            .expression_attribute_values(":one", num(1))
            .expression_attribute_values(":score", num(review_score(new_wrong, new_right)));
        if item.contains_key("wrong_count") {
            update = update.expression_attribute_values(":w", num(wrong));
        }
        if item.contains_key("right_count") {
            update = update.expression_attribute_values(":r", num(right));
        }
        if new_wrong > 0 {
            update = update.expression_attribute_values(":rpk", s(review_pk(user, list_id)));
        }
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(backend("UpdateItem", e)),
        }
    }

    /// Items by key (BatchGetItem, 100 keys a call, strongly consistent), sending the
    /// unprocessed keys again with jittered backoff (what DynamoDB asks of a caller).
    async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_MAX) {
            let mut pending = KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .consistent_read(true)
                .build()
                .map_err(|e| build_err("BatchGetItem", e))?;
            let mut attempt = 0;
            loop {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| backend("BatchGetItem", e))?;
                let items = out
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default();
                crate::store::count_items(items.len());
                found.extend(items);
                match out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                    Some(rest) if !rest.keys().is_empty() => {
                        attempt += 1;
                        if attempt >= CONTENDED_ATTEMPTS {
                            return Err(StoreError::Throttled("BatchGetItem"));
                        }
                        backoff(attempt).await;
                        pending = rest;
                    }
                    _ => break,
                }
            }
        }
        Ok(found)
    }

    /// Deletes words a failed bulk add had already stored (uncounting them, as a word delete
    /// does). Best effort: a word that can't be taken back is logged.
    async fn take_back(&self, user: &str, list_id: &str, words: &[&Word]) {
        for w in words {
            let mut result = self.delete_word(user, list_id, &w.id).await;
            for attempt in 1..4 {
                if result.is_ok() {
                    break;
                }
                backoff(attempt).await;
                result = self.delete_word(user, list_id, &w.id).await;
            }
            if let Err(e) = result {
                tracing::event!(
                    target: "vocab_api::store",
                    tracing::Level::ERROR,
                    { log_schema::field::ERROR_TYPE } = "store_rollback",
                    { log_schema::field::ERROR_MESSAGE } = e.to_string().as_str(),
                    "could not take back word {} of a failed bulk add to list {list_id}",
                    w.id
                );
            }
        }
    }

    /// The rest of a list delete once its tombstone is set: its words, then the list item.
    async fn finish_delete(&self, user: &str, list_id: &str) -> Result<(), StoreError> {
        let words = self.query_all(user, &word_prefix(list_id)).await?;
        let keys = words
            .into_iter()
            .filter_map(|mut i| {
                Some(HashMap::from([
                    ("pk".to_owned(), i.remove("pk")?),
                    ("sk".to_owned(), i.remove("sk")?),
                ]))
            })
            .collect();
        self.batch_delete(keys).await?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", pk(user))
            .key("sk", s(list_sk(list_id)))
            .send()
            .await
            .map_err(|e| backend("DeleteItem", e))?;
        Ok(())
    }

    /// Loads words into an existing list in bulk: `BatchWriteItem` (25 puts a call) and
    /// one `ADD` of their number to the list's counter. Not a transaction, so not for a list
    /// in use (the API's adds go through [`Store::add_words`]); for seeding data and the
    /// 5,000-word bench, where a transaction per 99 words is slow on an emulator.
    pub async fn import_words(
        &self,
        user: &str,
        list_id: &str,
        words: &[Word],
    ) -> Result<(), StoreError> {
        for chunk in words.chunks(BATCH_MAX) {
            let mut requests: Vec<WriteRequest> = Vec::with_capacity(chunk.len());
            for w in chunk {
                let item = stored_word(user, w);
                let put = aws_sdk_dynamodb::types::PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(|e| build_err("BatchWriteItem", e))?;
                requests.push(WriteRequest::builder().put_request(put).build());
            }
            self.batch_write(requests).await?;
        }
        let n = i64::try_from(words.len()).unwrap_or(i64::MAX);
        let learned = words.iter().filter(|w| w.learned).count();
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", pk(user))
            .key("sk", s(list_sk(list_id)))
            .update_expression("ADD word_count :n, learned_count :l")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":n", num(n))
            .expression_attribute_values(":l", num(i64::try_from(learned).unwrap_or(i64::MAX)))
            .send()
            .await
            .map_err(|e| backend("UpdateItem", e))?;
        Ok(())
    }

    async fn batch_delete(&self, keys: Vec<Item>) -> Result<(), StoreError> {
        for chunk in keys.chunks(BATCH_MAX) {
            let mut requests: Vec<WriteRequest> = Vec::with_capacity(chunk.len());
            for key in chunk {
                let delete = DeleteRequest::builder()
                    .set_key(Some(key.clone()))
                    .build()
                    .map_err(|e| build_err("BatchWriteItem", e))?;
                requests.push(WriteRequest::builder().delete_request(delete).build());
            }
            self.batch_write(requests).await?;
        }
        Ok(())
    }

    /// One `BatchWriteItem` of at most 25 requests, sending the unprocessed ones again with
    /// backoff (what DynamoDB asks of a caller).
    async fn batch_write(&self, mut requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        let mut attempt = 0u32;
        while !requests.is_empty() {
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await
                .map_err(|e| backend("BatchWriteItem", e))?;
            requests = out
                .unprocessed_items
                .and_then(|mut m| m.remove(&self.table))
                .unwrap_or_default();
            attempt += 1;
            if attempt > 8 {
                return Err(StoreError::Contention("BatchWriteItem"));
            }
            if !requests.is_empty() {
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt.min(5))).await;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn create_list(&self, user: &str, list: &WordList) -> Result<(), StoreError> {
        let mut item = list_item(list);
        item.insert("pk".into(), pk(user));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| backend("PutItem", e))?;
        Ok(())
    }

    async fn get_list(&self, user: &str, list_id: &str) -> Result<Option<WordList>, StoreError> {
        self.get(user, list_sk(list_id))
            .await?
            .filter(|i| !i.contains_key("deleting"))
            .map(|i| list_from(&i))
            .transpose()
    }

    async fn lists(
        &self,
        user: &str,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Page<WordList>, StoreError> {
        let start = after.map(|id| {
            HashMap::from([
                ("pk".to_owned(), pk(user)),
                ("sk".to_owned(), s(list_sk(id))),
            ])
        });
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", pk(user))
            .expression_attribute_values(":prefix", s("LIST#"))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| backend("Query", e))?;
        crate::store::count_items(usize::try_from(out.scanned_count).unwrap_or(0));
        let items = out
            .items
            .unwrap_or_default()
            .iter()
            .filter(|i| !i.contains_key("deleting"))
            .map(list_from)
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = match out.last_evaluated_key {
            Some(k) if !k.is_empty() => items.last().map(|l| l.id.clone()),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }

    async fn update_list(
        &self,
        user: &str,
        list_id: &str,
        patch: &ListPatch,
    ) -> Result<Option<WordList>, StoreError> {
        let mut sets = vec!["updated_at = :now"];
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", pk(user))
            .key("sk", s(list_sk(list_id)))
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(deleting)")
            .expression_attribute_values(":now", s(crate::model::now()));
        if let Some(name) = &patch.name {
            sets.push("#name = :name");
            update = update
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":name", s(name));
        }
        if let Some(favorite) = patch.favorite {
            sets.push("favorite = :fav");
            update = update.expression_attribute_values(":fav", AttributeValue::Bool(favorite));
        }
        let out = update
            .update_expression(format!("SET {}", sets.join(", ")))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(out) => out.attributes.as_ref().map(list_from).transpose(),
            Err(e) if is_condition_failed(&e) => Ok(None),
            Err(e) => Err(backend("UpdateItem", e)),
        }
    }

    async fn delete_list(&self, user: &str, list_id: &str) -> Result<bool, StoreError> {
        // First a tombstone on the list item: every add of words is a transaction whose
        // condition is that the list exists without one, so from here on no word can be
        // added; the words already there are then all seen by the (consistent) query.
        let marked = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", pk(user))
            .key("sk", s(list_sk(list_id)))
            .update_expression("SET deleting = if_not_exists(deleting, :now)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", s(crate::model::now()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedOld)
            .send()
            .await;
        match marked {
            // Already being deleted by another request: that one answers 204, this one 404.
            Ok(out)
                if out
                    .attributes
                    .as_ref()
                    .is_some_and(|a| a.contains_key("deleting")) =>
            {
                self.finish_delete(user, list_id).await?;
                Ok(false)
            }
            Ok(_) => {
                self.finish_delete(user, list_id).await?;
                Ok(true)
            }
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(backend("UpdateItem", e)),
        }
    }

    async fn add_words(
        &self,
        user: &str,
        list_id: &str,
        words: &[Word],
        max_words: i64,
    ) -> Result<AddWords, StoreError> {
        let Some(list) = self.get_list(user, list_id).await? else {
            return Ok(AddWords::NoSuchList);
        };
        let total = i64::try_from(words.len()).unwrap_or(i64::MAX);
        if list.word_count.saturating_add(total) > max_words {
            return Ok(AddWords::Full {
                current: list.word_count,
            });
        }
        // Each transaction: the list's counter (conditional on the list existing, not being
        // deleted, and staying within its size) plus up to 99 new words, all or nothing.
        // DynamoDB allows 100 items per transaction, so a larger add is several; if one of
        // them fails, the ones before it are taken back, so the add is all or nothing.
        let mut added: Vec<&Word> = Vec::new();
        for chunk in words.chunks(TRANSACTION_MAX - 1) {
            let n = i64::try_from(chunk.len()).unwrap_or(i64::MAX);
            let mut attempt = 0;
            let failure = loop {
                attempt += 1;
                let counter = Update::builder()
                    .table_name(&self.table)
                    .key("pk", pk(user))
                    .key("sk", s(list_sk(list_id)))
                    .update_expression("ADD word_count :n SET updated_at = :now")
                    .condition_expression(
                        "attribute_exists(pk) AND attribute_not_exists(deleting) AND word_count <= :room",
                    )
                    .expression_attribute_values(":n", num(n))
                    .expression_attribute_values(":room", num(max_words - n))
                    .expression_attribute_values(":now", s(crate::model::now()))
                    .build()
                    .map_err(|e| build_err("TransactWriteItems", e))?;
                let mut items = vec![TransactWriteItem::builder().update(counter).build()];
                for word in chunk {
                    let item = stored_word(user, word);
                    let put = Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .map_err(|e| build_err("TransactWriteItems", e))?;
                    items.push(TransactWriteItem::builder().put(put).build());
                }
                let out = self
                    .client
                    .transact_write_items()
                    .set_transact_items(Some(items))
                    .send()
                    .await;
                match out {
                    Ok(_) => break None,
                    Err(e) => match cancelled(&e) {
                        Some(Cancelled::Conflict) if attempt < CONTENDED_ATTEMPTS => {
                            backoff(attempt).await;
                        }
                        Some(Cancelled::Conflict) => {
                            break Some(Err(StoreError::Contention("add words")));
                        }
                        Some(Cancelled::Throttled) => {
                            break Some(Err(StoreError::Throttled("TransactWriteItems")));
                        }
                        Some(Cancelled::Condition(failed)) if failed.contains(&0) => {
                            // The list's own condition: gone (or being deleted), or full.
                            break Some(Ok(match self.get_list(user, list_id).await? {
                                None => AddWords::NoSuchList,
                                Some(l) => AddWords::Full {
                                    current: l.word_count,
                                },
                            }));
                        }
                        _ => break Some(Err(backend("TransactWriteItems", e))),
                    },
                }
            };
            match failure {
                None => added.extend(chunk),
                Some(outcome) => {
                    self.take_back(user, list_id, &added).await;
                    return outcome;
                }
            }
        }
        Ok(AddWords::Added)
    }

    async fn words(&self, user: &str, list_id: &str) -> Result<Vec<Word>, StoreError> {
        self.query_all(user, &word_prefix(list_id))
            .await?
            .iter()
            .map(word_from)
            .collect()
    }

    async fn word_ids(&self, user: &str, list_id: &str) -> Result<Vec<String>, StoreError> {
        // Keys only: DynamoDB sends back (and we parse) just the sort keys. It still bills
        // the read by the items' full size (a projection doesn't change that), so this is
        // cheaper in bytes and time, not in read capacity.
        let prefix = word_prefix(list_id);
        let mut ids = Vec::new();
        self.query_pages(user, &prefix, Some(KEYS_PAGE), |page, scanned| {
            crate::store::count_keys(scanned);
            for item in page {
                let sk = get_s(&item, "sk")?;
                match sk.strip_prefix(&prefix) {
                    Some(id) => ids.push(id.to_owned()),
                    None => return Err(StoreError::Corrupt(format!("word key {sk}"))),
                }
            }
            Ok(())
        })
        .await?;
        Ok(ids)
    }

    async fn words_by_id(
        &self,
        user: &str,
        list_id: &str,
        ids: &[String],
    ) -> Result<Vec<Word>, StoreError> {
        // BatchGetItem refuses a request naming one key twice.
        let mut seen = std::collections::HashSet::new();
        let keys: Vec<Item> = ids
            .iter()
            .filter(|id| seen.insert(id.as_str()))
            .map(|id| word_key(user, list_id, id))
            .collect();
        self.batch_get(keys).await?.iter().map(word_from).collect()
    }

    async fn review(&self, user: &str, list_id: &str, limit: u32) -> Result<Vec<Word>, StoreError> {
        // The first `limit` keys of the sparse review index (most missed first), then those
        // words, read strongly consistent. A GSI is eventually consistent: a word answered
        // wrong for the first time a moment ago can be missing, one deleted a moment ago is
        // skipped (not found), and the counters shown are always the current ones.
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(REVIEW_INDEX)
            .key_condition_expression("review_pk = :rpk")
            .expression_attribute_values(":rpk", s(review_pk(user, list_id)))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| backend("Query", e))?;
        crate::store::count_keys(usize::try_from(out.scanned_count).unwrap_or(0));
        let keys: Vec<Item> = out
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|mut i| {
                Some(HashMap::from([
                    ("pk".to_owned(), i.remove("pk")?),
                    ("sk".to_owned(), i.remove("sk")?),
                ]))
            })
            .collect();
        let mut words = self
            .batch_get(keys)
            .await?
            .iter()
            .map(word_from)
            .collect::<Result<Vec<_>, _>>()?;
        words.retain(|w| w.wrong_count > 0);
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
        // Query pages of the list's words from the cursor on (`Limit` bounds what each page
        // reads), the flags and counters filtered by DynamoDB, the search here; one matching
        // word past `limit` tells whether there is a next page.
        let want = usize::try_from(limit).unwrap_or(usize::MAX);
        // Unfiltered, every word read is shown: read the page and one more, no further.
        let unfiltered = filter.learned.is_none()
            && filter.min_wrong.is_none()
            && filter.in_notebook.is_none()
            && filter.search.is_none();
        let page_limit = if unfiltered {
            i32::try_from(limit.saturating_add(1))
                .unwrap_or(QUERY_PAGE)
                .min(QUERY_PAGE)
        } else {
            QUERY_PAGE
        };
        let mut items: Vec<Word> = Vec::new();
        let mut start = after.map(|id| word_key(user, list_id, id));
        let mut more = false;
        'pages: loop {
            let mut conds: Vec<&str> = Vec::new();
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", pk(user))
                .expression_attribute_values(":prefix", s(word_prefix(list_id)))
                .limit(page_limit)
                .consistent_read(true)
                .set_exclusive_start_key(start.take());
            if let Some(l) = filter.learned {
                conds.push("learned = :learned");
                query = query.expression_attribute_values(":learned", AttributeValue::Bool(l));
            }
            if let Some(m) = filter.min_wrong {
                conds.push("wrong_count >= :min_wrong");
                query = query.expression_attribute_values(":min_wrong", num(m));
            }
            if let Some(nb) = filter.in_notebook {
                conds.push(notebook_cond(nb).0);
                query = query.expression_attribute_values(":was_nb", AttributeValue::Bool(nb));
            }
            if !conds.is_empty() {
                query = query.filter_expression(conds.join(" AND "));
            }
            let out = query.send().await.map_err(|e| backend("Query", e))?;
            crate::store::count_items(usize::try_from(out.scanned_count).unwrap_or(0));
            for item in out.items.unwrap_or_default() {
                let word = word_from(&item)?;
                if !filter.matches(&word, crate::quiz::normalize) {
                    continue;
                }
                if items.len() == want {
                    more = true;
                    break 'pages;
                }
                items.push(word);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        let next_cursor = if more {
            items.last().map(|w| w.id.clone())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    async fn set_in_notebook(
        &self,
        user: &str,
        list_id: &str,
        word_id: &str,
        in_notebook: bool,
    ) -> Result<Option<Word>, StoreError> {
        for attempt in 1..=CONTENDED_ATTEMPTS {
            let Some(item) = self.get(user, word_sk(list_id, word_id)).await? else {
                return Ok(None);
            };
            let mut word = word_from(&item)?;
            if word.in_notebook == in_notebook {
                return Ok(Some(word));
            }
            word.in_notebook = in_notebook;
            // The flag flips only from the value read, so the list's counter moves once.
            let (cond, was) = notebook_cond(!in_notebook);
            let update = Update::builder()
                .table_name(&self.table)
                .key("pk", pk(user))
                .key("sk", s(word_sk(list_id, word_id)))
                .update_expression("SET in_notebook = :nb")
                .condition_expression(format!("attribute_exists(pk) AND {cond}"))
                .expression_attribute_values(":nb", AttributeValue::Bool(in_notebook))
                .expression_attribute_values(":was_nb", AttributeValue::Bool(was))
                .build()
                .map_err(|e| build_err("TransactWriteItems", e))?;
            let counter = Update::builder()
                .table_name(&self.table)
                .key("pk", pk(user))
                .key("sk", s(list_sk(list_id)))
                .update_expression("ADD notebook_count :d")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":d", num(if in_notebook { 1 } else { -1 }))
                .build()
                .map_err(|e| build_err("TransactWriteItems", e))?;
            match self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(update).build())
                .transact_items(TransactWriteItem::builder().update(counter).build())
                .send()
                .await
            {
                Ok(_) => return Ok(Some(word)),
                Err(e) => match cancelled(&e) {
                    // Lost to a concurrent change (our condition on the value we read, or a
                    // transaction conflict): read again after a jittered wait.
                    Some(Cancelled::Condition(_) | Cancelled::Conflict) => backoff(attempt).await,
                    Some(Cancelled::Throttled) => {
                        return Err(StoreError::Throttled("TransactWriteItems"));
                    }
                    _ => return Err(backend("TransactWriteItems", e)),
                },
            }
        }
        Err(StoreError::Contention("notebook"))
    }

    async fn notebooks(&self, user: &str) -> Result<Vec<NotebookSummary>, StoreError> {
        let mut found = Vec::new();
        for item in self.query_all(user, "LIST#").await? {
            if item.contains_key("deleting") {
                continue;
            }
            let list = list_from(&item)?;
            if list.notebook_count > 0 {
                found.push(NotebookSummary {
                    count: list.notebook_count,
                    list,
                });
            }
        }
        Ok(found)
    }

    async fn update_word(
        &self,
        user: &str,
        list_id: &str,
        word_id: &str,
        patch: &WordPatch,
    ) -> Result<Option<Word>, StoreError> {
        for attempt in 1..=CONTENDED_ATTEMPTS {
            let Some(item) = self.get(user, word_sk(list_id, word_id)).await? else {
                return Ok(None);
            };
            let mut word = word_from(&item)?;
            let was_learned = word.learned;
            patch.apply_to(&mut word);
            word.updated_at = crate::model::now();
            // Conditional on the learned flag we read: the list's learned counter moves with
            // the flag, exactly once per change.
            let update = Update::builder()
                .table_name(&self.table)
                .key("pk", pk(user))
                .key("sk", s(word_sk(list_id, word_id)))
                .update_expression(
                    "SET word = :word, meaning = :meaning, memo = :memo, learned = :learned, \
                     updated_at = :now",
                )
                .condition_expression("attribute_exists(pk) AND learned = :was")
                .expression_attribute_values(":word", s(&word.word))
                .expression_attribute_values(":meaning", s(&word.meaning))
                .expression_attribute_values(":memo", s(&word.memo))
                .expression_attribute_values(":learned", AttributeValue::Bool(word.learned))
                .expression_attribute_values(":was", AttributeValue::Bool(was_learned))
                .expression_attribute_values(":now", s(&word.updated_at))
                .build()
                .map_err(|e| build_err("TransactWriteItems", e))?;
            let mut items = vec![TransactWriteItem::builder().update(update).build()];
            if word.learned != was_learned {
                let delta = if word.learned { 1 } else { -1 };
                let counter = Update::builder()
                    .table_name(&self.table)
                    .key("pk", pk(user))
                    .key("sk", s(list_sk(list_id)))
                    .update_expression("ADD learned_count :d")
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_values(":d", num(delta))
                    .build()
                    .map_err(|e| build_err("TransactWriteItems", e))?;
                items.push(TransactWriteItem::builder().update(counter).build());
            }
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await
            {
                Ok(_) => return Ok(Some(word)),
                Err(e) => match cancelled(&e) {
                    // Lost to a concurrent change (our condition on the value we read, or a
                    // transaction conflict): read again after a jittered wait.
                    Some(Cancelled::Condition(_) | Cancelled::Conflict) => backoff(attempt).await,
                    Some(Cancelled::Throttled) => {
                        return Err(StoreError::Throttled("TransactWriteItems"));
                    }
                    _ => return Err(backend("TransactWriteItems", e)),
                },
            }
        }
        Err(StoreError::Contention("update word"))
    }

    async fn delete_word(
        &self,
        user: &str,
        list_id: &str,
        word_id: &str,
    ) -> Result<bool, StoreError> {
        for attempt in 1..=CONTENDED_ATTEMPTS {
            let Some(item) = self.get(user, word_sk(list_id, word_id)).await? else {
                return Ok(false);
            };
            let word = word_from(&item)?;
            let (learned, in_notebook) = (word.learned, word.in_notebook);
            let delete = Delete::builder()
                .table_name(&self.table)
                .key("pk", pk(user))
                .key("sk", s(word_sk(list_id, word_id)))
                .condition_expression(format!(
                    "attribute_exists(pk) AND learned = :was AND {}",
                    notebook_cond(in_notebook).0
                ))
                .expression_attribute_values(":was", AttributeValue::Bool(learned))
                .expression_attribute_values(":was_nb", AttributeValue::Bool(in_notebook))
                .build()
                .map_err(|e| build_err("TransactWriteItems", e))?;
            let counter = Update::builder()
                .table_name(&self.table)
                .key("pk", pk(user))
                .key("sk", s(list_sk(list_id)))
                .update_expression(
                    "ADD word_count :minus_one, learned_count :l, notebook_count :nb",
                )
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":minus_one", num(-1))
                .expression_attribute_values(":l", num(if learned { -1 } else { 0 }))
                .expression_attribute_values(":nb", num(if in_notebook { -1 } else { 0 }))
                .build()
                .map_err(|e| build_err("TransactWriteItems", e))?;
            match self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().delete(delete).build())
                .transact_items(TransactWriteItem::builder().update(counter).build())
                .send()
                .await
            {
                Ok(_) => return Ok(true),
                Err(e) => match cancelled(&e) {
                    // Lost to a concurrent change (our condition on the value we read, or a
                    // transaction conflict): read again after a jittered wait.
                    Some(Cancelled::Condition(_) | Cancelled::Conflict) => backoff(attempt).await,
                    Some(Cancelled::Throttled) => {
                        return Err(StoreError::Throttled("TransactWriteItems"));
                    }
                    _ => return Err(backend("TransactWriteItems", e)),
                },
            }
        }
        Err(StoreError::Contention("delete word"))
    }

    async fn put_quiz(&self, user: &str, quiz: &Quiz) -> Result<(), StoreError> {
        let questions = serde_json::to_string(&quiz.questions)
            .map_err(|e| StoreError::Corrupt(format!("quiz questions: {e}")))?;
        let item = HashMap::from([
            ("pk".to_owned(), pk(user)),
            ("sk".to_owned(), s(quiz_sk(&quiz.id))),
            ("id".to_owned(), s(&quiz.id)),
            ("list_id".to_owned(), s(&quiz.list_id)),
            ("mode".to_owned(), s(enum_str(&quiz.mode)?)),
            ("direction".to_owned(), s(enum_str(&quiz.direction)?)),
            ("questions".to_owned(), s(questions)),
            ("submitted".to_owned(), AttributeValue::Bool(quiz.submitted)),
            ("created_at".to_owned(), s(&quiz.created_at)),
        ]);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| backend("PutItem", e))?;
        Ok(())
    }

    async fn get_quiz(&self, user: &str, quiz_id: &str) -> Result<Option<Quiz>, StoreError> {
        let Some(item) = self.get(user, quiz_sk(quiz_id)).await? else {
            return Ok(None);
        };
        let questions: Vec<Question> = serde_json::from_str(&get_s(&item, "questions")?)
            .map_err(|e| StoreError::Corrupt(format!("quiz questions: {e}")))?;
        Ok(Some(Quiz {
            id: get_s(&item, "id")?,
            list_id: get_s(&item, "list_id")?,
            mode: enum_from::<QuizMode>(&get_s(&item, "mode")?)?,
            direction: enum_from::<Direction>(&get_s(&item, "direction")?)?,
            questions,
            submitted: get_bool(&item, "submitted")?,
            created_at: get_s(&item, "created_at")?,
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
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", pk(user))
            .key("sk", s(quiz_sk(&quiz.id)))
            .update_expression("SET submitted = :t, submitted_at = :now")
            .condition_expression("attribute_exists(pk) AND submitted = :f")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":f", AttributeValue::Bool(false))
            .expression_attribute_values(":now", s(crate::model::now()))
            .send()
            .await;
        match flipped {
            Ok(_) => {}
            Err(e) if is_condition_failed(&e) => {
                return Ok(match self.get(user, quiz_sk(&quiz.id)).await? {
                    None => Submit::NoSuchQuiz,
                    Some(_) => Submit::AlreadySubmitted,
                });
            }
            Err(e) => return Err(backend("UpdateItem", e)),
        }
        let (mut right, mut wrong) = (0i64, 0i64);
        for (word_id, correct) in results {
            if *correct {
                right += 1;
            } else {
                wrong += 1;
            }
            // A word deleted since the quiz was made is skipped, not recreated.
            if !self
                .count_answer(user, &quiz.list_id, word_id, *correct)
                .await?
            {
                continue;
            }
            if !*correct {
                self.set_in_notebook(user, &quiz.list_id, word_id, true)
                    .await?;
            }
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", pk(user))
            .key("sk", s("PROFILE"))
            .update_expression(
                "SET created_at = if_not_exists(created_at, :now) \
                 ADD quizzes_taken :one, answers_right :r, answers_wrong :w",
            )
            .expression_attribute_values(":now", s(crate::model::now()))
            .expression_attribute_values(":one", num(1))
            .expression_attribute_values(":r", num(right))
            .expression_attribute_values(":w", num(wrong))
            .send()
            .await
            .map_err(|e| backend("UpdateItem", e))?;
        Ok(Submit::Recorded)
    }

    async fn profile(&self, user: &str) -> Result<Profile, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", pk(user))
            .key("sk", s("PROFILE"))
            .update_expression("SET created_at = if_not_exists(created_at, :now)")
            .expression_attribute_values(":now", s(crate::model::now()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| backend("UpdateItem", e))?;
        let item = out.attributes.unwrap_or_default();
        let lists = self
            .query_all(user, "LIST#")
            .await?
            .iter()
            .filter(|i| !i.contains_key("deleting"))
            .map(list_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Profile {
            user_id: user.to_owned(),
            created_at: get_s(&item, "created_at")?,
            lists: i64::try_from(lists.len()).unwrap_or(i64::MAX),
            words: lists.iter().map(|l| l.word_count).sum(),
            learned: lists.iter().map(|l| l.learned_count).sum(),
            quizzes_taken: get_n_or_zero(&item, "quizzes_taken")?,
            answers_right: get_n_or_zero(&item, "answers_right")?,
            answers_wrong: get_n_or_zero(&item, "answers_wrong")?,
        })
    }
}

fn pk(user: &str) -> AttributeValue {
    AttributeValue::S(format!("USER#{user}"))
}
fn list_sk(list_id: &str) -> String {
    format!("LIST#{list_id}")
}
fn word_prefix(list_id: &str) -> String {
    format!("WORD#{list_id}#")
}
fn word_sk(list_id: &str, word_id: &str) -> String {
    format!("WORD#{list_id}#{word_id}")
}
fn word_key(user: &str, list_id: &str, word_id: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), pk(user)),
        ("sk".to_owned(), s(word_sk(list_id, word_id))),
    ])
}
/// The condition "the word's notebook flag is `:was_nb`" (the value to bind is the `bool`
/// given); words stored before the notebook existed have no flag, which means `false`.
fn notebook_cond(was: bool) -> (&'static str, bool) {
    if was {
        ("in_notebook = :was_nb", true)
    } else {
        (
            "(attribute_not_exists(in_notebook) OR in_notebook = :was_nb)",
            false,
        )
    }
}
fn quiz_sk(quiz_id: &str) -> String {
    format!("QUIZ#{quiz_id}")
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn num(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get_s(item: &Item, k: &str) -> Result<String, StoreError> {
    match item.get(k) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        other => Err(StoreError::Corrupt(format!(
            "{k}: expected a string, got {other:?}"
        ))),
    }
}
fn get_n_or_zero(item: &Item, k: &str) -> Result<i64, StoreError> {
    match item.get(k) {
        None => Ok(0),
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("{k}: {e}"))),
        Some(other) => Err(StoreError::Corrupt(format!(
            "{k}: expected a number, got {other:?}"
        ))),
    }
}
fn get_bool(item: &Item, k: &str) -> Result<bool, StoreError> {
    match item.get(k) {
        Some(AttributeValue::Bool(v)) => Ok(*v),
        other => Err(StoreError::Corrupt(format!(
            "{k}: expected a bool, got {other:?}"
        ))),
    }
}

fn get_bool_or(item: &Item, k: &str, default: bool) -> Result<bool, StoreError> {
    match item.get(k) {
        None => Ok(default),
        Some(_) => get_bool(item, k),
    }
}

fn list_item(l: &WordList) -> Item {
    HashMap::from([
        ("sk".to_owned(), s(list_sk(&l.id))),
        ("id".to_owned(), s(&l.id)),
        ("name".to_owned(), s(&l.name)),
        ("source_lang".to_owned(), s(&l.source_lang)),
        ("target_lang".to_owned(), s(&l.target_lang)),
        ("word_count".to_owned(), num(l.word_count)),
        ("learned_count".to_owned(), num(l.learned_count)),
        ("favorite".to_owned(), AttributeValue::Bool(l.favorite)),
        ("notebook_count".to_owned(), num(l.notebook_count)),
        ("created_at".to_owned(), s(&l.created_at)),
        ("updated_at".to_owned(), s(&l.updated_at)),
    ])
}
fn list_from(i: &Item) -> Result<WordList, StoreError> {
    Ok(WordList {
        id: get_s(i, "id")?,
        name: get_s(i, "name")?,
        source_lang: get_s(i, "source_lang")?,
        target_lang: get_s(i, "target_lang")?,
        word_count: get_n_or_zero(i, "word_count")?,
        learned_count: get_n_or_zero(i, "learned_count")?,
        favorite: get_bool_or(i, "favorite", false)?,
        notebook_count: get_n_or_zero(i, "notebook_count")?,
        created_at: get_s(i, "created_at")?,
        updated_at: get_s(i, "updated_at")?,
    })
}
/// A word as stored for `user`: its item with the partition key and, once it has been
/// answered, the review index's attributes.
fn stored_word(user: &str, w: &Word) -> Item {
    let mut item = word_item(w);
    item.insert("pk".into(), pk(user));
    if w.wrong_count > 0 || w.right_count > 0 {
        item.insert(
            REVIEW_SCORE.into(),
            num(review_score(w.wrong_count, w.right_count)),
        );
    }
    if w.wrong_count > 0 {
        item.insert(REVIEW_PK.into(), s(review_pk(user, &w.list_id)));
    }
    item
}
/// The review index's partition key: the list, then the user (a list id is a UUID, so the
/// two can't run into each other).
fn review_pk(user: &str, list_id: &str) -> String {
    format!("REVIEW#{list_id}#USER#{user}")
}
/// [`REVIEW_SCORE`] of a word with these counters.
fn review_score(wrong: i64, right: i64) -> i64 {
    wrong
        .saturating_sub(right)
        .saturating_mul(MISS_WEIGHT)
        .saturating_add(wrong)
}
fn word_item(w: &Word) -> Item {
    HashMap::from([
        ("sk".to_owned(), s(word_sk(&w.list_id, &w.id))),
        ("id".to_owned(), s(&w.id)),
        ("list_id".to_owned(), s(&w.list_id)),
        ("word".to_owned(), s(&w.word)),
        ("meaning".to_owned(), s(&w.meaning)),
        ("memo".to_owned(), s(&w.memo)),
        ("learned".to_owned(), AttributeValue::Bool(w.learned)),
        (
            "in_notebook".to_owned(),
            AttributeValue::Bool(w.in_notebook),
        ),
        ("right_count".to_owned(), num(w.right_count)),
        ("wrong_count".to_owned(), num(w.wrong_count)),
        ("created_at".to_owned(), s(&w.created_at)),
        ("updated_at".to_owned(), s(&w.updated_at)),
    ])
}
fn word_from(i: &Item) -> Result<Word, StoreError> {
    Ok(Word {
        id: get_s(i, "id")?,
        list_id: get_s(i, "list_id")?,
        word: get_s(i, "word")?,
        meaning: get_s(i, "meaning")?,
        memo: match i.get("memo") {
            None => String::new(),
            Some(_) => get_s(i, "memo")?,
        },
        learned: get_bool(i, "learned")?,
        in_notebook: get_bool_or(i, "in_notebook", false)?,
        right_count: get_n_or_zero(i, "right_count")?,
        wrong_count: get_n_or_zero(i, "wrong_count")?,
        created_at: get_s(i, "created_at")?,
        updated_at: get_s(i, "updated_at")?,
    })
}

fn enum_str<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        other => Err(StoreError::Corrupt(format!("enum: {other:?}"))),
    }
}
fn enum_from<T: serde::de::DeserializeOwned>(v: &str) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(v.to_owned()))
        .map_err(|e| StoreError::Corrupt(format!("{v}: {e}")))
}

/// A failed request builder (a bug in our code, never the user's input).
fn build_err(op: &'static str, e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Backend {
        op,
        code: "BuildError".into(),
        message: e.to_string(),
    }
}

/// DynamoDB's answer as a short, stable error: throttling is [`StoreError::Throttled`];
/// anything else names the operation and the error code (the full dump, with request ids,
/// is logged at debug level only).
fn backend<E, R>(op: &'static str, e: aws_sdk_dynamodb::error::SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_dynamodb::error::SdkError;
    tracing::debug!(target: "vocab_api::store", op, error = %DisplayErrorContext(&e), "DynamoDB call failed");
    let code = match &e {
        SdkError::ServiceError(s) => s.err().code().unwrap_or("ServiceError").to_owned(),
        SdkError::TimeoutError(_) => "Timeout".to_owned(),
        SdkError::DispatchFailure(_) => "DispatchFailure".to_owned(),
        SdkError::ResponseError(_) => "ResponseError".to_owned(),
        SdkError::ConstructionFailure(_) => "ConstructionFailure".to_owned(),
        _ => "Unknown".to_owned(),
    };
    if THROTTLING.contains(&code.as_str()) {
        return StoreError::Throttled(op);
    }
    let message = e
        .as_service_error()
        .and_then(|s| s.message())
        .map(|m| m.chars().take(160).collect::<String>())
        .unwrap_or_default();
    StoreError::Backend { op, code, message }
}

/// Error codes (and cancellation reasons) that mean "over capacity, try later".
const THROTTLING: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ProvisionedThroughputExceeded",
    "ThrottlingException",
    "ThrottlingError",
    "RequestLimitExceeded",
];

/// Why a transaction was cancelled, from its `CancellationReasons` (DynamoDB API
/// Reference, TransactWriteItems: one reason per item, in request order).
#[derive(Debug, PartialEq, Eq)]
enum Cancelled {
    /// These items' conditions failed: a real answer, not a race to retry.
    Condition(Vec<usize>),
    /// Another request was changing one of the items (`TransactionConflict`): retry.
    Conflict,
    /// Over capacity.
    Throttled,
    /// Anything else (validation, item too large…).
    Other(String),
}

fn cancelled<R>(
    e: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
) -> Option<Cancelled> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    let E::TransactionCanceledException(ex) = e.as_service_error()? else {
        return None;
    };
    let codes: Vec<&str> = ex
        .cancellation_reasons()
        .iter()
        .map(|r| r.code().unwrap_or("None"))
        .collect();
    Some(classify_cancellation(&codes))
}

fn classify_cancellation(codes: &[&str]) -> Cancelled {
    let failed: Vec<usize> = codes
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == "ConditionalCheckFailed")
        .map(|(i, _)| i)
        .collect();
    if !failed.is_empty() {
        Cancelled::Condition(failed)
    } else if codes.contains(&"TransactionConflict") {
        Cancelled::Conflict
    } else if codes.iter().any(|c| THROTTLING.contains(c)) {
        Cancelled::Throttled
    } else {
        let other: Vec<&str> = codes.iter().copied().filter(|c| *c != "None").collect();
        Cancelled::Other(other.join(","))
    }
}

/// Attempts of a write that loses to concurrent writers before giving up (409).
const CONTENDED_ATTEMPTS: u32 = 8;

/// Full-jitter exponential backoff before attempt `attempt` (1-based): a random wait up to
/// 25 ms × 2^attempt, at most 800 ms (AWS Architecture Blog, "Exponential Backoff And
/// Jitter").
async fn backoff(attempt: u32) {
    let cap_ms = (25u64 << attempt.min(10)).min(800);
    tokio::time::sleep(std::time::Duration::from_millis(fastrand::u64(0..=cap_ms))).await;
}

fn is_condition_failed<E: ProvideErrorMetadata, R>(
    e: &aws_sdk_dynamodb::error::SdkError<E, R>,
) -> bool {
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}
