import type { NatsModule, RuntimeOptions } from '../runtime-options.js';
import type { RuntimeNats } from './connect.js';

/**
 * Loads the NATS client (only runtimes that use NATS pay for it) and connects. Throws a
 * TypeError naming a bad option, or Disconnected; neither ever holds a credential.
 */
export async function openNats(
  options: RuntimeOptions,
): Promise<{ module: NatsModule; handle: RuntimeNats }> {
  const module = await import('./internal.js');
  try {
    const handle = await module.connectNats({
      ...(options.natsUrl === undefined ? {} : { servers: options.natsUrl }),
      ...(options.natsUser === undefined ? {} : { user: options.natsUser }),
      ...(options.natsPassword === undefined ? {} : { password: options.natsPassword }),
      ...(options.natsToken === undefined ? {} : { token: options.natsToken }),
      ...(options.natsTls === undefined ? {} : { tls: options.natsTls }),
      name: `andon-${process.pid}`,
    });
    return { module, handle };
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    // Name the options as the caller spelled them.
    const names: Record<string, string> = {
      servers: 'natsUrl',
      user: 'natsUser',
      password: 'natsPassword',
      token: 'natsToken',
      tls: 'natsTls',
    };
    throw new TypeError(
      `Runtime.start: ${error.message.replace(/options\.(servers|user|password|token|tls)\b/g, (_m, k: string) => `options.${names[k]}`)}`,
    );
  }
}
