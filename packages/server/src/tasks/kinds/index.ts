import type { TaskManager } from '@andon/tasks';
import type { CompletionBackend } from '../../backend.js';
import { count, countOptions } from './count.js';
import { fetchOptions, fetchUrl } from './fetch.js';
import { type CompleteSetup, complete, completeOptions } from './llm-complete.js';

export type { CountInput } from './count.js';
export type { FetchInput, FetchResult } from './fetch.js';
export type { CompleteInput, CompleteResult, CompleteSetup } from './llm-complete.js';

/** Options of {@link defineBuiltinKinds}. */
export interface BuiltinKindsOptions extends Partial<Omit<CompleteSetup, 'backend'>> {
  /** What `llm/Complete` generates with: the engine, or a runtime client of the workers. */
  backend: CompletionBackend;
}

/**
 * Defines the kinds `andon serve` offers out of the box: `demo/Count { n, intervalMs }`,
 * `demo/Fetch { url }` and `llm/Complete { prompt, max_tokens }`.
 *
 * @example
 * const tasks = await TaskManager.open();
 * defineBuiltinKinds(tasks, { backend: new SimulatedEngine() });
 * await tasks.create('demo', 'Count', { n: 3, intervalMs: 100 });
 */
export function defineBuiltinKinds(tasks: TaskManager, options: BuiltinKindsOptions): void {
  const setup: CompleteSetup = {
    backend: options.backend,
    model: options.model ?? 'andon-sim',
    maxTokensLimit: options.maxTokensLimit ?? 4096,
    defaultMaxTokens: options.defaultMaxTokens ?? 256,
  };
  tasks.define('demo', 'Count', count, countOptions);
  tasks.define('demo', 'Fetch', fetchUrl, fetchOptions);
  tasks.define('llm', 'Complete', complete(setup), completeOptions(setup));
}
