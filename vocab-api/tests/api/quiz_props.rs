//! Properties of quiz generation (no storage): the right number of distinct questions,
//! distractors only from the same list, no duplicate choices, the answer always offered.

use std::collections::HashSet;

use proptest::prelude::*;
use vocab_api::model::{Direction, QuizMode, Word};
use vocab_api::quiz::{CHOICES, generate, is_correct, normalize};

fn word(i: usize, w: String, m: String) -> Word {
    Word {
        id: format!("w{i}"),
        list_id: "l".into(),
        word: w,
        meaning: m,
        memo: String::new(),
        in_notebook: false,
        learned: false,
        right_count: 0,
        wrong_count: 0,
        created_at: String::new(),
        updated_at: String::new(),
    }
}

/// Small alphabets (Hangul and Latin, mixed case) so that equal texts happen often.
fn text() -> impl Strategy<Value = String> {
    "[가나다Aa b]{1,3}"
}

fn words() -> impl Strategy<Value = Vec<Word>> {
    prop::collection::vec((text(), text()), 0..25).prop_map(|pairs| {
        pairs
            .into_iter()
            .enumerate()
            .map(|(i, (w, m))| word(i, w, m))
            .collect()
    })
}

proptest! {
    #[test]
    fn quiz_generation_properties(
        words in words(),
        count in 0usize..60,
        choice in any::<bool>(),
        reverse in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mode = if choice { QuizMode::Choice } else { QuizMode::Typed };
        let direction = if reverse { Direction::MeaningToWord } else { Direction::WordToMeaning };
        let questions = generate(&words, count, mode, direction, &mut fastrand::Rng::with_seed(seed));

        prop_assert_eq!(questions.len(), count.min(words.len()));
        let ids: HashSet<&str> = questions.iter().map(|q| q.word_id.as_str()).collect();
        prop_assert_eq!(ids.len(), questions.len(), "no word asked twice");

        let answer_side = |w: &Word| if reverse { w.word.clone() } else { w.meaning.clone() };
        let list_answers: HashSet<String> = words.iter().map(answer_side).collect();
        for q in &questions {
            let w = words.iter().find(|w| w.id == q.word_id).expect("question about a list word");
            prop_assert_eq!(&q.answer, &answer_side(w));
            prop_assert_eq!(&q.prompt, if reverse { &w.meaning } else { &w.word });
            let shouted = format!(" {} ", q.answer.to_uppercase());
            prop_assert!(is_correct(q, &shouted));
            match &q.choices {
                None => prop_assert_eq!(mode, QuizMode::Typed),
                Some(choices) => {
                    prop_assert_eq!(mode, QuizMode::Choice);
                    prop_assert!(!choices.is_empty() && choices.len() <= CHOICES);
                    prop_assert_eq!(choices.iter().filter(|c| **c == q.answer).count(), 1);
                    let distinct: HashSet<String> = choices.iter().map(|c| normalize(c)).collect();
                    prop_assert_eq!(distinct.len(), choices.len(), "no duplicate choices");
                    prop_assert!(choices.iter().all(|c| list_answers.contains(c)), "distractors from the list");
                    // As many distractors as the list can offer, up to three.
                    let available: HashSet<String> = list_answers
                        .iter()
                        .map(|a| normalize(a))
                        .filter(|a| *a != normalize(&q.answer))
                        .collect();
                    prop_assert_eq!(choices.len(), 1 + available.len().min(CHOICES - 1));
                }
            }
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_quiz() {
    let words: Vec<Word> = (0..10)
        .map(|i| word(i, format!("w{i}"), format!("m{i}")))
        .collect();
    let a = generate(
        &words,
        5,
        QuizMode::Choice,
        Direction::WordToMeaning,
        &mut fastrand::Rng::with_seed(7),
    );
    let b = generate(
        &words,
        5,
        QuizMode::Choice,
        Direction::WordToMeaning,
        &mut fastrand::Rng::with_seed(7),
    );
    assert_eq!(a, b);
}

#[test]
fn a_quiz_planned_over_ids_skips_words_deleted_before_they_were_read() {
    use vocab_api::quiz::Draft;
    let words: Vec<Word> = (0..30)
        .map(|i| word(i, format!("w{i}"), format!("m{i}")))
        .collect();
    let ids: Vec<String> = words.iter().map(|w| w.id.clone()).collect();
    let rng = &mut fastrand::Rng::with_seed(3);
    let mut draft = Draft::new(ids, 10, QuizMode::Choice, Direction::WordToMeaning, rng);
    let mut asked: Vec<String> = Vec::new();
    loop {
        let wanted = draft.wanted(rng);
        if wanted.is_empty() {
            break;
        }
        asked.extend(wanted.iter().cloned());
        // The odd words were deleted after the ids were read: not found.
        let found = words
            .iter()
            .filter(|w| wanted.contains(&w.id))
            .filter(|w| w.id[1..].parse::<usize>().is_ok_and(|i| i % 2 == 0))
            .cloned()
            .collect();
        draft.feed(found);
    }
    let questions = draft.finish(rng);
    assert_eq!(questions.len(), 10, "ten of the fifteen words left");
    let distinct: HashSet<&String> = asked.iter().collect();
    assert_eq!(distinct.len(), asked.len(), "no word asked for twice");
    let even = |id: &str| id[1..].parse::<usize>().is_ok_and(|i| i % 2 == 0);
    for q in &questions {
        assert!(even(&q.word_id), "{q:?}");
        let choices = q.choices.as_ref().expect("choices");
        assert_eq!(choices.len(), CHOICES);
        for c in choices {
            let i: usize = c[1..].parse().expect("m<i>");
            assert_eq!(i % 2, 0, "a distractor that was found: {c}");
        }
    }
}
