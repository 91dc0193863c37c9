import type { Context } from '@andon/context';

/**
 * A request handler: gets the request and its incoming Context; returns an async iterable
 * (a stream), a promise of one, or a value / promise of a value (a single response).
 */
export type Handler<Req = unknown, Item = unknown> = (
  request: Req,
  context: Context,
) => AsyncIterable<Item> | Promise<AsyncIterable<Item>> | Promise<Item> | Item;
