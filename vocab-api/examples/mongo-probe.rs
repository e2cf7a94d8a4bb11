//! Probes a MongoDB wire-protocol server with the official Rust driver, step by step, for
//! every kind of call the MongoDB store makes (handshake, indexes, the queries, the
//! conditional updates, transactions and their rollback and write conflicts), and prints one
//! line per step: `ok` or `FAIL` with what went wrong. Used to judge whether an emulator can
//! stand in for `mongod` in the tests (vocab-api/README.md, "MongoDB"); a real replica set
//! passes every step.
//!
//! `cargo run -p vocab-api --example mongo-probe -- mongodb://127.0.0.1:27017/?directConnection=true`

use std::time::Duration;

use mongodb::bson::{Document, doc};
use mongodb::error::TRANSIENT_TRANSACTION_ERROR;
use mongodb::options::{
    Acknowledgment, ClientOptions, IndexOptions, ReadConcern, ReturnDocument, WriteConcern,
};
use mongodb::{Client, Collection, IndexModel};

struct Probe {
    failed: u32,
}

impl Probe {
    fn report<T: std::fmt::Debug>(&mut self, step: &str, outcome: Result<T, String>) -> Option<T> {
        match outcome {
            Ok(v) => {
                println!("ok    {step}: {v:?}");
                Some(v)
            }
            Err(e) => {
                self.failed += 1;
                println!("FAIL  {step}: {e}");
                None
            }
        }
    }

    fn check(&mut self, step: &str, ok: bool, detail: String) {
        self.report(step, if ok { Ok(detail) } else { Err(detail) });
    }
}

fn err(e: mongodb::error::Error) -> String {
    let labels: Vec<_> = e.labels().iter().cloned().collect();
    let text = e.to_string();
    let short: String = text.chars().take(300).collect();
    if labels.is_empty() {
        short
    } else {
        format!("{short} (labels {labels:?})")
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Some(uri) = std::env::args().nth(1) else {
        eprintln!("usage: mongo-probe MONGODB_URI");
        std::process::exit(2);
    };
    let mut p = Probe { failed: 0 };
    let mut options = match ClientOptions::parse(&uri).await {
        Ok(o) => o,
        Err(e) => {
            println!("FAIL  parse the connection string: {}", err(e));
            std::process::exit(1);
        }
    };
    options.server_selection_timeout = Some(Duration::from_secs(5));
    let client = match Client::with_options(options) {
        Ok(c) => c,
        Err(e) => {
            println!("FAIL  client: {}", err(e));
            std::process::exit(1);
        }
    };
    let db = client.database(&format!("probe{}", std::process::id()));

    // The handshake (the driver's own `hello` on connect), then ours.
    let hello = p.report(
        "handshake + hello",
        db.run_command(doc! { "hello": 1 }).await.map_err(err),
    );
    if let Some(h) = &hello {
        p.check(
            "hello names a replica set (setName) or mongos (msg: isdbgrid): transactions possible",
            h.get_str("setName").is_ok() || h.get_str("msg").is_ok_and(|m| m == "isdbgrid"),
            format!("setName {:?}", h.get_str("setName").ok()),
        );
    }
    p.report(
        "buildInfo",
        client
            .database("admin")
            .run_command(doc! { "buildInfo": 1 })
            .await
            .map(|d| d.get_str("version").map(str::to_owned).unwrap_or_default())
            .map_err(err),
    );

    let lists: Collection<Document> = db.collection("lists");
    let words: Collection<Document> = db.collection("words");
    let index = |keys: Document, name: &str| {
        IndexModel::builder()
            .keys(keys)
            .options(IndexOptions::builder().name(name.to_owned()).build())
            .build()
    };
    // The store's index on a collection of its own, so a server that then refuses writes to
    // it doesn't hide how it does on the rest.
    let indexed: Collection<Document> = db.collection("indexed");
    for round in ["createIndexes", "createIndexes again (idempotent)"] {
        p.report(
            round,
            indexed
                .create_index(index(
                    doc! { "user": 1, "list_id": 1, "_id": 1 },
                    "user_list_id",
                ))
                .await
                .map(|r| r.index_name)
                .map_err(err),
        );
    }
    p.report(
        "insert into the collection with that index (user, list_id, _id)",
        indexed
            .insert_one(doc! { "_id": "w1", "user": "alice", "list_id": "L1" })
            .await
            .map(|r| r.inserted_id)
            .map_err(err),
    );
    p.report(
        "create collection",
        db.create_collection("profiles").await.map_err(err),
    );
    let again = db.create_collection("profiles").await;
    p.check(
        "create it again: NamespaceExists (48)",
        matches!(&again, Err(e) if matches!(e.kind.as_ref(), mongodb::error::ErrorKind::Command(c) if c.code == 48)),
        format!("{again:?}").chars().take(200).collect(),
    );

    p.report(
        "insert_one",
        lists
            .insert_one(
                doc! { "_id": "L1", "user": "alice", "word_count": 0i64, "learned_count": 0i64 },
            )
            .await
            .map(|r| r.inserted_id)
            .map_err(err),
    );
    let many: Vec<Document> = (0..450)
        .map(|i| doc! { "_id": format!("w{i:04}"), "user": "alice", "list_id": "L1", "learned": i % 3 == 0, "wrong_count": i64::from(i % 5) })
        .collect();
    p.report(
        "insert_many (450)",
        words
            .insert_many(many)
            .await
            .map(|r| r.inserted_ids.len())
            .map_err(err),
    );
    // A page: filter, $gt on _id, sort, batch size 200 (two getMores for 450).
    let mut read = Vec::new();
    let outcome = async {
        let mut c = words
            .find(doc! { "user": "alice", "list_id": "L1", "_id": { "$gt": "w0009" } })
            .sort(doc! { "_id": 1 })
            .batch_size(200)
            .await?;
        while c.advance().await? {
            read.push(
                c.deserialize_current()?
                    .get_str("_id")
                    .unwrap_or("")
                    .to_owned(),
            );
        }
        Ok::<_, mongodb::error::Error>(())
    }
    .await;
    p.check(
        "find $gt + sort + batch_size 200 + getMore: 440 in _id order",
        outcome.is_ok() && read.len() == 440 && read.windows(2).all(|w| w[0] < w[1]),
        format!(
            "{} read, first {:?}, {:?}",
            read.len(),
            read.first(),
            outcome.err().map(err)
        ),
    );
    let limited = async {
        let mut c = lists
            .find(doc! { "user": "alice", "deleting": { "$exists": false } })
            .sort(doc! { "_id": 1 })
            .limit(2)
            .await?;
        let mut n = 0;
        while c.advance().await? {
            n += 1;
        }
        Ok::<_, mongodb::error::Error>(n)
    }
    .await;
    p.check(
        "find $exists false + limit",
        matches!(limited, Ok(1)),
        format!("{limited:?}"),
    );
    let filtered = words
        .count_documents(doc! { "list_id": "L1", "learned": true, "wrong_count": { "$gte": 3i64 }, "in_notebook": { "$ne": true } })
        .await;
    let want = (0..450).filter(|i| i % 3 == 0 && i % 5 >= 3).count() as u64;
    p.check(
        "filter bool + $gte + $ne on a missing field",
        matches!(filtered, Ok(n) if n == want),
        format!("{filtered:?}, want {want}"),
    );

    // Conditional counter: $lte holds once, then not.
    for (step, want) in [
        ("update_one $lte → $inc", 1),
        ("the same past the limit: no match", 0),
    ] {
        let r = lists
            .update_one(
                doc! { "_id": "L1", "user": "alice", "word_count": { "$lte": 300i64 } },
                doc! { "$inc": { "word_count": 450i64 }, "$set": { "updated_at": "now" } },
            )
            .await;
        p.check(
            step,
            matches!(&r, Ok(u) if u.matched_count == want),
            format!("{r:?}"),
        );
    }
    let r = words
        .find_one_and_update(
            doc! { "_id": "w0001", "user": "alice" },
            doc! { "$set": { "learned": true } },
        )
        .return_document(ReturnDocument::Before)
        .await;
    p.check(
        "find_one_and_update, the document before",
        matches!(&r, Ok(Some(d)) if d.get_bool("learned").ok() == Some(false)),
        format!("{r:?}").chars().take(200).collect(),
    );
    let r = db
        .collection::<Document>("profiles")
        .find_one_and_update(
            doc! { "_id": "alice" },
            doc! { "$setOnInsert": { "created_at": "t0" }, "$inc": { "quizzes_taken": 1i64 } },
        )
        .upsert(true)
        .return_document(ReturnDocument::After)
        .await;
    p.check(
        "find_one_and_update upsert + $setOnInsert + $inc, the document after",
        matches!(&r, Ok(Some(d)) if d.get_str("created_at").ok() == Some("t0") && d.get_i64("quizzes_taken").ok() == Some(1)),
        format!("{r:?}").chars().take(200).collect(),
    );
    let r = words
        .update_many(
            doc! { "user": "alice", "_id": { "$in": ["w0002", "w0003", "nope"] }, "in_notebook": { "$ne": true } },
            doc! { "$set": { "in_notebook": true } },
        )
        .await;
    p.check(
        "update_many $in, modified_count",
        matches!(&r, Ok(u) if u.modified_count == 2),
        format!("{r:?}"),
    );
    let r = words
        .find_one_and_delete(doc! { "_id": "w0004", "user": "alice" })
        .await;
    p.check(
        "find_one_and_delete",
        matches!(&r, Ok(Some(_))),
        format!("{r:?}").chars().take(200).collect(),
    );

    // Transactions: commit, abort (rolled back), a write conflict between two.
    let txn = async {
        let mut s = client.start_session().await?;
        s.start_transaction()
            .read_concern(ReadConcern::snapshot())
            .write_concern(WriteConcern::builder().w(Acknowledgment::Majority).build())
            .await?;
        lists
            .update_one(
                doc! { "_id": "L1" },
                doc! { "$inc": { "word_count": 1i64 } },
            )
            .session(&mut s)
            .await?;
        words
            .insert_one(doc! { "_id": "t1", "user": "alice", "list_id": "L1" })
            .session(&mut s)
            .await?;
        s.commit_transaction().await
    }
    .await;
    p.report("transaction: update + insert, commit", txn.map_err(err));
    let aborted = async {
        let mut s = client.start_session().await?;
        s.start_transaction().await?;
        words
            .insert_one(doc! { "_id": "t2", "user": "alice", "list_id": "L1" })
            .session(&mut s)
            .await?;
        s.abort_transaction().await
    }
    .await;
    let t2 = words.find_one(doc! { "_id": "t2" }).await;
    p.check(
        "transaction: insert, abort → the insert is gone",
        aborted.is_ok() && matches!(t2, Ok(None)),
        format!(
            "abort {:?}, after {:?}",
            aborted.err().map(err),
            t2.map(|d| d.is_some())
        ),
    );
    let dup = async {
        let mut s = client.start_session().await?;
        s.start_transaction().await?;
        lists
            .update_one(
                doc! { "_id": "L1" },
                doc! { "$inc": { "word_count": 100i64 } },
            )
            .session(&mut s)
            .await?;
        let r = words
            .insert_many(vec![doc! { "_id": "t3" }, doc! { "_id": "w0005" }])
            .session(&mut s)
            .await;
        let _ = s.abort_transaction().await;
        Ok::<_, mongodb::error::Error>(r.is_err())
    }
    .await;
    let t3 = words.find_one(doc! { "_id": "t3" }).await;
    let count = lists.find_one(doc! { "_id": "L1" }).await;
    p.check(
        "transaction: duplicate _id in insert_many refused, then rolled back (no t3, counter back)",
        matches!(dup, Ok(true))
            && matches!(t3, Ok(None))
            && matches!(&count, Ok(Some(d)) if d.get_i64("word_count").ok() == Some(451)),
        format!(
            "refused {:?}, t3 {:?}, list {:?}",
            dup.map_err(err),
            t3.map(|d| d.is_some()),
            count.map(|d| d.and_then(|d| d.get_i64("word_count").ok()))
        ),
    );
    let conflict = async {
        let mut a = client.start_session().await?;
        let mut b = client.start_session().await?;
        a.start_transaction().await?;
        b.start_transaction().await?;
        lists
            .update_one(
                doc! { "_id": "L1" },
                doc! { "$inc": { "learned_count": 1i64 } },
            )
            .session(&mut a)
            .await?;
        let second = lists
            .update_one(
                doc! { "_id": "L1" },
                doc! { "$inc": { "learned_count": 1i64 } },
            )
            .session(&mut b)
            .await;
        let _ = a.commit_transaction().await;
        let _ = b.abort_transaction().await;
        Ok::<_, mongodb::error::Error>(second)
    }
    .await;
    p.check(
        "two transactions write one document: the second gets WriteConflict (TransientTransactionError)",
        matches!(&conflict, Ok(Err(e)) if e.contains_label(TRANSIENT_TRANSACTION_ERROR)),
        match conflict {
            Ok(Ok(u)) => format!("the second write went through: {u:?}"),
            Ok(Err(e)) => err(e),
            Err(e) => err(e),
        },
    );
    let _ = db.drop().await;
    println!("{} step(s) failed", p.failed);
    std::process::exit(i32::from(p.failed > 0));
}
