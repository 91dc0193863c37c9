// The dashboard in a real browser: the system Chromium driven by playwright-core, against an
// embedded server with tasks. Every wait is on the page's state (locators wait on their own).
// Set ANDON_DASHBOARD_SCREENSHOT=path to also save the screenshot the README shows.

import { existsSync } from 'node:fs';
import { TaskManager } from '@andon/tasks';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { ApiKeys, defineBuiltinKinds } from '../src/index.js';
import { chatBody, startApp, type TestApp } from './helpers.js';

const CHROMIUM = process.env.ANDON_CHROMIUM ?? '/usr/bin/chromium';
const WAIT = { timeout: 15_000 };
const ALICE = 'sk-alice-0123456789abcdef';

let browser: Browser;
const apps: TestApp[] = [];
const pages: Page[] = [];

beforeAll(async () => {
  // A missing browser fails the suite: a skipped browser test would hide a broken page.
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `the dashboard test drives Chromium at ${CHROMIUM}, which is missing: install it (apt-get install chromium) or set ANDON_CHROMIUM to its path`,
    );
  }
  browser = await chromium.launch({ executablePath: CHROMIUM });
}, 30_000);

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  await Promise.all(pages.splice(0).map((page) => page.close()));
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

interface DashboardApp extends TestApp {
  tasks: TaskManager;
}

// One slot and one task of a kind at a time, so a second request of a kind waits in the queue.
async function start(apiKeys?: ApiKeys, port = 0): Promise<DashboardApp> {
  const tasks = await TaskManager.open({ concurrency: 1 });
  const app = await startApp({
    tasks,
    port,
    ...(apiKeys ? { apiKeys } : {}),
    engine: { slots: 1, tokenMs: 20, naturalLength: { min: 100_000, max: 100_000 } },
  });
  defineBuiltinKinds(tasks, { backend: app.engine });
  apps.push(app);
  return Object.assign(app, { tasks });
}

/** Opens the page; `errors` collects console errors and uncaught exceptions. */
async function open(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  pages.push(page);
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(error.message));
  const response = await page.goto(url);
  expect(response?.status()).toBe(200);
  return { page, errors };
}

/** Submits through the form; without `input`, with the form's default for the kind. */
async function submit(page: Page, kind: string, input?: unknown): Promise<string> {
  await page.getByLabel('Kind').selectOption(kind);
  if (input !== undefined) await page.getByLabel('Input (JSON)').fill(JSON.stringify(input));
  await page.getByRole('button', { name: 'Submit' }).click();
  const answer = page.locator('#submit-answer', { hasText: /^(Queued|Started) / });
  await answer.waitFor(WAIT);
  // The answer names the request by its first 8 characters; the row has the whole id.
  const prefix = (await answer.textContent())!.split(' ')[1]!.slice(0, 8);
  const row = page.locator(`tr[data-request-id^="${prefix}"]`).first();
  await row.waitFor(WAIT);
  // The next submit must not read this answer again.
  await page.evaluate(() => {
    document.getElementById('submit-answer')!.textContent = '';
  });
  return (await row.getAttribute('data-request-id'))!;
}

function row(page: Page, table: string, id: string): Locator {
  return page.locator(`#${table} tr[data-request-id="${id}"]`);
}

async function taskStatus(app: TestApp, id: string): Promise<string> {
  const response = await fetch(`${app.url}/v1/tasks/${id}`);
  return ((await response.json()) as { status: string }).status;
}

describe('the dashboard', () => {
  it('serves the page and its assets with their types and a strict CSP, without a key', async () => {
    const app = await start(ApiKeys.parse(`${ALICE} alice`));
    for (const [path, type] of [
      ['/', 'text/html'],
      ['/dashboard.js', 'text/javascript'],
      ['/dashboard.css', 'text/css'],
      ['/favicon.svg', 'image/svg+xml'],
    ] as const) {
      const response = await fetch(`${app.url}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain(type);
      expect(response.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      const again = await fetch(`${app.url}${path}`, {
        headers: { 'if-none-match': response.headers.get('etag')! },
      });
      expect(again.status).toBe(304);
    }
    // The data stays behind the key.
    expect((await fetch(`${app.url}/v1/tasks`)).status).toBe(401);
  });

  it('submits tasks from the form, shows them queued, running and finished, and cancel and interrupt free the slot', async () => {
    const app = await start();
    const { page, errors } = await open(app.url);
    await page.getByRole('status').filter({ hasText: 'Connected' }).waitFor(WAIT);

    // A quick one that finishes, so the finished list has a row.
    const counted = await submit(page, 'demo/Count', { n: 3, intervalMs: 20 });
    await row(page, 'finished', counted).filter({ hasText: 'completed' }).waitFor(WAIT);
    await row(page, 'finished', counted).filter({ hasText: '{"counted":3}' }).waitFor(WAIT);
    // The default input of demo/Fetch downloads the page's own script.
    await page.getByLabel('Input (JSON)').fill('');
    const fetched = await submit(page, 'demo/Fetch');
    await row(page, 'finished', fetched).filter({ hasText: '"status":200' }).waitFor(WAIT);

    // An llm/Complete takes the engine's one slot and shows its tokens as they come.
    const generating = await submit(page, 'llm/Complete', {
      prompt: 'Tell me about cancellation.',
      max_tokens: 4000,
    });
    await row(page, 'running', generating)
      .locator('.mono', { hasText: /[1-9]\d* tokens/ })
      .waitFor(WAIT);
    // A second one waits for the first (one task of a kind at a time).
    const waiting = await submit(page, 'llm/Complete', { prompt: 'And then?', max_tokens: 10 });
    await row(page, 'queued', waiting).waitFor(WAIT);
    // A count shows a bar.
    const counting = await submit(page, 'demo/Count', { n: 100, intervalMs: 200 });
    await row(page, 'running', counting).locator('progress').waitFor(WAIT);
    await row(page, 'running', counting)
      .locator('.progress', { hasText: /[1-9]\d* \/ 100/ })
      .waitFor(WAIT);

    // An OpenAI completion in flight shows too (it waits for the engine's one slot).
    const abort = new AbortController();
    const completion = fetch(`${app.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...chatBody(), stream: true, max_tokens: 50 }),
      signal: abort.signal,
    });
    await page.locator('#completions tbody tr', { hasText: 'andon-sim' }).waitFor(WAIT);

    const screenshot = process.env.ANDON_DASHBOARD_SCREENSHOT;
    if (screenshot) await page.screenshot({ path: screenshot });

    abort.abort();
    await completion.then((response) => response.body?.cancel()).catch(() => {});
    await page.locator('#completions').waitFor({ ...WAIT, state: 'hidden' });

    // Cancel the waiting one: it leaves the queue and ends cancelled.
    await row(page, 'queued', waiting)
      .getByRole('button', { name: /^Cancel / })
      .click();
    await page
      .locator('#answers li', { hasText: `Cancelled ${waiting.slice(0, 8)}` })
      .waitFor(WAIT);
    await row(page, 'queued', waiting).waitFor({ ...WAIT, state: 'detached' });
    await row(page, 'finished', waiting).filter({ hasText: 'Cancelled by user' }).waitFor(WAIT);

    // Interrupt the generating one: the engine's slot is free at once.
    expect(app.engine.stats().slotsBusy).toBe(1);
    await row(page, 'running', generating)
      .getByRole('button', { name: /^Interrupt / })
      .click();
    await page.locator('#answers li', { hasText: 'Generation interrupted by user' }).waitFor(WAIT);
    await row(page, 'finished', generating).filter({ hasText: 'cancelled' }).waitFor(WAIT);
    await waitFor(() => app.engine.stats().slotsBusy === 0, 'the engine slot to be freed');
    expect(await taskStatus(app, generating)).toBe('cancelled');

    await row(page, 'running', counting)
      .getByRole('button', { name: /^Interrupt / })
      .click();
    await page.locator('#answers li', { hasText: 'Analysis interrupted by user' }).waitFor(WAIT);
    await row(page, 'finished', counting).filter({ hasText: 'cancelled' }).waitFor(WAIT);
    await page.locator('#running').waitFor({ ...WAIT, state: 'hidden' });
    expect(app.tasks.stats().every((kind) => kind.running === 0 && kind.queued === 0)).toBe(true);
    expect(await taskStatus(app, waiting)).toBe('cancelled');
    expect(errors).toEqual([]);
  });

  it('with API keys, asks for a key, says when one is refused, and works once a good one is given', async () => {
    const app = await start(ApiKeys.parse(`${ALICE} alice`));
    const { page, errors } = await open(app.url);
    await page.getByRole('alert').filter({ hasText: 'needs an API key' }).waitFor(WAIT);

    await page.getByLabel('API key').fill('sk-wrong-0123456789abcdef');
    await page.getByRole('button', { name: 'Use key' }).click();
    await page.getByRole('alert').filter({ hasText: 'refused this API key' }).waitFor(WAIT);

    await page.getByLabel('API key').fill(ALICE);
    await page.getByRole('button', { name: 'Use key' }).click();
    await page.getByRole('status').filter({ hasText: 'Connected as alice' }).waitFor(WAIT);
    expect(await page.getByRole('alert').isHidden()).toBe(true);
    const id = await submit(page, 'demo/Count', { n: 2, intervalMs: 10 });
    await row(page, 'finished', id).filter({ hasText: 'completed' }).waitFor(WAIT);
    await row(page, 'finished', id).filter({ hasText: 'alice' }).waitFor(WAIT);

    // The key is kept for the tab: a reload signs in again without asking.
    await page.reload();
    await page.getByRole('status').filter({ hasText: 'Connected as alice' }).waitFor(WAIT);
    await row(page, 'finished', id).waitFor(WAIT);
    expect(errors).toEqual([]);
  });

  it('reconnects after the server goes away, and carries on where it was', async () => {
    const first = await start();
    const { page, errors } = await open(first.url);
    await page.getByRole('status').filter({ hasText: 'Connected' }).waitFor(WAIT);
    const done = await submit(page, 'demo/Count', { n: 1, intervalMs: 0 });
    await row(page, 'finished', done).waitFor(WAIT);

    const port = Number(new URL(first.url).port);
    apps.splice(apps.indexOf(first), 1);
    await first.close();
    await page.getByRole('status').filter({ hasText: 'reconnecting' }).waitFor(WAIT);

    // A new server on the same port: the page finds it by itself and shows its state.
    const second = await start(undefined, port);
    await page
      .getByRole('status')
      .filter({ hasText: /^Connected/ })
      .waitFor(WAIT);
    const again = await submit(page, 'demo/Count', { n: 2, intervalMs: 10 });
    await row(page, 'finished', again).filter({ hasText: 'completed' }).waitFor(WAIT);
    expect(await taskStatus(second, again)).toBe('completed');
    // The browser reports each refused connection while the server was away; nothing else.
    expect(errors.filter((e) => !/WebSocket connection to .* failed/.test(e))).toEqual([]);
  });
});
