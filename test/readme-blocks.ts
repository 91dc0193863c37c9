import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

// The code blocks of the READMEs and docs, as a reader copies them.
//
// Convention: a ```js, ```mjs or ```ts block is a whole program that runs as written (a
// ```ts block after compiling with tsc's defaults for this repo). A block that is
// deliberately a piece of a larger program says so in its info string, after the
// language: ```ts fragment. Other blocks (sh, json, output) are not code to run.
// `127.0.0.1:PORT` in a runnable block stands for the `andon serve` the reader started,
// and the test starts one.

/** One fenced code block. */
export interface Block {
  /** `README.md:42`: the file, relative to the repository, and the line of the fence. */
  where: string;
  lang: string;
  /** The words after the language in the info string, e.g. `['fragment']`. */
  flags: string[];
  code: string;
}

const RUNNABLE = new Set(['js', 'mjs', 'ts']);

/** The markdown files whose blocks must run: the root README, each package's, docs/. */
export function documents(root: string): string[] {
  const packages = readdirSync(join(root, 'packages'))
    .map((name) => join(root, 'packages', name, 'README.md'))
    .filter(exists);
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(root, 'docs', name));
  return [join(root, 'README.md'), ...packages, ...docs];
}

/** Every fenced block of `file`. */
export function blocks(root: string, file: string): Block[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const found: Block[] = [];
  let open: { line: number; lang: string; flags: string[]; body: string[] } | undefined;
  lines.forEach((line, index) => {
    const fence = /^```(.*)$/.exec(line);
    if (open === undefined) {
      if (fence === null) return;
      const [lang = '', ...flags] = fence[1]!.trim().split(/\s+/).filter(Boolean);
      open = { line: index + 1, lang, flags, body: [] };
    } else if (fence !== null && fence[1]!.trim() === '') {
      found.push({
        where: `${relative(root, file)}:${open.line}`,
        lang: open.lang,
        flags: open.flags,
        code: `${open.body.join('\n')}\n`,
      });
      open = undefined;
    } else open.body.push(line);
  });
  return found;
}

/** Whether the block is code a reader would run. */
export function isCode(block: Block): boolean {
  return RUNNABLE.has(block.lang);
}

/** Whether the block is marked as a piece of a larger program. */
export function isFragment(block: Block): boolean {
  return block.flags.includes('fragment');
}

function exists(file: string): boolean {
  try {
    readFileSync(file);
    return true;
  } catch {
    return false;
  }
}
