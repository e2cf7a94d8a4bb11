//! A DynamoDB fault injector: an HTTP proxy in front of the emulator that answers chosen
//! calls with the errors DynamoDB documents, and records what the store asked for. For the
//! failures moto can't make on demand (a transaction conflict, throttling, an internal
//! error in the middle of a bulk add).
//!
//! Error shapes follow the DynamoDB API Reference ("Errors" of TransactWriteItems and
//! "Common Errors"): HTTP 400 with `{"__type":"com.amazonaws.dynamodb.v20120810#<Name>",
//! "Message":…}`, and for `TransactionCanceledException` a `CancellationReasons` array with
//! one `{"Code":…}` per item of the request, in order (`None` for items that were fine).
//! `InternalServerError` is HTTP 500. Every answer carries an `x-amzn-RequestId`.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Request, Response};
use serde_json::{Value, json};

/// What to answer instead of forwarding.
#[derive(Clone, Debug)]
pub enum Fault {
    /// `TransactionCanceledException`; `reasons` gives the code of some items by index,
    /// the others are `None` (the request's item count is read from the request).
    Canceled(Vec<(usize, &'static str)>),
    /// `ThrottlingException` (HTTP 400).
    Throttling,
    /// `InternalServerError` (HTTP 500).
    Internal,
    /// For `BatchGetItem`: only the first key of the request is read; the others come back
    /// in `UnprocessedKeys` (with the request's other parameters, as DynamoDB returns them),
    /// as DynamoDB does past its 16 MB response limit or when a partition is throttled
    /// (API Reference, BatchGetItem: "If DynamoDB returns any unprocessed items, you should
    /// retry the batch operation on those items … we strongly recommend … exponential
    /// backoff").
    Unprocessed,
}

#[derive(Clone, Debug)]
struct Rule {
    target: &'static str,
    /// Matching calls to let through first.
    skip: usize,
    /// Then how many to answer with `fault` (`usize::MAX`: all).
    times: usize,
    fault: Fault,
    seen: usize,
}

/// One call the store made: its operation and request, and (when forwarded) the answer.
#[derive(Clone, Debug)]
pub struct Call {
    pub target: String,
    pub request: Value,
    pub response: Value,
}

#[derive(Clone, Default)]
pub struct FaultProxy {
    rules: Arc<Mutex<Vec<Rule>>>,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl FaultProxy {
    /// Starts the proxy on a free loopback port in front of `upstream`; its URL.
    pub async fn start(upstream: String) -> (FaultProxy, String) {
        let proxy = FaultProxy::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let client = reqwest::Client::new();
        let p = proxy.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (p, client, upstream) = (p.clone(), client.clone(), upstream.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let (p, client, upstream) = (p.clone(), client.clone(), upstream.clone());
                        async move { Ok::<_, Infallible>(p.handle(req, &client, &upstream).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (proxy, url)
    }

    /// Lets `skip` calls of `target` (e.g. `TransactWriteItems`) through, then answers the
    /// next `times` with `fault`.
    pub fn inject(&self, target: &'static str, skip: usize, times: usize, fault: Fault) {
        self.rules.lock().expect("rules").push(Rule {
            target,
            skip,
            times,
            fault,
            seen: 0,
        });
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("calls").clone()
    }

    pub fn clear_calls(&self) {
        self.calls.lock().expect("calls").clear();
    }

    async fn handle(
        &self,
        req: Request<hyper::body::Incoming>,
        client: &reqwest::Client,
        upstream: &str,
    ) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let target = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("")
            .to_owned();
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let fault = {
            let mut rules = self.rules.lock().expect("rules");
            rules.iter_mut().find_map(|r| {
                if r.target != target {
                    return None;
                }
                r.seen += 1;
                (r.seen > r.skip && r.seen - r.skip <= r.times).then(|| r.fault.clone())
            })
        };
        let mut body = body;
        let mut unprocessed: Option<Value> = None;
        match fault {
            Some(Fault::Unprocessed) => {
                let mut first = request.clone();
                let mut rest = request["RequestItems"].clone();
                if let (Some(items), Some(rest)) =
                    (first["RequestItems"].as_object_mut(), rest.as_object_mut())
                {
                    for (table, spec) in items.iter_mut() {
                        if let Some(keys) = spec["Keys"].as_array_mut() {
                            let later: Vec<Value> = keys.drain(1..).collect();
                            rest[table]["Keys"] = Value::Array(later);
                        }
                    }
                    rest.retain(|_, spec| spec["Keys"].as_array().is_some_and(|k| !k.is_empty()));
                }
                body = Bytes::from(first.to_string());
                unprocessed = Some(rest);
            }
            Some(fault) => {
                self.record(&target, request.clone(), Value::Null);
                return fault_response(&fault, &request);
            }
            None => {}
        }
        let mut forward = client
            .post(format!("{upstream}{}", parts.uri.path()))
            .body(body.clone());
        for (name, value) in &parts.headers {
            if name != "host" && name != "content-length" {
                forward = forward.header(name, value);
            }
        }
        let Ok(answer) = forward.send().await else {
            return fault_response(&Fault::Internal, &request);
        };
        let status = answer.status();
        let headers = answer.headers().clone();
        let mut bytes = answer.bytes().await.unwrap_or_default();
        // A changed body can't keep the emulator's checksum of it.
        let rewritten = unprocessed.is_some();
        if let Some(rest) = unprocessed
            && let Ok(mut answer) = serde_json::from_slice::<Value>(&bytes)
        {
            answer["UnprocessedKeys"] = rest;
            bytes = Bytes::from(answer.to_string());
        }
        self.record(
            &target,
            request,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        );
        let mut response = Response::new(Full::new(bytes));
        *response.status_mut() = status;
        for (name, value) in &headers {
            if name != "content-length"
                && name != "transfer-encoding"
                && !(rewritten && name == "x-amz-crc32")
            {
                response.headers_mut().insert(name, value.clone());
            }
        }
        response
    }

    fn record(&self, target: &str, request: Value, response: Value) {
        self.calls.lock().expect("calls").push(Call {
            target: target.to_owned(),
            request,
            response,
        });
    }
}

fn fault_response(fault: &Fault, request: &Value) -> Response<Full<Bytes>> {
    let kind = |name: &str| format!("com.amazonaws.dynamodb.v20120810#{name}");
    let (status, body) = match fault {
        Fault::Canceled(codes) => {
            let n = request["TransactItems"].as_array().map_or(1, Vec::len);
            let reasons: Vec<Value> = (0..n)
                .map(|i| {
                    let code = codes
                        .iter()
                        .find(|(j, _)| *j == i)
                        .map_or("None", |(_, c)| c);
                    json!({"Code": code})
                })
                .collect();
            let listed: Vec<&str> = reasons.iter().filter_map(|r| r["Code"].as_str()).collect();
            (
                400,
                json!({"__type": kind("TransactionCanceledException"),
                       "Message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", listed.join(", ")),
                       "CancellationReasons": reasons}),
            )
        }
        Fault::Throttling => (
            400,
            json!({"__type": kind("ThrottlingException"), "message": "Rate of requests exceeds the allowed throughput."}),
        ),
        Fault::Internal | Fault::Unprocessed => (
            500,
            json!({"__type": kind("InternalServerError"), "message": "Internal server error"}),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    headers.insert(
        "x-amzn-requestid",
        hyper::header::HeaderValue::from_static(
            "FAULTPROXY0REQUEST0ID0000000000000000000000000000",
        ),
    );
    response
}
