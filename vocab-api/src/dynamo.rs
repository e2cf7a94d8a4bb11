//! [`Store`] on DynamoDB, single-table design:
//!
//! | pk           | sk                       | item                                   |
//! |--------------|--------------------------|----------------------------------------|
//! | `USER#<sub>` | `PROFILE`                | created_at, quiz/answer counters       |
//! | `USER#<sub>` | `LIST#<list>`            | a list, its word/learned counters      |
//! | `USER#<sub>` | `WORD#<list>#<word>`     | a word, its right/wrong counters       |
//! | `USER#<sub>` | `QUIZ#<quiz>`            | a quiz (questions as JSON), submitted  |
//!
//! The partition key is the user, so every read and write is confined to the caller's data.
//! Counters change only through atomic `ADD`; state changes that move a counter (a word
//! learned, a word deleted, a quiz submitted once) are conditional writes or transactions.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, DeleteRequest, KeySchemaElement,
    KeyType, Put, ScalarAttributeType, TransactWriteItem, Update, WriteRequest,
};

use crate::config::Config;
use crate::model::{Direction, Page, Profile, Question, Quiz, QuizMode, Word, WordList, WordPatch};
use crate::store::{AddWords, Store, StoreError, Submit};

type Item = HashMap<String, AttributeValue>;

/// Most items in one DynamoDB transaction.
const TRANSACTION_MAX: usize = 100;
/// Most requests in one BatchWriteItem.
const BATCH_MAX: usize = 25;
/// Retries of an optimistic (read, then conditional write) update.
const OPTIMISTIC_RETRIES: usize = 5;

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

/// Creates the table (pk/sk strings, on-demand) unless it exists; waits until it is active.
/// The same definition is in the README for Terraform.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let built = (|| {
        Ok::<_, aws_sdk_dynamodb::error::BuildError>((
            key("pk", KeyType::Hash)?,
            key("sk", KeyType::Range)?,
            attr("pk")?,
            attr("sk")?,
        ))
    })()
    .map_err(|e| backend("CreateTable", e))?;
    let result = client
        .create_table()
        .table_name(table)
        .key_schema(built.0)
        .key_schema(built.1)
        .attribute_definitions(built.2)
        .attribute_definitions(built.3)
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
    for _ in 0..120 {
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| backend("DescribeTable", e))?;
        let active = described
            .table()
            .and_then(|t| t.table_status())
            .is_some_and(|s| s.as_str() == "ACTIVE");
        if active {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    Err(StoreError::Backend {
        op: "DescribeTable",
        message: format!("table {table} did not become active"),
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
        Ok(out.item)
    }

    /// Every item of the user whose sort key starts with `prefix`, in key order.
    async fn query_all(&self, user: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", pk(user))
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| backend("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    async fn batch_delete(&self, keys: Vec<Item>) -> Result<(), StoreError> {
        for chunk in keys.chunks(BATCH_MAX) {
            let mut requests: Vec<WriteRequest> = Vec::with_capacity(chunk.len());
            for key in chunk {
                let delete = DeleteRequest::builder()
                    .set_key(Some(key.clone()))
                    .build()
                    .map_err(|e| backend("BatchWriteItem", e))?;
                requests.push(WriteRequest::builder().delete_request(delete).build());
            }
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
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt.min(5)))
                        .await;
                }
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
        let items = out
            .items
            .unwrap_or_default()
            .iter()
            .map(list_from)
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = match out.last_evaluated_key {
            Some(k) if !k.is_empty() => items.last().map(|l| l.id.clone()),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }

    async fn rename_list(
        &self,
        user: &str,
        list_id: &str,
        name: &str,
    ) -> Result<Option<WordList>, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", pk(user))
            .key("sk", s(list_sk(list_id)))
            .update_expression("SET #name = :name, updated_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", s(name))
            .expression_attribute_values(":now", s(crate::model::now()))
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
        if self.get(user, list_sk(list_id)).await?.is_none() {
            return Ok(false);
        }
        // Words first: a list that is still visible may lose words, but no word outlives it.
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
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", pk(user))
            .key("sk", s(list_sk(list_id)))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(backend("DeleteItem", e)),
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
        // Each transaction: the list's counter (conditional on the list existing and staying
        // within its size) plus up to 99 new words, all or nothing.
        for chunk in words.chunks(TRANSACTION_MAX - 1) {
            let n = i64::try_from(chunk.len()).unwrap_or(i64::MAX);
            let counter = Update::builder()
                .table_name(&self.table)
                .key("pk", pk(user))
                .key("sk", s(list_sk(list_id)))
                .update_expression("ADD word_count :n SET updated_at = :now")
                .condition_expression("attribute_exists(pk) AND word_count <= :room")
                .expression_attribute_values(":n", num(n))
                .expression_attribute_values(":room", num(max_words - n))
                .expression_attribute_values(":now", s(crate::model::now()))
                .build()
                .map_err(|e| backend("TransactWriteItems", e))?;
            let mut items = vec![TransactWriteItem::builder().update(counter).build()];
            for word in chunk {
                let mut item = word_item(word);
                item.insert("pk".into(), pk(user));
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(|e| backend("TransactWriteItems", e))?;
                items.push(TransactWriteItem::builder().put(put).build());
            }
            let out = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            match out {
                Ok(_) => {}
                Err(e) if is_transaction_canceled(&e) => {
                    return Ok(match self.get_list(user, list_id).await? {
                        None => AddWords::NoSuchList,
                        Some(l) => AddWords::Full {
                            current: l.word_count,
                        },
                    });
                }
                Err(e) => return Err(backend("TransactWriteItems", e)),
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

    async fn update_word(
        &self,
        user: &str,
        list_id: &str,
        word_id: &str,
        patch: &WordPatch,
    ) -> Result<Option<Word>, StoreError> {
        for _ in 0..OPTIMISTIC_RETRIES {
            let Some(item) = self.get(user, word_sk(list_id, word_id)).await? else {
                return Ok(None);
            };
            let mut word = word_from(&item)?;
            let was_learned = word.learned;
            if let Some(w) = &patch.word {
                word.word.clone_from(w);
            }
            if let Some(m) = &patch.meaning {
                word.meaning.clone_from(m);
            }
            if let Some(l) = patch.learned {
                word.learned = l;
            }
            word.updated_at = crate::model::now();
            // Conditional on the learned flag we read: the list's learned counter moves with
            // the flag, exactly once per change.
            let update = Update::builder()
                .table_name(&self.table)
                .key("pk", pk(user))
                .key("sk", s(word_sk(list_id, word_id)))
                .update_expression(
                    "SET word = :word, meaning = :meaning, learned = :learned, updated_at = :now",
                )
                .condition_expression("attribute_exists(pk) AND learned = :was")
                .expression_attribute_values(":word", s(&word.word))
                .expression_attribute_values(":meaning", s(&word.meaning))
                .expression_attribute_values(":learned", AttributeValue::Bool(word.learned))
                .expression_attribute_values(":was", AttributeValue::Bool(was_learned))
                .expression_attribute_values(":now", s(&word.updated_at))
                .build()
                .map_err(|e| backend("TransactWriteItems", e))?;
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
                    .map_err(|e| backend("TransactWriteItems", e))?;
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
                Err(e) if is_transaction_canceled(&e) => continue,
                Err(e) => return Err(backend("TransactWriteItems", e)),
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
        for _ in 0..OPTIMISTIC_RETRIES {
            let Some(item) = self.get(user, word_sk(list_id, word_id)).await? else {
                return Ok(false);
            };
            let learned = word_from(&item)?.learned;
            let delete = Delete::builder()
                .table_name(&self.table)
                .key("pk", pk(user))
                .key("sk", s(word_sk(list_id, word_id)))
                .condition_expression("attribute_exists(pk) AND learned = :was")
                .expression_attribute_values(":was", AttributeValue::Bool(learned))
                .build()
                .map_err(|e| backend("TransactWriteItems", e))?;
            let counter = Update::builder()
                .table_name(&self.table)
                .key("pk", pk(user))
                .key("sk", s(list_sk(list_id)))
                .update_expression("ADD word_count :minus_one, learned_count :l")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":minus_one", num(-1))
                .expression_attribute_values(":l", num(if learned { -1 } else { 0 }))
                .build()
                .map_err(|e| backend("TransactWriteItems", e))?;
            match self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().delete(delete).build())
                .transact_items(TransactWriteItem::builder().update(counter).build())
                .send()
                .await
            {
                Ok(_) => return Ok(true),
                Err(e) if is_transaction_canceled(&e) => continue,
                Err(e) => return Err(backend("TransactWriteItems", e)),
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
            let counter = if *correct {
                right += 1;
                "right_count"
            } else {
                wrong += 1;
                "wrong_count"
            };
            // Atomic ADD; a word deleted since the quiz was made is skipped, not recreated.
            let out = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", pk(user))
                .key("sk", s(word_sk(&quiz.list_id, word_id)))
                .update_expression("ADD #c :one")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_names("#c", counter)
                .expression_attribute_values(":one", num(1))
                .send()
                .await;
            match out {
                Ok(_) => {}
                Err(e) if is_condition_failed(&e) => {}
                Err(e) => return Err(backend("UpdateItem", e)),
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

fn list_item(l: &WordList) -> Item {
    HashMap::from([
        ("sk".to_owned(), s(list_sk(&l.id))),
        ("id".to_owned(), s(&l.id)),
        ("name".to_owned(), s(&l.name)),
        ("source_lang".to_owned(), s(&l.source_lang)),
        ("target_lang".to_owned(), s(&l.target_lang)),
        ("word_count".to_owned(), num(l.word_count)),
        ("learned_count".to_owned(), num(l.learned_count)),
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
        created_at: get_s(i, "created_at")?,
        updated_at: get_s(i, "updated_at")?,
    })
}
fn word_item(w: &Word) -> Item {
    HashMap::from([
        ("sk".to_owned(), s(word_sk(&w.list_id, &w.id))),
        ("id".to_owned(), s(&w.id)),
        ("list_id".to_owned(), s(&w.list_id)),
        ("word".to_owned(), s(&w.word)),
        ("meaning".to_owned(), s(&w.meaning)),
        ("learned".to_owned(), AttributeValue::Bool(w.learned)),
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
        learned: get_bool(i, "learned")?,
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

fn backend(op: &'static str, e: impl std::error::Error) -> StoreError {
    StoreError::Backend {
        op,
        message: DisplayErrorContext(&e).to_string(),
    }
}

fn is_condition_failed<E: ProvideErrorMetadata, R>(
    e: &aws_sdk_dynamodb::error::SdkError<E, R>,
) -> bool {
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

fn is_transaction_canceled<E: ProvideErrorMetadata, R>(
    e: &aws_sdk_dynamodb::error::SdkError<E, R>,
) -> bool {
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| c == "TransactionCanceledException")
}
