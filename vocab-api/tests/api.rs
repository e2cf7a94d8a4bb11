//! The vocab API's integration tests: one test binary (so the crate links once), one module
//! per area. Storage is a real DynamoDB-compatible HTTP endpoint (moto's server, started by
//! the harness; or `MOTO_URL` / `DYNAMODB_ENDPOINT`), one fresh table per test; the tests
//! of the shared store suite also run on MongoDB when `MONGODB_URI` is set (`per_store!`).

mod api {
    pub mod fault_proxy; // DynamoDB's documented errors injected in front of the emulator
    pub mod harness; // moto lifecycle, a fresh table per test, request helpers, log capture
    mod lambda; // identity from the JWT authorizer, the Lambda request id and deadline
    mod bench; // the 5,000-word list bench (ignored: run with --run-ignored only)
    mod issue_14; // regression tests of the store bugs issue 14 lists
    mod issue_14_reads; // issue 14: quiz creation and the review list read only what they use
    mod jwt; // vocab-local --auth jwt with real moto-issued Cognito tokens
    mod layering; // issue 14: the modules of src/ import each other in no cycle
    mod lists; // /lists routes
    mod logs; // one ECS line per request, the right fields, nothing secret; panics
    mod me; // /me
    mod web_app; // contract A: favourites, memos, notebooks, batch deletes, client events, front door
    mod quiz_props; // quiz generation properties (proptest, no storage)
    mod quizzes; // quiz routes, counters under concurrent answers
    mod store_config; // VOCAB_STORE: the MongoDB URI from Secrets Manager, a store that can't open
    mod words; // /lists/{id}/words routes, bulk paste, filters, review
}
