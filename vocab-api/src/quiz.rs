//! Quiz generation and answer checking, free of I/O so their properties can be tested.
//!
//! A quiz is planned over a list known only by its word ids ([`Draft`]): it picks the
//! question words, and for a multiple-choice quiz the distractor words, at random, and asks
//! the store for just those words (a few rounds when some turn out to be gone or to repeat an
//! answer). So making a quiz of 10 questions reads about 40 words, whatever the list's size.

use std::collections::{HashMap, HashSet};

use crate::model::{Direction, Question, QuizMode, Word};

/// Choices per multiple-choice question (the answer and up to three distractors).
pub const CHOICES: usize = 4;

/// Up to `count` questions, each about a different word of `words` (fewer when the list is
/// smaller). Multiple-choice distractors are other answers from the same list, never equal
/// (after [`normalize`]) to the answer or to each other. The same plan as [`Draft`], with
/// every word at hand.
pub fn generate(
    words: &[Word],
    count: usize,
    mode: QuizMode,
    direction: Direction,
    rng: &mut fastrand::Rng,
) -> Vec<Question> {
    let ids: Vec<String> = words.iter().map(|w| w.id.clone()).collect();
    let by_id: HashMap<&str, &Word> = words.iter().map(|w| (w.id.as_str(), w)).collect();
    let mut draft = Draft::new(ids, count, mode, direction, rng);
    loop {
        let wanted = draft.wanted(rng);
        if wanted.is_empty() {
            break;
        }
        let found = wanted
            .iter()
            .filter_map(|id| by_id.get(id.as_str()).map(|w| (*w).clone()))
            .collect();
        draft.feed(found);
    }
    draft.finish(rng)
}

/// A quiz being planned over a list's word ids: ask [`Draft::wanted`] which words to read,
/// [`Draft::feed`] it what was found (words deleted meanwhile are simply not found), until
/// `wanted` is empty; then [`Draft::finish`]. The first round asks for the question words
/// and three distractor candidates for each at once, so most quizzes take one read.
pub struct Draft {
    ids: Vec<String>,
    count: usize,
    mode: QuizMode,
    direction: Direction,
    /// The list's word indexes in a random order: question words are taken from its front.
    order: Vec<usize>,
    next: usize,
    /// The questions, in the order chosen; a question whose word turns out gone is dropped
    /// (and another word taken from `order`).
    questions: Vec<Slot>,
    words: HashMap<usize, Word>,
    /// Asked for and not found (deleted since the ids were read).
    gone: HashSet<usize>,
    round: u32,
}

/// One question's word and the distractor candidates drawn for it.
struct Slot {
    word: usize,
    /// Every index drawn for this question (and its own), so none is drawn twice.
    tried: HashSet<usize>,
    /// Candidates in the order drawn.
    candidates: Vec<usize>,
}

impl Draft {
    pub fn new(
        ids: Vec<String>,
        count: usize,
        mode: QuizMode,
        direction: Direction,
        rng: &mut fastrand::Rng,
    ) -> Draft {
        let mut order: Vec<usize> = (0..ids.len()).collect();
        rng.shuffle(&mut order);
        Draft {
            ids,
            count,
            mode,
            direction,
            order,
            next: 0,
            questions: Vec::new(),
            words: HashMap::new(),
            gone: HashSet::new(),
            round: 0,
        }
    }

    /// The ids of the words to read next (each asked for once); empty when the plan is done.
    pub fn wanted(&mut self, rng: &mut fastrand::Rng) -> Vec<String> {
        // Question words: more of them while some were found gone.
        while self.questions.len() < self.count && self.next < self.order.len() {
            let word = self.order[self.next];
            self.next += 1;
            if self.gone.contains(&word) {
                // Found gone as another question's distractor.
                continue;
            }
            self.questions.push(Slot {
                word,
                tried: HashSet::from([word]),
                candidates: Vec::new(),
            });
        }
        let mut wanted: Vec<usize> = Vec::new();
        let mut asked: HashSet<usize> = HashSet::new();
        for slot in &self.questions {
            if !self.words.contains_key(&slot.word) && asked.insert(slot.word) {
                wanted.push(slot.word);
            }
        }
        if self.mode != QuizMode::Choice {
            return wanted.into_iter().map(|i| self.ids[i].clone()).collect();
        }
        // Distractors: for each question short of three distinct other answers (or not read
        // yet), draw more candidates at random (twice as many each round, so a list full of
        // repeated answers takes a few rounds, not one per word) until it has them or none
        // are left.
        let n = self.ids.len();
        loop {
            let mut drew = false;
            for q in 0..self.questions.len() {
                let short = CHOICES - 1 - self.distractors(q).len();
                let slot = &mut self.questions[q];
                let unread = !self.words.contains_key(&slot.word);
                // A question not read yet gets its first three candidates with it.
                if short == 0 || slot.tried.len() >= n || (unread && !slot.candidates.is_empty()) {
                    continue;
                }
                let k = short.saturating_mul(1 << self.round.min(12));
                for j in draw(rng, n, &mut slot.tried, k) {
                    slot.candidates.push(j);
                    drew = true;
                    if !self.words.contains_key(&j) && !self.gone.contains(&j) && asked.insert(j) {
                        wanted.push(j);
                    }
                }
            }
            if !wanted.is_empty() {
                self.round += 1;
                return wanted.into_iter().map(|i| self.ids[i].clone()).collect();
            }
            if !drew {
                return Vec::new();
            }
        }
    }

    /// The words read for the last [`Draft::wanted`] (in any order): every id it asked for
    /// and not found here is gone.
    pub fn feed(&mut self, found: Vec<Word>) {
        let mut by_id: HashMap<String, Word> =
            found.into_iter().map(|w| (w.id.clone(), w)).collect();
        let unread: Vec<usize> = self
            .questions
            .iter()
            .flat_map(|s| std::iter::once(s.word).chain(s.candidates.iter().copied()))
            .filter(|j| !self.words.contains_key(j) && !self.gone.contains(j))
            .collect();
        for j in unread {
            match by_id.remove(&self.ids[j]) {
                Some(w) => {
                    self.words.insert(j, w);
                }
                None => {
                    if !self.words.contains_key(&j) {
                        self.gone.insert(j);
                    }
                }
            }
        }
        let gone = &self.gone;
        self.questions.retain(|s| !gone.contains(&s.word));
    }

    fn side<'w>(&self, w: &'w Word) -> (&'w str, &'w str) {
        match self.direction {
            Direction::WordToMeaning => (&w.word, &w.meaning),
            Direction::MeaningToWord => (&w.meaning, &w.word),
        }
    }

    /// Question `q`'s distractors so far: the first candidates read whose answers differ
    /// (after [`normalize`]) from its answer and from each other, at most three (none while
    /// its own word is not read).
    fn distractors(&self, q: usize) -> Vec<String> {
        let slot = &self.questions[q];
        let Some(own) = self.words.get(&slot.word) else {
            return Vec::new();
        };
        let mut seen: HashSet<String> = HashSet::from([normalize(self.side(own).1)]);
        let mut out = Vec::new();
        for j in &slot.candidates {
            if out.len() == CHOICES - 1 {
                break;
            }
            if let Some(w) = self.words.get(j) {
                let answer = self.side(w).1;
                if seen.insert(normalize(answer)) {
                    out.push(answer.to_owned());
                }
            }
        }
        out
    }

    /// The questions, in the order their words were chosen.
    pub fn finish(self, rng: &mut fastrand::Rng) -> Vec<Question> {
        (0..self.questions.len())
            .filter_map(|q| {
                let word = self.words.get(&self.questions[q].word)?;
                let (prompt, answer) = self.side(word);
                let choices = (self.mode == QuizMode::Choice).then(|| {
                    let mut choices = self.distractors(q);
                    choices.push(answer.to_owned());
                    rng.shuffle(&mut choices);
                    choices
                });
                Some(Question {
                    word_id: word.id.clone(),
                    prompt: prompt.to_owned(),
                    choices,
                    answer: answer.to_owned(),
                })
            })
            .collect()
    }
}

/// Up to `k` indexes below `n` not in `tried`, uniformly at random (added to `tried`).
fn draw(rng: &mut fastrand::Rng, n: usize, tried: &mut HashSet<usize>, k: usize) -> Vec<usize> {
    let mut out = Vec::new();
    while out.len() < k && tried.len() < n {
        if tried.len() * 2 < n {
            // Mostly untried: rejection sampling is quick.
            let j = rng.usize(..n);
            if tried.insert(j) {
                out.push(j);
            }
        } else {
            let mut rest: Vec<usize> = (0..n).filter(|j| !tried.contains(j)).collect();
            rng.shuffle(&mut rest);
            rest.truncate(k - out.len());
            tried.extend(rest.iter().copied());
            out.extend(rest);
        }
    }
    out
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
