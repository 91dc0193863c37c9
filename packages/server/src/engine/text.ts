// Deterministic "model output": a seeded PRNG picking words from a fixed list. Enough to
// look like prose in a terminal, and repeatable so tests can compare runs.

const WORDS = [
  'the',
  'a',
  'signal',
  'request',
  'stream',
  'token',
  'worker',
  'engine',
  'context',
  'slot',
  'queue',
  'cancel',
  'stop',
  'reaches',
  'every',
  'tier',
  'quickly',
  'and',
  'then',
  'while',
  'model',
  'answer',
  'user',
  'network',
  'server',
  'frees',
  'its',
  'memory',
  'for',
  'next',
  'one',
  'of',
  'many',
  'small',
  'pieces',
  'work',
  'decodes',
  'together',
  'with',
  'others',
  'pull',
  'cord',
  'line',
  'halts',
  'at',
  'once',
  'nothing',
  'else',
  'is',
  'lost',
  'when',
  'client',
  'leaves',
  'early',
  'budget',
  'deadline',
  'passes',
  'through',
  'middle',
  'router',
] as const;

/** mulberry32: tiny, fast, good enough for fake text; returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over UTF-16 code units: the default seed of a prompt. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A rough token count (words and punctuation runs), at least 1: drives the prefill time. */
export function countTokens(text: string): number {
  const matches = text.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]+/gu);
  return Math.max(1, matches?.length ?? 0);
}

/** Produces one "token" (a word with its leading space and punctuation) per call. */
export class TextGenerator {
  #random: () => number;
  #count = 0;
  #sentenceStart = true;

  constructor(random: () => number) {
    this.#random = random;
  }

  next(): string {
    const random = this.#random;
    let word: string = WORDS[Math.floor(random() * WORDS.length)]!;
    if (this.#sentenceStart) word = word[0]!.toUpperCase() + word.slice(1);
    const roll = random();
    this.#sentenceStart = roll < 0.08;
    const punctuation = this.#sentenceStart ? '.' : roll < 0.14 ? ',' : '';
    const token = `${this.#count === 0 ? '' : ' '}${word}${punctuation}`;
    this.#count++;
    return token;
  }
}
