//! Traffic generator for a running vocab API (normally `vocab-local`): signs up `--users`
//! users (their first `GET /me`), then exercises every route at `--rate` requests/s for
//! `--duration` seconds — realistic use (including the web app's favourites, memos,
//! notebooks, multi-select deletes and client events, half of them under `/api`) plus some
//! 4xx (bad input, missing and other users' data, no identity, oversized bodies, double
//! submits) and a few 5xx through the
//! `x-debug-fault` header, which only `vocab-local` honours. Deterministic for a `--seed`
//! (given the same answers). Bounded: at most `rate × duration` requests, one at a time,
//! loopback only unless `--allow-remote`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

#[derive(Parser)]
#[command(about = "Exercise every vocab API route (with some 4xx and 5xx) at a steady rate")]
struct Args {
    /// The API's base URL (http only).
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    base_url: String,
    /// Requests per second (0.1–200).
    #[arg(long, default_value_t = 5.0)]
    rate: f64,
    /// How long to run, in seconds (1–3600).
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Distinct users, sent as `x-dev-user: traffic-<seed>-<n>` (1–100).
    #[arg(long, default_value_t = 5)]
    users: usize,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Allow a base URL that isn't loopback.
    #[arg(long)]
    allow_remote: bool,
}

/// Korean ↔ English pairs the users study.
const VOCAB: &[(&str, &str)] = &[
    ("사과", "apple"),
    ("바나나", "banana"),
    ("고양이", "cat"),
    ("개", "dog"),
    ("물", "water"),
    ("책", "book"),
    ("학교", "school"),
    ("친구", "friend"),
    ("사랑", "love"),
    ("하늘", "sky"),
    ("바다", "sea"),
    ("꽃", "flower"),
    ("집", "house"),
    ("밥", "rice"),
    ("나무", "tree"),
    ("비", "rain"),
    ("눈", "snow"),
    ("해", "sun"),
    ("달", "moon"),
    ("별", "star"),
    ("산", "mountain"),
    ("강", "river"),
    ("길", "road"),
    ("문", "door"),
    ("창문", "window"),
    ("의자", "chair"),
    ("시계", "clock"),
    ("우유", "milk"),
    ("커피", "coffee"),
    ("차", "tea"),
    ("음악", "music"),
    ("영화", "movie"),
    ("시간", "time"),
    ("돈", "money"),
    ("손", "hand"),
    ("발", "foot"),
    ("머리", "head"),
    ("마음", "heart"),
    ("봄", "spring"),
    ("겨울", "winter"),
];

struct WordState {
    id: String,
    meaning: String,
}

struct ListState {
    id: String,
    words: Vec<WordState>,
}

struct PendingQuiz {
    id: String,
    /// (word id, choices) per question.
    questions: Vec<(String, Option<Vec<String>>)>,
}

struct User {
    id: String,
    lists: Vec<ListState>,
    quizzes: Vec<PendingQuiz>,
    submitted: Vec<String>,
}

struct Api {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    statuses: BTreeMap<u16, u64>,
    sent: u64,
}

impl Api {
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        user: Option<&str>,
        body: Option<Vec<u8>>,
        fault: Option<&str>,
    ) -> (u16, Value) {
        self.sent += 1;
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(u) = user {
            req = req.header("x-dev-user", u);
        }
        if let Some(f) = fault {
            req = req.header("x-debug-fault", f);
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = match req.body(Full::new(Bytes::from(body.unwrap_or_default()))) {
            Ok(r) => r,
            Err(_) => return self.count(0, Value::Null),
        };
        let answer = tokio::time::timeout(Duration::from_secs(10), async {
            let response = self.client.request(req).await.ok()?;
            let status = response.status().as_u16();
            let bytes = response.into_body().collect().await.ok()?.to_bytes();
            Some((
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            ))
        })
        .await;
        match answer {
            Ok(Some((status, body))) => self.count(status, body),
            _ => self.count(0, Value::Null),
        }
    }

    fn count(&mut self, status: u16, body: Value) -> (u16, Value) {
        *self.statuses.entry(status).or_default() += 1;
        (status, body)
    }

    async fn json(&mut self, method: Method, path: &str, user: &str, body: Value) -> (u16, Value) {
        self.call(
            method,
            path,
            Some(user),
            Some(body.to_string().into_bytes()),
            None,
        )
        .await
    }
}

fn check(args: &Args) -> Result<String, String> {
    if !(0.1..=200.0).contains(&args.rate) {
        return Err("--rate must be from 0.1 to 200".into());
    }
    if !(1..=3600).contains(&args.duration) {
        return Err("--duration must be from 1 to 3600 seconds".into());
    }
    if !(1..=100).contains(&args.users) {
        return Err("--users must be from 1 to 100".into());
    }
    let uri: Uri = args
        .base_url
        .parse()
        .map_err(|e| format!("--base-url: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err("--base-url must be an http:// URL".into());
    }
    let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
    let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback && !args.allow_remote {
        return Err(format!(
            "{host} is not a loopback address; pass --allow-remote to send traffic there"
        ));
    }
    Ok(args.base_url.trim_end_matches('/').to_owned())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let base = match check(&args) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("vocab-traffic: {e}");
            return ExitCode::from(2);
        }
    };
    let mut api = Api {
        client: Client::builder(TokioExecutor::new()).build_http(),
        base,
        statuses: BTreeMap::new(),
        sent: 0,
    };
    let mut rng = fastrand::Rng::with_seed(args.seed);
    let mut users: Vec<User> = (0..args.users)
        .map(|n| User {
            id: format!("traffic-{}-{n}", args.seed),
            lists: Vec::new(),
            quizzes: Vec::new(),
            submitted: Vec::new(),
        })
        .collect();

    let max = (args.rate * args.duration as f64).ceil() as u64;
    let end = Instant::now() + Duration::from_secs(args.duration);
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Sign-up: each user's first request is GET /me.
    let mut signed_up = 0;
    while api.sent < max && Instant::now() < end {
        ticker.tick().await;
        if signed_up < users.len() {
            let id = users[signed_up].id.clone();
            api.call(Method::GET, "/me", Some(&id), None, None).await;
            signed_up += 1;
            continue;
        }
        let u = rng.usize(..users.len());
        let other = users[(u + 1) % users.len()]
            .lists
            .first()
            .map(|l| l.id.clone());
        step(&mut api, &mut rng, &mut users[u], other).await;
    }

    let summary: Vec<String> = api
        .statuses
        .iter()
        .map(|(s, n)| {
            if *s == 0 {
                format!("no answer: {n}")
            } else {
                format!("{s}: {n}")
            }
        })
        .collect();
    eprintln!(
        "vocab-traffic: {} requests; {}",
        api.sent,
        summary.join(", ")
    );
    let answered = api.statuses.iter().any(|(s, _)| *s != 0);
    if answered {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One request for `user`: usually normal use, sometimes a client error, rarely a fault.
async fn step(
    api: &mut Api,
    rng: &mut fastrand::Rng,
    user: &mut User,
    others_list: Option<String>,
) {
    let uid = user.id.clone();
    if user.lists.is_empty() {
        return create_list(api, rng, user).await;
    }
    let li = rng.usize(..user.lists.len());
    let list_id = user.lists[li].id.clone();
    // One request in five is what the web app adds: favourites, memos, notebooks,
    // multi-select deletes, its client events, and the `/api` prefix the browser uses.
    if rng.u32(..5) == 0 {
        return web_step(api, rng, user, li).await;
    }
    match rng.u32(..100) {
        0..4 => {
            api.call(Method::GET, "/me", Some(&uid), None, None).await;
        }
        4..8 => {
            if user.lists.len() < 4 {
                create_list(api, rng, user).await;
            } else {
                api.call(Method::GET, "/lists", Some(&uid), None, None)
                    .await;
            }
        }
        8..12 => {
            let path = format!("/lists?limit={}", rng.u32(1..=10));
            api.call(Method::GET, &path, Some(&uid), None, None).await;
        }
        12..16 => {
            api.call(
                Method::GET,
                &format!("/lists/{list_id}"),
                Some(&uid),
                None,
                None,
            )
            .await;
        }
        16..28 => {
            let (w, m) = VOCAB[rng.usize(..VOCAB.len())];
            let path = format!("/lists/{list_id}/words");
            let (s, body) = api
                .json(Method::POST, &path, &uid, json!({"word": w, "meaning": m}))
                .await;
            if s == 201 {
                remember_words(&mut user.lists[li], &[body]);
            }
        }
        28..33 => {
            let n = rng.usize(3..=8);
            let text: String = (0..n)
                .map(|_| VOCAB[rng.usize(..VOCAB.len())])
                .map(|(w, m)| format!("{w}\t{m}\n"))
                .collect();
            let path = format!("/lists/{list_id}/words");
            let (s, body) = api
                .json(Method::POST, &path, &uid, json!({ "text": text }))
                .await;
            if s == 201 {
                let items = body["items"].as_array().cloned().unwrap_or_default();
                remember_words(&mut user.lists[li], &items);
            }
        }
        33..43 => {
            let filter = match rng.u32(..5) {
                0 => "?learned=true".to_owned(),
                1 => "?learned=false&limit=10".to_owned(),
                2 => "?min_wrong=1".to_owned(),
                3 => format!("?q={}", VOCAB[rng.usize(..VOCAB.len())].1),
                _ => String::new(),
            };
            let path = format!("/lists/{list_id}/words{filter}");
            api.call(Method::GET, &path, Some(&uid), None, None).await;
        }
        43..52 => {
            let list = &user.lists[li];
            if let Some(w) = pick(rng, &list.words) {
                let path = format!("/lists/{list_id}/words/{}", w.id);
                let body = if rng.u32(..4) == 0 {
                    json!({"meaning": format!("{} ({})", w.meaning, rng.u32(..100))})
                } else {
                    json!({"learned": rng.bool()})
                };
                api.json(Method::PATCH, &path, &uid, body).await;
            }
        }
        52..54 => {
            let list = &mut user.lists[li];
            if list.words.len() > 3 {
                let w = list.words.swap_remove(rng.usize(..list.words.len()));
                let path = format!("/lists/{list_id}/words/{}", w.id);
                api.call(Method::DELETE, &path, Some(&uid), None, None)
                    .await;
            }
        }
        54..64 => {
            let mode = if rng.bool() { "choice" } else { "typed" };
            let body = json!({"count": rng.usize(1..=10), "mode": mode});
            let path = format!("/lists/{list_id}/quizzes");
            let (s, quiz) = api.json(Method::POST, &path, &uid, body).await;
            if s == 201 && user.quizzes.len() < 20 {
                let questions = quiz["questions"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|q| {
                        let choices = q["choices"].as_array().map(|c| {
                            c.iter()
                                .filter_map(|x| x.as_str().map(str::to_owned))
                                .collect()
                        });
                        Some((q["word_id"].as_str()?.to_owned(), choices))
                    })
                    .collect();
                if let Some(id) = quiz["id"].as_str() {
                    user.quizzes.push(PendingQuiz {
                        id: id.to_owned(),
                        questions,
                    });
                }
            }
        }
        64..74 => {
            if user.quizzes.is_empty() {
                return;
            }
            let quiz = user.quizzes.swap_remove(rng.usize(..user.quizzes.len()));
            let meanings: BTreeMap<&str, &str> = user
                .lists
                .iter()
                .flat_map(|l| l.words.iter().map(|w| (w.id.as_str(), w.meaning.as_str())))
                .collect();
            // Most questions answered, 70% of those right.
            let mut answers: Vec<Value> = Vec::new();
            for (word_id, choices) in &quiz.questions {
                if rng.u32(..10) == 0 {
                    continue;
                }
                let right = meanings.get(word_id.as_str()).copied().unwrap_or("?");
                let answer = match (rng.u32(..10) < 7, choices) {
                    (true, _) => right.to_owned(),
                    (false, Some(c)) if !c.is_empty() => c[rng.usize(..c.len())].clone(),
                    _ => "모르겠어요".to_owned(),
                };
                answers.push(json!({"word_id": word_id, "answer": answer}));
            }
            let path = format!("/quizzes/{}/answers", quiz.id);
            api.json(Method::POST, &path, &uid, json!({ "answers": answers }))
                .await;
            user.submitted.push(quiz.id);
            if user.submitted.len() > 20 {
                user.submitted.remove(0);
            }
        }
        74..77 => {
            api.call(
                Method::GET,
                &format!("/lists/{list_id}/review"),
                Some(&uid),
                None,
                None,
            )
            .await;
        }
        77..78 => {
            let body = json!({"name": format!("단어장 {}", rng.u32(..1000))});
            api.json(Method::PATCH, &format!("/lists/{list_id}"), &uid, body)
                .await;
        }
        78..79 => {
            if user.lists.len() > 1 {
                user.lists.swap_remove(li);
                api.call(
                    Method::DELETE,
                    &format!("/lists/{list_id}"),
                    Some(&uid),
                    None,
                    None,
                )
                .await;
            }
        }
        79..97 => client_error(api, rng, user, &list_id, others_list).await,
        _ => {
            let fault = if rng.bool() { "error" } else { "panic" };
            api.call(Method::GET, "/me", Some(&uid), None, Some(fault))
                .await;
        }
    }
}

/// A request of the web app's (contract A).
async fn web_step(api: &mut Api, rng: &mut fastrand::Rng, user: &mut User, li: usize) {
    let uid = user.id.clone();
    let list_id = user.lists[li].id.clone();
    let prefix = if rng.bool() { "/api" } else { "" };
    match rng.u32(..10) {
        0 => {
            let body = json!({"favorite": rng.bool()});
            api.json(
                Method::PATCH,
                &format!("{prefix}/lists/{list_id}"),
                &uid,
                body,
            )
            .await;
        }
        1 => {
            let (w, m) = VOCAB[rng.usize(..VOCAB.len())];
            let body =
                json!({"word": w, "meaning": m, "memo": format!("{w}: 예문 {}", rng.u32(..100))});
            let path = format!("{prefix}/lists/{list_id}/words");
            let (s, body) = api.json(Method::POST, &path, &uid, body).await;
            if s == 201 {
                remember_words(&mut user.lists[li], &[body]);
            }
        }
        2 => {
            if let Some(w) = pick(rng, &user.lists[li].words) {
                let (method, path) = if rng.u32(..3) == 0 {
                    (
                        Method::DELETE,
                        format!("{prefix}/lists/{list_id}/notebook/{}", w.id),
                    )
                } else {
                    (
                        Method::PUT,
                        format!("{prefix}/lists/{list_id}/notebook/{}", w.id),
                    )
                };
                api.call(method, &path, Some(&uid), None, None).await;
            }
        }
        3 => {
            let path = format!("{prefix}/lists/{list_id}/notebook");
            api.call(Method::GET, &path, Some(&uid), None, None).await;
        }
        4 => {
            api.call(
                Method::GET,
                &format!("{prefix}/notebooks"),
                Some(&uid),
                None,
                None,
            )
            .await;
        }
        5 => {
            let list = &mut user.lists[li];
            if list.words.len() > 4 {
                let ids: Vec<String> = (0..2)
                    .map(|_| list.words.swap_remove(rng.usize(..list.words.len())).id)
                    .chain(std::iter::once(uuid::Uuid::now_v7().to_string()))
                    .collect();
                let path = format!("{prefix}/lists/{list_id}/words/batch-delete");
                api.json(Method::POST, &path, &uid, json!({ "ids": ids }))
                    .await;
            }
        }
        6 => {
            if user.lists.len() > 2 {
                let gone = user.lists.swap_remove(li);
                let body = json!({"ids": [gone.id, uuid::Uuid::now_v7().to_string()]});
                api.json(
                    Method::POST,
                    &format!("{prefix}/lists/batch-delete"),
                    &uid,
                    body,
                )
                .await;
            }
        }
        _ => {
            let page = format!("/lists/{list_id}");
            let status = [0u16, 500, 503][rng.usize(..3)];
            let event = match rng.u32(..3) {
                0 => json!({"type": "page_load", "page": page, "duration_ms": rng.u32(80..2500)}),
                1 => json!({"type": "api_error", "page": page, "message": "Failed to fetch",
                            "api_method": "GET", "api_path": "/lists/{list_id}/words",
                            "status": status}),
                _ => json!({"type": "error", "page": page, "error_type": "TypeError",
                            "message": "Cannot read properties of undefined (reading 'meaning')",
                            "stack": "TypeError: Cannot read properties of undefined\n    at WordRow (assets/index-3f9a1c.js:1:2345)"}),
            };
            api.json(
                Method::POST,
                &format!("{prefix}/client-events"),
                &uid,
                json!({"events": [event]}),
            )
            .await;
        }
    }
}

/// A request that should answer 4xx.
async fn client_error(
    api: &mut Api,
    rng: &mut fastrand::Rng,
    user: &User,
    list_id: &str,
    others_list: Option<String>,
) {
    let uid = user.id.as_str();
    let missing = uuid::Uuid::now_v7();
    match rng.u32(..10) {
        0 => {
            let body = json!({"name": "", "source_lang": "ko", "target_lang": "en"});
            api.json(Method::POST, "/lists", uid, body).await;
        }
        1 => {
            let body = json!({"word": "x".repeat(300), "meaning": "too long"});
            api.json(Method::POST, &format!("/lists/{list_id}/words"), uid, body)
                .await;
        }
        2 => {
            api.call(
                Method::GET,
                &format!("/lists/{list_id}/words?limit=1000"),
                Some(uid),
                None,
                None,
            )
            .await;
        }
        3 => {
            api.call(Method::GET, "/lists", None, None, None).await;
        }
        4 => {
            api.call(
                Method::GET,
                &format!("/lists/{missing}"),
                Some(uid),
                None,
                None,
            )
            .await;
        }
        5 => {
            // Another user's list answers exactly like a missing one.
            let id = others_list.unwrap_or_else(|| missing.to_string());
            api.call(
                Method::GET,
                &format!("/lists/{id}/words"),
                Some(uid),
                None,
                None,
            )
            .await;
        }
        6 => match user.submitted.last() {
            Some(q) => {
                api.json(
                    Method::POST,
                    &format!("/quizzes/{q}/answers"),
                    uid,
                    json!({"answers": []}),
                )
                .await;
            }
            None => {
                api.call(
                    Method::POST,
                    "/lists",
                    Some(uid),
                    Some(b"{not json".to_vec()),
                    None,
                )
                .await;
            }
        },
        7 => {
            let body = vec![b' '; 300 * 1024];
            api.call(
                Method::POST,
                &format!("/lists/{list_id}/words"),
                Some(uid),
                Some(body),
                None,
            )
            .await;
        }
        8 => {
            let body = json!({"count": 500});
            api.json(
                Method::POST,
                &format!("/lists/{list_id}/quizzes"),
                uid,
                body,
            )
            .await;
        }
        _ => {
            let path = if rng.bool() {
                "/lists/x/nope"
            } else {
                "/admin"
            };
            api.call(Method::GET, path, Some(uid), None, None).await;
        }
    }
}

async fn create_list(api: &mut Api, rng: &mut fastrand::Rng, user: &mut User) {
    let name = format!("단어장 {}", rng.u32(..1000));
    let body = json!({"name": name, "source_lang": "ko", "target_lang": "en"});
    let (s, list) = api.json(Method::POST, "/lists", &user.id, body).await;
    let Some(id) = list["id"].as_str().filter(|_| s == 201) else {
        return;
    };
    let mut state = ListState {
        id: id.to_owned(),
        words: Vec::new(),
    };
    let items: Vec<Value> = (0..rng.usize(4..=10))
        .map(|_| VOCAB[rng.usize(..VOCAB.len())])
        .map(|(w, m)| json!({"word": w, "meaning": m}))
        .collect();
    let (s, added) = api
        .json(
            Method::POST,
            &format!("/lists/{id}/words"),
            &user.id,
            json!({ "items": items }),
        )
        .await;
    if s == 201 {
        remember_words(
            &mut state,
            added["items"].as_array().map(Vec::as_slice).unwrap_or(&[]),
        );
    }
    user.lists.push(state);
}

fn remember_words(list: &mut ListState, words: &[Value]) {
    for w in words {
        if let (Some(id), Some(meaning)) = (w["id"].as_str(), w["meaning"].as_str()) {
            list.words.push(WordState {
                id: id.to_owned(),
                meaning: meaning.to_owned(),
            });
        }
    }
}

fn pick<'a, T>(rng: &mut fastrand::Rng, items: &'a [T]) -> Option<&'a T> {
    (!items.is_empty()).then(|| &items[rng.usize(..items.len())])
}
