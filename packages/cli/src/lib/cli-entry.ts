import { fileURLToPath } from 'node:url';

/**
 * This CLI's entry point (dist/bin.js), which child tiers are started from: the demo's three
 * tiers and serve's workers. Resolved from this file, so it is right wherever the package is.
 */
export function cliEntry(): string {
  return fileURLToPath(new URL('../bin.js', import.meta.url));
}
