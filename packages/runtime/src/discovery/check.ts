import { checkName, type EndpointKey, type Instance } from './discovery.js';

/** Parses `text` as a JSON object. Throws an Error saying what is wrong with it. */
export function parseJsonObject(text: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error('not valid JSON');
  }
  if (typeof raw !== 'object' || raw === null)
    throw new Error(`expected an object, got ${describe(raw)}`);
  return raw as Record<string, unknown>;
}

/**
 * Validates an endpoint key and returns a frozen copy, so that a caller mutating its object
 * later cannot change what a discovery keys on. Throws a TypeError naming the bad field.
 */
export function checkKey(value: unknown): EndpointKey {
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`endpoint key must be an object, got ${describe(value)}`);
  }
  const key = value as Record<string, unknown>;
  return Object.freeze({
    namespace: checkName('namespace', key.namespace),
    component: checkName('component', key.component),
    endpoint: checkName('endpoint', key.endpoint),
  });
}

/**
 * Validates an instance and returns a frozen copy. The instance id obeys the same rules as
 * the names because file discovery uses it as a file name, and every discovery must accept
 * the same instances so that switching discoveries never breaks a runtime.
 */
export function checkInstance(value: unknown): Instance {
  const key = checkKey(value);
  const raw = value as Record<string, unknown>;
  const instanceId = checkName('instanceId', raw.instanceId);
  if (typeof raw.transport !== 'string' || raw.transport === '') {
    throw new TypeError(
      `instance transport must be a non-empty string, got ${describe(raw.transport)}`,
    );
  }
  if (typeof raw.address !== 'string') {
    throw new TypeError(`instance address must be a string, got ${describe(raw.address)}`);
  }
  const instance: Instance = {
    ...key,
    instanceId,
    transport: raw.transport,
    address: raw.address,
  };
  if (raw.metadata === undefined) return Object.freeze(instance);
  return Object.freeze({ ...instance, metadata: checkMetadata(raw.metadata) });
}

function checkMetadata(value: unknown): Readonly<Record<string, string>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`instance metadata must be an object of strings, got ${describe(value)}`);
  }
  const copy: Record<string, string> = {};
  for (const [name, item] of Object.entries(value)) {
    if (typeof item !== 'string') {
      throw new TypeError(`instance metadata.${name} must be a string, got ${describe(item)}`);
    }
    copy[name] = item;
  }
  return Object.freeze(copy);
}

/** Same endpoint, id, transport, address and metadata. */
export function sameInstance(a: Instance, b: Instance): boolean {
  return canonical(a) === canonical(b);
}

function canonical(instance: Instance): string {
  const metadata = instance.metadata ?? {};
  const sorted = Object.keys(metadata)
    .sort()
    .map((name) => [name, metadata[name]]);
  return JSON.stringify([
    instance.namespace,
    instance.component,
    instance.endpoint,
    instance.instanceId,
    instance.transport,
    instance.address,
    sorted,
  ]);
}

/** Checks a listener argument. */
export function checkListener(value: unknown): (change: never) => void {
  if (typeof value !== 'function') {
    throw new TypeError(`onChange must be a function, got ${describe(value)}`);
  }
  return value as (change: never) => void;
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${typeof value} ${String(value)}`;
}
