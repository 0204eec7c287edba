import { Random } from "./random.js";

/** Words the notes of the bench's payloads are made of. */
export const VOCABULARY_SIZE = 2_000;

const CONSONANTS = "bdfgklmnprstvz";
const VOWELS = "aeiou";
/** Endings that keep every word a single lowercase token with no digits, as 'simple' parses it. */
const ENDINGS = ["", "n", "r", "s", "l"];

/**
 * The vocabulary, most frequent first: two-syllable pseudo-words ("dorel", "kamis"), shuffled
 * by a fixed seed so that frequency does not follow the alphabet. Made up rather than English
 * so no word is also a type, a region, an error message word or a PostgreSQL stop word, and a
 * search for one matches only the notes that hold it.
 */
export const VOCABULARY: readonly string[] = buildVocabulary();

function buildVocabulary(): readonly string[] {
  const syllables: string[] = [];
  for (const c of CONSONANTS) for (const v of VOWELS) syllables.push(c + v);
  const words: string[] = [];
  for (const first of syllables) for (const second of syllables) for (const end of ENDINGS) words.push(first + second + end);
  const rng = new Random(0x766f6361);
  // Fisher-Yates; the list is large enough (24,500) that the first 2,000 look random.
  for (let i = words.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [words[i], words[j]] = [words[j] as string, words[i] as string];
  }
  return Object.freeze(words.slice(0, VOCABULARY_SIZE));
}
