/**
 * "No timeout" for APIs that take milliseconds: the largest delay a Node timer holds
 * (2^31 - 1 ms, about 24.8 days); anything longer fires at once.
 */
export const FOREVER_MS = 2_147_483_647;
