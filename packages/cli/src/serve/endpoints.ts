import type { Endpoint, Runtime } from '@andon/runtime';
import type { EngineChunk, EngineRequest } from '@andon/server';

/** The component that serves the simulated engine: `<namespace>/engine/generate`. */
export const ENGINE = 'engine';
/** The middle router's component: `<namespace>/router/generate`. */
export const ROUTER = 'router';

/** Where `component` serves generation requests, typed for the engine's requests and chunks. */
export function generateEndpoint(
  rt: Runtime,
  namespace: string,
  component: typeof ENGINE | typeof ROUTER,
): Endpoint<EngineRequest, EngineChunk> {
  return rt
    .namespace(namespace)
    .component(component)
    .endpoint<EngineRequest, EngineChunk>('generate');
}

/** The line a serving tier prints on stdout once discovery publishes it. */
export function readyLine(tier: string, path: string, instanceId: string, extra = ''): string {
  return `${tier} ready: serving ${path} as instance ${instanceId}${extra}`;
}

/** Matches {@link readyLine}; group 1 is the instance id, group 2 the metrics URL if any. */
export const READY_LINE = /^\w+ ready: serving \S+ as instance (\S+)(?: \(metrics (\S+)\))?$/;
