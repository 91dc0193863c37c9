// A streamed LLM answer you stop with a key: `s` (or Ctrl-C) aborts the stream, so the
// server cancels the request and frees its slot. Runs against the embedded andon server
// (no other process); with any OpenAI-compatible server, point baseURL at it instead.
//
// Run: npm run build && node examples/chat/keyboard-stream.mjs   (in a terminal)
import { createEmbeddedServer } from '@andon/server';
import OpenAI from 'openai';

const app = createEmbeddedServer({ logger: (await import('pino')).pino({ level: 'silent' }) });
const openai = new OpenAI({ baseURL: `${await app.listen()}/v1`, apiKey: 'unused' });
const stop = new AbortController();

const onKey = (key) => (key === 's' || key === '\x03') && stop.abort();
if (process.stdin.isTTY)
  process.stdin
    .setRawMode(true)
    .resume()
    .on('data', (d) => onKey(`${d}`));
console.log('(press s to stop)');
try {
  const stream = await openai.chat.completions.create(
    { model: 'andon-sim', stream: true, messages: [{ role: 'user', content: 'Tell me a story' }] },
    { signal: stop.signal },
  );
  // An abort mid-stream ends this loop quietly (the SDK's choice); before, it throws.
  for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? '');
} catch (error) {
  if (!(error instanceof OpenAI.APIUserAbortError)) throw error;
} finally {
  if (stop.signal.aborted) {
    // The server sees the client leave a moment later; show it once the slot is free.
    while (app.engine.stats().slotsBusy > 0) await new Promise((r) => setTimeout(r, 5));
    console.log(`\n[stopped: ${JSON.stringify(app.engine.stats().cancelled)} on the engine]`);
  } else console.log('\n[done]');
  if (process.stdin.isTTY) process.stdin.setRawMode(false).pause();
  await app.close();
}
