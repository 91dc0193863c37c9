import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Principal } from './principal.js';

const USER = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
const MIN_KEY_LENGTH = 16;

/**
 * The API keys a server accepts, from a file of `key user [admin]` lines (`#` starts a
 * comment). Keys are kept only as SHA-256 digests, and looked up by digest, so neither a
 * dump of the process nor the time a lookup takes gives a key away.
 *
 * @example
 * // keys.txt:
 * //   sk-alice-0123456789abcdef  alice
 * //   sk-root-0123456789abcdef   root  admin
 * const keys = await ApiKeys.load('keys.txt');
 * keys.lookup('sk-alice-0123456789abcdef'); // { user: 'alice', admin: false }
 */
export class ApiKeys {
  readonly #byDigest: ReadonlyMap<string, Principal>;

  private constructor(byDigest: Map<string, Principal>) {
    this.#byDigest = byDigest;
  }

  /** Reads and parses the file at `path`. @throws Error naming the file and the bad line. */
  static async load(path: string): Promise<ApiKeys> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new Error(`cannot read the API keys file ${path}: ${(error as Error).message}`);
    }
    return ApiKeys.parse(text, path);
  }

  /**
   * Parses `key user [admin]` lines. Keys must be at least 16 characters and unique; users
   * are 1–64 letters, digits, `_ . @ -`.
   *
   * @throws Error naming `source`, the line number and what is wrong with it.
   */
  static parse(text: string, source = 'API keys'): ApiKeys {
    const byDigest = new Map<string, Principal>();
    const lines = text.split(/\r?\n/);
    for (const [index, raw] of lines.entries()) {
      const line = raw.replace(/#.*/, '').trim();
      if (line === '') continue;
      const where = `${source}, line ${index + 1}`;
      const [key, user, role, ...rest] = line.split(/\s+/);
      if (user === undefined || rest.length > 0 || (role !== undefined && role !== 'admin')) {
        throw new Error(`${where}: expected "key user" or "key user admin"`);
      }
      if (key!.length < MIN_KEY_LENGTH) {
        throw new Error(
          `${where}: the key of ${user} is shorter than ${MIN_KEY_LENGTH} characters`,
        );
      }
      if (!USER.test(user)) {
        throw new Error(
          `${where}: ${JSON.stringify(user)} is not a user name (letters, digits, _ . @ -)`,
        );
      }
      const digest = digestOf(key!);
      if (byDigest.has(digest)) throw new Error(`${where}: this key is listed twice`);
      byDigest.set(digest, Object.freeze({ user, admin: role === 'admin' }));
    }
    if (byDigest.size === 0) throw new Error(`${source}: no keys (lines of "key user [admin]")`);
    return new ApiKeys(byDigest);
  }

  /** The principal `key` belongs to, or `undefined`. */
  lookup(key: string): Principal | undefined {
    return this.#byDigest.get(digestOf(key));
  }

  /** How many keys there are. */
  get size(): number {
    return this.#byDigest.size;
  }
}

function digestOf(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}
