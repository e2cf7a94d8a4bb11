//! Quizzes: generate from a list, submit answers once (counting right/wrong per word).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::log_ctx::LogCtx;
use crate::model::{Direction, Quiz, QuizMode, new_id, now};
use crate::quiz;
use crate::state::AppState;
use crate::store::Submit;
use crate::validate::{self, DEFAULT_QUIZ_QUESTIONS, MAX_MEANING_CHARS, MAX_QUIZ_QUESTIONS};

/// Most bytes of a quiz's questions (JSON): DynamoDB's 400 KB item limit, less room for
/// the other attributes.
pub const MAX_QUIZ_BYTES: usize = 350 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateQuiz {
    count: Option<i64>,
    mode: Option<String>,
    direction: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitAnswers {
    answers: Option<Vec<AnswerIn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerIn {
    word_id: Option<String>,
    answer: Option<String>,
}

/// `POST /lists/{list_id}/quizzes` `{"count"?,"mode"?,"direction"?}` → 201 with the
/// questions (without answers). `count` larger than the list gives one question per word.
pub async fn create(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
    Path(list_id): Path<String>,
    JsonBody(body): JsonBody<CreateQuiz>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let list_id = validate::id(&list_id, "list")?;
    log.app("list_id", list_id.as_str());
    let requested = match body.count {
        None => DEFAULT_QUIZ_QUESTIONS,
        Some(n) if (1..=MAX_QUIZ_QUESTIONS as i64).contains(&n) => n as usize,
        Some(_) => {
            return Err(ApiError::invalid(
                "count",
                format!("must be from 1 to {MAX_QUIZ_QUESTIONS}"),
            ));
        }
    };
    let mode = match body.mode.as_deref() {
        None | Some("choice") => QuizMode::Choice,
        Some("typed") => QuizMode::Typed,
        Some(_) => return Err(ApiError::invalid("mode", "must be \"choice\" or \"typed\"")),
    };
    let direction = match body.direction.as_deref() {
        None | Some("word_to_meaning") => Direction::WordToMeaning,
        Some("meaning_to_word") => Direction::MeaningToWord,
        Some(_) => {
            return Err(ApiError::invalid(
                "direction",
                "must be \"word_to_meaning\" or \"meaning_to_word\"",
            ));
        }
    };
    st.store
        .get_list(&user, &list_id)
        .await?
        .ok_or(ApiError::NotFound("list"))?;
    // The list's word ids (keys only), then just the words the quiz uses: its questions'
    // and, for a choice quiz, their distractors.
    let ids = st.store.word_ids(&user, &list_id).await?;
    if ids.is_empty() {
        return Err(ApiError::Invalid {
            code: "empty_list",
            field: None,
            message: "the list has no words to make a quiz from".into(),
        });
    }
    let mut rng = fastrand::Rng::new();
    let mut draft = quiz::Draft::new(ids, requested, mode, direction, &mut rng);
    loop {
        let wanted = draft.wanted(&mut rng);
        if wanted.is_empty() {
            break;
        }
        draft.feed(st.store.words_by_id(&user, &list_id, &wanted).await?);
    }
    let questions = draft.finish(&mut rng);
    if questions.is_empty() {
        // Every word was deleted between reading the ids and reading the words.
        return Err(ApiError::Invalid {
            code: "empty_list",
            field: None,
            message: "the list has no words to make a quiz from".into(),
        });
    }
    // A quiz is stored as one item, and DynamoDB items hold at most 400 KB: long meanings
    // in a big choice quiz (each question carries four of them) can pass that.
    let sizes: Vec<usize> = questions
        .iter()
        .map(|q| serde_json::to_vec(q).map_or(usize::MAX, |v| v.len() + 1))
        .collect();
    if sizes.iter().sum::<usize>() > MAX_QUIZ_BYTES {
        let mut total = 0;
        let fit = sizes
            .iter()
            .take_while(|n| {
                total += **n;
                total <= MAX_QUIZ_BYTES
            })
            .count();
        return Err(ApiError::Invalid {
            code: "quiz_too_large",
            field: Some("count".into()),
            message: format!(
                "this list's words are long: {} questions don't fit in one quiz; ask for at most {fit}",
                questions.len()
            ),
        });
    }
    let quiz = Quiz {
        id: new_id(),
        list_id: list_id.clone(),
        mode,
        direction,
        questions,
        submitted: false,
        created_at: now(),
    };
    log.app("quiz_id", quiz.id.as_str());
    log.app("question_count", quiz.questions.len());
    st.store.put_quiz(&user, &quiz).await?;
    let questions: Vec<Value> = quiz
        .questions
        .iter()
        .map(|q| json!({"word_id": q.word_id, "prompt": q.prompt, "choices": q.choices}))
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": quiz.id,
            "list_id": quiz.list_id,
            "mode": quiz.mode,
            "direction": quiz.direction,
            "requested": requested,
            "count": questions.len(),
            "questions": questions,
            "created_at": quiz.created_at,
        })),
    ))
}

/// `POST /quizzes/{quiz_id}/answers` `{"answers":[{"word_id","answer"}]}` → score and
/// per-word results. Unanswered questions count as wrong. A quiz is submitted once (409).
pub async fn submit(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
    Path(quiz_id): Path<String>,
    JsonBody(body): JsonBody<SubmitAnswers>,
) -> Result<Json<Value>, ApiError> {
    let quiz_id = validate::id(&quiz_id, "quiz")?;
    log.app("quiz_id", quiz_id.as_str());
    let Some(answers) = body.answers else {
        return Err(ApiError::Invalid {
            code: "required",
            field: Some("answers".into()),
            message: "is required".into(),
        });
    };
    let quiz = st
        .store
        .get_quiz(&user, &quiz_id)
        .await?
        .ok_or(ApiError::NotFound("quiz"))?;
    log.app("list_id", quiz.list_id.as_str());
    if answers.len() > quiz.questions.len() {
        return Err(ApiError::invalid(
            "answers",
            format!("the quiz has {} questions", quiz.questions.len()),
        ));
    }
    let mut given: HashMap<&str, &str> = HashMap::new();
    for (i, a) in answers.iter().enumerate() {
        let word_id = a.word_id.as_deref().ok_or_else(|| ApiError::Invalid {
            code: "required",
            field: Some(format!("answers[{i}].word_id")),
            message: "is required".into(),
        })?;
        if !quiz.questions.iter().any(|q| q.word_id == word_id) {
            return Err(ApiError::invalid(
                format!("answers[{i}].word_id"),
                "is not a question of this quiz",
            ));
        }
        let answer = a.answer.as_deref().unwrap_or("");
        if answer.chars().count() > MAX_MEANING_CHARS {
            return Err(ApiError::Invalid {
                code: "too_long",
                field: Some(format!("answers[{i}].answer")),
                message: format!("the limit is {MAX_MEANING_CHARS} characters"),
            });
        }
        if given.insert(word_id, answer).is_some() {
            return Err(ApiError::invalid(
                format!("answers[{i}].word_id"),
                "is answered twice",
            ));
        }
    }
    let results: Vec<(String, bool)> = quiz
        .questions
        .iter()
        .map(|q| {
            let ok = given
                .get(q.word_id.as_str())
                .is_some_and(|a| quiz::is_correct(q, a));
            (q.word_id.clone(), ok)
        })
        .collect();
    let score = results.iter().filter(|(_, ok)| *ok).count();
    log.app("quiz_score", score);
    log.app("quiz_total", results.len());
    match st.store.submit_quiz(&user, &quiz, &results).await? {
        Submit::Recorded => {}
        Submit::AlreadySubmitted => {
            return Err(ApiError::Conflict {
                code: "already_submitted",
                message: "this quiz was already submitted".into(),
            });
        }
        Submit::NoSuchQuiz => return Err(ApiError::NotFound("quiz")),
    }
    let per_word: Vec<Value> = quiz
        .questions
        .iter()
        .zip(&results)
        .map(|(q, (_, ok))| {
            json!({
                "word_id": q.word_id,
                "prompt": q.prompt,
                "given": given.get(q.word_id.as_str()),
                "expected": q.answer,
                "correct": ok,
            })
        })
        .collect();
    Ok(Json(json!({
        "quiz_id": quiz.id,
        "list_id": quiz.list_id,
        "score": score,
        "total": results.len(),
        "results": per_word,
    })))
}
