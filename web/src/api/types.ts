// The vocab API's shapes, as vocab-api/README.md and docs/CONTRACTS.md (section A) define them.

export interface WordList {
  id: string;
  name: string;
  source_lang: string;
  target_lang: string;
  word_count: number;
  learned_count: number;
  notebook_count: number;
  favorite: boolean;
  created_at: string;
  updated_at: string;
}

export interface Word {
  id: string;
  list_id: string;
  word: string;
  meaning: string;
  memo: string;
  learned: boolean;
  in_notebook: boolean;
  right_count: number;
  wrong_count: number;
  created_at: string;
  updated_at: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export type QuizMode = 'choice' | 'typed';
export type Direction = 'word_to_meaning' | 'meaning_to_word';

export interface Question {
  word_id: string;
  prompt: string;
  choices?: string[] | null;
}

export interface Quiz {
  id: string;
  list_id: string;
  mode: QuizMode;
  direction: Direction;
  requested: number;
  count: number;
  questions: Question[];
}

export interface QuizResultItem {
  word_id: string;
  prompt: string;
  given: string;
  expected: string;
  correct: boolean;
}

export interface QuizResult {
  quiz_id: string;
  list_id: string;
  score: number;
  total: number;
  results: QuizResultItem[];
}

export interface Profile {
  user_id: string;
  created_at: string;
  lists: number;
  words: number;
  learned: number;
  quizzes_taken: number;
  answers_right: number;
  answers_wrong: number;
}

export interface NotebookSummary {
  list: WordList;
  count: number;
}

export interface BatchDeleteResult {
  deleted: string[];
  not_found: string[];
}

export interface NewWord {
  word: string;
  meaning: string;
  memo?: string;
}

export interface WordPatch {
  word?: string;
  meaning?: string;
  memo?: string;
  learned?: boolean;
}

export interface WordQuery {
  learned?: boolean;
  q?: string;
  min_wrong?: number;
  limit?: number;
  cursor?: string;
}

/** One event for `POST /client-events` (CONTRACTS.md section A). */
export interface ClientEvent {
  type: 'error' | 'api_error' | 'page_load';
  page: string;
  message?: string;
  error_type?: string;
  stack?: string;
  api_method?: string;
  api_path?: string;
  /** HTTP status the browser saw; 0 = the request never got an answer. */
  status?: number;
  duration_ms?: number;
}
