//! Quiz generation and answer checking, free of I/O so their properties can be tested.

use std::collections::HashSet;

use crate::model::{Direction, Question, QuizMode, Word};

/// Choices per multiple-choice question (the answer and up to three distractors).
pub const CHOICES: usize = 4;

/// Up to `count` questions, each about a different word of `words` (fewer when the list is
/// smaller). Multiple-choice distractors are other answers from the same list, never equal
/// (after [`normalize`]) to the answer or to each other.
pub fn generate(
    words: &[Word],
    count: usize,
    mode: QuizMode,
    direction: Direction,
    rng: &mut fastrand::Rng,
) -> Vec<Question> {
    let side = |w: &Word| match direction {
        Direction::WordToMeaning => (w.word.clone(), w.meaning.clone()),
        Direction::MeaningToWord => (w.meaning.clone(), w.word.clone()),
    };
    let mut order: Vec<usize> = (0..words.len()).collect();
    rng.shuffle(&mut order);
    order.truncate(count);
    order
        .into_iter()
        .map(|i| {
            let (prompt, answer) = side(&words[i]);
            let choices = (mode == QuizMode::Choice).then(|| {
                let mut seen: HashSet<String> = HashSet::from([normalize(&answer)]);
                let mut pool: Vec<String> = words
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, w)| side(w).1)
                    .filter(|a| seen.insert(normalize(a)))
                    .collect();
                rng.shuffle(&mut pool);
                pool.truncate(CHOICES - 1);
                pool.push(answer.clone());
                rng.shuffle(&mut pool);
                pool
            });
            Question {
                word_id: words[i].id.clone(),
                prompt,
                choices,
                answer,
            }
        })
        .collect()
}

/// Whether `given` answers `question`: equal after [`normalize`].
pub fn is_correct(question: &Question, given: &str) -> bool {
    normalize(given) == normalize(&question.answer)
}

/// Trimmed, inner whitespace collapsed, lower-cased (Hangul has no case, so Korean compares
/// as typed).
pub fn normalize(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}
