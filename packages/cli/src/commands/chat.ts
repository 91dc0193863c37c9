import type { Command } from 'commander';
import { baseUrlOf, type ChatServer, startEmbedded } from '../chat/chat-server.js';
import { ChatSession } from '../chat/session.js';
import { exitWith } from '../lib/action.js';
import { parseInteger } from '../lib/options.js';
import { commandPrefix, note } from '../lib/output.js';
import { addEngineOptions, type EngineFlags, engineOptions } from '../serve/engine-options.js';

interface ChatFlags extends EngineFlags {
  prompt?: string;
  url?: string;
  model: string;
  maxTokens?: number;
  apiKey?: string;
}

const PREFIX = commandPrefix('chat');

/**
 * Registers `andon chat [PROMPT]`: a streamed answer from any OpenAI-compatible server,
 * with keys to pause, resume and stop it (docs/PAUSE.md).
 */
export function registerChat(program: Command): void {
  const chat = program
    .command('chat [prompt]')
    .description(
      'stream a chat completion: PROMPT answers once, without it a prompt loop. Keys while it streams: space pause/resume, s or Esc stop, Ctrl-C stop (twice within 2 s: exit 130), q quit. Without --url it runs the embedded andon server in this process',
    )
    .option('--url <url>', 'an OpenAI-compatible server (default: the embedded andon server)')
    .option('--model <name>', 'the model', 'andon-sim')
    .option('--max-tokens <n>', 'the longest answer, in tokens', parseInteger(1))
    .option('--api-key <key>', 'the API key for --url (default: $OPENAI_API_KEY)');
  addEngineOptions(chat).action((prompt: string | undefined, flags: ChatFlags) =>
    exitWith(runChat, 'chat')({ ...flags, ...(prompt === undefined ? {} : { prompt }) }),
  );
}

async function runChat(flags: ChatFlags): Promise<number> {
  let server: ChatServer;
  if (flags.url !== undefined) {
    server = { baseURL: baseUrlOf(flags.url), embedded: false, close: async () => {} };
  } else {
    server = await startEmbedded(engineOptions(flags));
    // On stderr, so a script (or a test) can find the embedded server, e.g. its /metrics.
    note(PREFIX, `embedded andon server at ${server.baseURL.replace(/\/v1$/, '')}`);
  }
  try {
    const session = new ChatSession({
      baseURL: server.baseURL,
      apiKey: flags.apiKey ?? (process.env.OPENAI_API_KEY || undefined),
      model: flags.model,
      maxTokens: flags.maxTokens,
    });
    return await session.run(flags.prompt);
  } finally {
    await server.close();
  }
}
