// The andon dashboard: one WebSocket to /v1/ws (the protocol is docs/QUEUE.md). The server
// sends a full `dashboard` snapshot every second; the pushes in between (queue_update,
// status, progress, result) are applied to the last snapshot so the page moves at once.
// Plain DOM, no framework: rows are keyed by request id and updated in place, so a focused
// button keeps its focus while the data changes around it.

const KEY_STORAGE = 'andon.apiKey';
const FINISHED_KEPT = 20;
const ANSWERS_KEPT = 8;
const MAX_BACKOFF_MS = 15_000;

const DEFAULT_INPUTS = {
  'demo/Count': { n: 20, intervalMs: 500 },
  // The page's own script: a download that needs no other server and no key.
  'demo/Fetch': { url: new URL('/dashboard.js', location.href).href },
  'llm/Complete': { prompt: 'Tell me about cancellation.', max_tokens: 128 },
};

const $ = (id) => document.getElementById(id);

const state = {
  /** The last `dashboard` message, with the pushes since applied to it. */
  view: { queued: [], running: [], finished: [], completions: [] },
  /** Everyone's counts from `queue_update` (the rows may be only the user's own). */
  counts: undefined,
  /** Server clock minus ours, so "running for" does not depend on this machine's clock. */
  skewMs: 0,
  /** llm text and tokens so far, from the progress pushes of the user's own requests. */
  texts: new Map(),
  /** Buttons pressed and not answered yet: request id → 'cancel' | 'interrupt'. */
  pending: new Map(),
  /** Submits not answered yet: request id → kind. */
  submits: new Map(),
  user: undefined,
};

let memoryKey = storedKey();
let socket;
let attempt = 0;
let retryTimer;
let renderQueued = false;

// --- the connection -----------------------------------------------------------------------

function storedKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) ?? '';
  } catch {
    return '';
  }
}

function storeKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage disabled: the key then lasts as long as this page.
  }
  memoryKey = key;
}

function connect() {
  clearTimeout(retryTimer);
  const url = new URL('/v1/ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url);
  socket = ws;
  setConnection('connecting', 'Connecting…');
  // Events of a socket that was replaced (a new key) are ignored.
  ws.addEventListener('open', () => {
    if (ws !== socket) return;
    // With a key, `auth` must be the first message; subscribe once it is accepted. Without
    // one, a server with keys closes with 4401, which asks the person for a key.
    if (memoryKey) send({ type: 'auth', api_key: memoryKey });
    else subscribe();
  });
  ws.addEventListener('message', (event) => {
    if (ws === socket) onMessage(event.data);
  });
  ws.addEventListener('close', (event) => {
    if (ws === socket) onClose(event);
  });
}

function reconnectNow() {
  attempt = 0;
  const old = socket;
  socket = undefined;
  old?.close(1000, 'reconnecting');
  connect();
}

function subscribe() {
  send({ type: 'watch_dashboard' });
  // Also after a reconnect: the pushes of the user's requests resume.
  send({ type: 'status' });
  setConnection('open', state.user ? `Connected as ${state.user}` : 'Connected');
}

function onClose(event) {
  markStale(true);
  if (event.code === 4401) {
    // Retrying with the same key would be refused again: wait for the person.
    const why = event.reason ? ` (${event.reason})` : '';
    showAuthProblem(
      memoryKey
        ? `The server refused this API key${why}. Enter another one above.`
        : `This server needs an API key${why}. Enter it above.`,
    );
    setConnection('refused', 'Not signed in');
    $('api-key').focus();
    return;
  }
  // Exponential backoff with jitter, so many open pages do not return all at once.
  const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
  attempt++;
  setConnection('closed', `Disconnected; reconnecting in ${Math.ceil(delay / 1000)} s`);
  retryTimer = setTimeout(connect, delay);
}

function send(message) {
  if (socket?.readyState !== WebSocket.OPEN) {
    addAnswer('Not connected: try again in a moment.', true);
    return false;
  }
  socket.send(JSON.stringify(message));
  return true;
}

// --- messages from the server -------------------------------------------------------------

function onMessage(text) {
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return;
  }
  if (message === null || typeof message !== 'object') return;
  const id = message.request_id;
  switch (message.type) {
    case 'authenticated':
      state.user = message.admin ? `${message.user} (admin)` : message.user;
      hideAuthProblem();
      subscribe();
      break;
    case 'dashboard':
      onDashboard(message);
      break;
    case 'queue_update':
      onQueueUpdate(message);
      break;
    case 'queued':
      onQueued(message);
      break;
    case 'request_cancelled':
      state.pending.delete(id);
      removeRow('queued', id);
      addAnswer(`Cancelled ${short(id)}.`);
      break;
    case 'status':
      if (message.status === 'running') moveToRunning(id);
      break;
    case 'progress':
      onProgress(message);
      break;
    case 'result':
      onResult(message);
      break;
    case 'error':
      onError(message);
      break;
    default:
      break;
  }
  scheduleRender();
}

function onDashboard(message) {
  const at = Date.parse(message.at);
  if (Number.isFinite(at)) state.skewMs = at - Date.now();
  state.view = {
    queued: message.queued ?? [],
    running: message.running ?? [],
    finished: message.finished ?? [],
    completions: message.completions ?? [],
    slots: message.slots,
    cps: message.cancellations_per_second,
    at: message.at,
  };
  if (Number.isFinite(message.queue_size) && Number.isFinite(message.processing)) {
    state.counts = { queued: message.queue_size, running: message.processing };
  }
  // A snapshot arrived: the connection works, so the next drop starts the backoff anew.
  attempt = 0;
  markStale(false);
  const live = new Set([...state.view.running, ...state.view.queued].map((r) => r.request_id));
  for (const id of state.pending.keys()) if (!live.has(id)) state.pending.delete(id);
  const shown = new Set([...live, ...state.view.finished.map((r) => r.request_id)]);
  for (const id of state.texts.keys()) if (!shown.has(id)) state.texts.delete(id);
}

function onQueueUpdate(message) {
  state.counts = { queued: message.queue_size, running: message.processing };
  if (Array.isArray(message.queued_ids)) {
    // The ids are all the rows this user may see, so a row not listed has left the queue.
    const waiting = new Set(message.queued_ids);
    state.view.queued = state.view.queued.filter((row) => waiting.has(row.request_id));
  }
}

function onQueued(message) {
  const id = message.request_id;
  state.submits.delete(id);
  const row = {
    request_id: id,
    kind: message.kind,
    owner: state.user?.replace(/ \(admin\)$/, ''),
    created_at: serverNow(),
    position: message.position,
  };
  if (message.position > 0) {
    upsert('queued', { ...row, status: 'queued' });
    setSubmitAnswer(`Queued ${short(id)} at position ${message.position}.`);
  } else {
    upsert('running', { ...row, status: 'running', started_at: serverNow() });
    setSubmitAnswer(`Started ${short(id)}.`);
  }
}

function onProgress(message) {
  const id = message.request_id;
  const data = message.data;
  if (message.event === 'progress' && data && typeof data.text === 'string') {
    const sofar = state.texts.get(id) ?? { text: '', tokens: 0 };
    sofar.text = (sofar.text + data.text).slice(-2000);
    sofar.tokens += Number.isFinite(data.tokens) ? data.tokens : 0;
    state.texts.set(id, sofar);
  }
  const row = find('running', id) ?? moveToRunning(id);
  if (row) {
    row.progress = data;
    if (Number.isFinite(message.seq)) row.last_seq = message.seq;
  }
}

function onResult(message) {
  const id = message.request_id;
  const row = find('running', id) ?? find('queued', id) ?? { request_id: id };
  removeRow('running', id);
  removeRow('queued', id);
  state.pending.delete(id);
  const done = {
    ...row,
    status: message.status,
    final_value: message.final_value,
    error: message.error,
    reason: message.reason,
    finished_at: serverNow(),
  };
  state.view.finished = [done, ...state.view.finished.filter((r) => r.request_id !== id)].slice(
    0,
    FINISHED_KEPT,
  );
}

function onError(message) {
  const id = message.request_id;
  if (id === undefined) {
    addAnswer(`Server: ${message.error}`, true);
    return;
  }
  if (state.submits.delete(id)) {
    setSubmitAnswer(`Not submitted: ${message.error}`, true);
    return;
  }
  state.pending.delete(id);
  // An interrupt is answered with an `error` that carries its `context`: the expected answer.
  addAnswer(`${short(id)}: ${message.error}`, message.context === undefined);
}

// --- the view's rows ----------------------------------------------------------------------

function find(list, id) {
  return state.view[list].find((row) => row.request_id === id);
}

function removeRow(list, id) {
  state.view[list] = state.view[list].filter((row) => row.request_id !== id);
}

function upsert(list, row) {
  if (!find(list, row.request_id)) state.view[list] = [...state.view[list], row];
}

function moveToRunning(id) {
  const row = find('queued', id);
  if (!row) return find('running', id);
  removeRow('queued', id);
  const running = { ...row, status: 'running', started_at: serverNow() };
  upsert('running', running);
  return running;
}

// --- actions ------------------------------------------------------------------------------

function cancel(id) {
  if (send({ type: 'cancel_request', request_id: id })) {
    state.pending.set(id, 'cancel');
    scheduleRender();
  }
}

function interrupt(id, kind) {
  const context = kind?.startsWith('llm/') ? 'generation' : 'analysis';
  if (send({ type: 'interrupt', request_id: id, context })) {
    state.pending.set(id, 'interrupt');
    scheduleRender();
  }
}

function submitTask(event) {
  event.preventDefault();
  const kind = $('kind').value;
  const field = $('input');
  let input;
  try {
    input = field.value.trim() === '' ? {} : JSON.parse(field.value);
  } catch (error) {
    field.setAttribute('aria-invalid', 'true');
    setSubmitAnswer(`The input is not JSON: ${error.message}`, true);
    return;
  }
  field.removeAttribute('aria-invalid');
  // The page picks the id, so an error about this submit can be told apart from others.
  const id = newRequestId();
  if (send({ type: 'submit', kind, input, request_id: id })) {
    state.submits.set(id, kind);
    setSubmitAnswer(`Submitting ${short(id)}…`);
  }
}

let lastDefault = '';

function fillDefaultInput() {
  const field = $('input');
  // Keep what the person typed; replace only an untouched default.
  if (field.value.trim() !== '' && field.value !== lastDefault) return;
  lastDefault = JSON.stringify(DEFAULT_INPUTS[$('kind').value] ?? {}, null, 2);
  field.value = lastDefault;
  field.removeAttribute('aria-invalid');
}

function newRequestId() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // randomUUID needs a secure context; a page on http://<LAN address> is not one.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

// --- rendering ----------------------------------------------------------------------------

function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function render() {
  const { view, counts } = state;
  // Dashes until the first snapshot: a 0 would claim something the page does not know.
  const known = view.at !== undefined;
  setText($('stat-queued'), String(counts?.queued ?? (known ? view.queued.length : '–')));
  setText($('stat-running'), String(counts?.running ?? (known ? view.running.length : '–')));
  setText($('stat-slots'), view.slots ? `${view.slots.busy} / ${view.slots.total}` : '–');
  setText($('stat-cps'), Number.isFinite(view.cps) ? formatRate(view.cps) : '–');
  setText($('stat-completions'), known ? String(view.completions.length) : '–');
  setText($('stat-at'), view.at ? new Date(view.at).toLocaleTimeString() : '–');

  syncRows('running', view.running, (row) => [
    idCell(row.request_id),
    textCell(row.kind),
    textCell(row.owner),
    progressCell(row),
    textCell(elapsed(row.started_at ?? row.created_at)),
    buttonCell(row, 'interrupt', 'Interrupt', 'Interrupting…', () =>
      interrupt(row.request_id, row.kind),
    ),
  ]);
  syncRows('queued', view.queued, (row) => [
    textCell(row.position > 0 ? String(row.position) : ''),
    idCell(row.request_id),
    textCell(row.kind),
    textCell(row.owner),
    textCell(elapsed(row.created_at)),
    buttonCell(row, 'cancel', 'Cancel', 'Cancelling…', () => cancel(row.request_id)),
  ]);
  syncRows('finished', view.finished, (row) => [
    idCell(row.request_id),
    textCell(row.kind),
    textCell(row.owner),
    badgeCell(row.status),
    textCell(resultText(row), { clip: true }),
    textCell(row.finished_at ? `${elapsed(row.finished_at)} ago` : ''),
  ]);
  syncRows('completions', view.completions, (row) => [
    idCell(row.request_id),
    textCell(row.model),
    textCell(row.stream ? 'yes' : 'no'),
    textCell(elapsed(row.started_at)),
  ]);
}

/** Updates `#tableId`'s body to `rows` in order, reusing the row of each request id. */
function syncRows(tableId, rows, cellsOf) {
  const table = $(tableId);
  const body = table.tBodies[0];
  const old = new Map([...body.rows].map((tr) => [tr.dataset.requestId, tr]));
  let previous = null;
  for (const row of rows) {
    let tr = old.get(row.request_id);
    if (tr) old.delete(row.request_id);
    else {
      tr = document.createElement('tr');
      tr.dataset.requestId = row.request_id;
    }
    const cells = cellsOf(row);
    while (tr.cells.length < cells.length) tr.insertCell();
    cells.forEach((update, i) => {
      update(tr.cells[i]);
    });
    const wanted = previous ? previous.nextSibling : body.firstChild;
    if (tr !== wanted) body.insertBefore(tr, wanted);
    previous = tr;
  }
  for (const tr of old.values()) tr.remove();
  table.hidden = rows.length === 0;
  document.querySelector(`[data-empty-for="${tableId}"]`).hidden = rows.length > 0;
}

function textCell(value, { clip = false } = {}) {
  return (td) => {
    const text = value ?? '';
    if (clip) {
      let span = td.firstElementChild;
      if (!span) {
        span = document.createElement('span');
        span.className = 'clip';
        td.replaceChildren(span);
      }
      setText(span, text);
      span.title = text;
    } else if (td.childElementCount > 0 || td.textContent !== text) {
      td.textContent = text;
    }
  };
}

function idCell(id) {
  return (td) => {
    td.className = 'id';
    setText(td, short(id));
    td.title = id;
  };
}

function badgeCell(status) {
  return (td) => {
    let badge = td.firstElementChild;
    if (!badge) {
      badge = document.createElement('span');
      badge.className = 'badge';
      td.replaceChildren(badge);
    }
    badge.dataset.status = status ?? '';
    setText(badge, (status ?? '').replace('_', ' '));
  };
}

function buttonCell(row, action, label, busyLabel, onClick) {
  return (td) => {
    let button = td.firstElementChild;
    if (!button) {
      button = document.createElement('button');
      button.type = 'button';
      button.className = 'danger';
      // The row's data changes every second; the handler reads the latest through `current`.
      button.addEventListener('click', () => button.current());
      td.replaceChildren(button);
    }
    button.current = onClick;
    const busy = state.pending.get(row.request_id) === action;
    button.disabled = busy;
    setText(button, busy ? busyLabel : label);
    button.setAttribute('aria-label', `${label} ${short(row.request_id)}`);
  };
}

function progressCell(row) {
  return (td) => {
    let box = td.firstElementChild;
    if (!box) {
      box = document.createElement('div');
      box.className = 'progress';
      box.append(document.createElement('progress'), document.createElement('span'));
      td.replaceChildren(box);
    }
    const [bar, label] = box.children;
    const shown = describeProgress(row);
    bar.hidden = shown.max === undefined;
    if (shown.max !== undefined) {
      bar.max = shown.max;
      bar.value = shown.value;
      bar.setAttribute('aria-label', `Progress of ${short(row.request_id)}`);
    }
    label.className = shown.mono ? 'clip mono' : 'clip phase';
    setText(label, shown.text);
    label.title = shown.text;
  };
}

/** What a running row's latest event says: a bar for { step, of } or bytes of a total. */
function describeProgress(row) {
  const p = row.progress;
  if (p === null || typeof p !== 'object') {
    return { text: row.status === 'running' ? 'running' : (row.status ?? '') };
  }
  const phase = typeof p.phase === 'string' ? ` · ${p.phase}` : '';
  if (Number.isFinite(p.step) && Number.isFinite(p.of) && p.of > 0) {
    return { value: p.step, max: p.of, text: `${p.step} / ${p.of}${phase}` };
  }
  if (Number.isFinite(p.bytes)) {
    return Number.isFinite(p.total) && p.total > 0
      ? { value: p.bytes, max: p.total, text: `${formatBytes(p.bytes)} of ${formatBytes(p.total)}` }
      : { text: `${formatBytes(p.bytes)} received` };
  }
  if (typeof p.text === 'string' || Number.isFinite(p.tokens)) {
    const sofar = state.texts.get(row.request_id);
    if (sofar) return { mono: true, text: `${sofar.tokens} tokens · ${tail(sofar.text, 60)}` };
    return { mono: true, text: `${row.last_seq ?? '?'} chunks · ${tail(p.text ?? '', 60)}` };
  }
  if (phase) return { text: `phase: ${p.phase}` };
  if (typeof p.url === 'string') return { text: `starting ${p.url}` };
  return { mono: true, text: clip(JSON.stringify(p), 120) };
}

function resultText(row) {
  if (row.error) return row.error;
  if (row.reason && typeof row.reason === 'object' && row.reason.message) return row.reason.message;
  if (typeof row.reason === 'string') return row.reason;
  const value = row.final_value;
  if (value === undefined || value === null) return '';
  if (typeof value === 'object' && typeof value.text === 'string') {
    const tokens = value.usage?.completion_tokens;
    return `${clip(value.text, 90)}${tokens === undefined ? '' : ` (${tokens} tokens)`}`;
  }
  return clip(JSON.stringify(value), 160);
}

// --- small helpers ------------------------------------------------------------------------

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function setConnection(stateName, text) {
  const node = $('connection');
  node.dataset.state = stateName;
  setText(node, text);
}

function showAuthProblem(text) {
  const node = $('auth-problem');
  setText(node, text);
  node.hidden = false;
}

function hideAuthProblem() {
  $('auth-problem').hidden = true;
}

function markStale(stale) {
  $('data').classList.toggle('stale', stale);
}

function setSubmitAnswer(text, bad = false) {
  const node = $('submit-answer');
  setText(node, text);
  node.classList.toggle('bad', bad);
}

function addAnswer(text, bad = false) {
  const list = $('answers');
  const item = document.createElement('li');
  const time = document.createElement('time');
  const now = new Date();
  time.dateTime = now.toISOString();
  time.textContent = now.toLocaleTimeString();
  item.append(time, ' ', text);
  if (bad) item.className = 'bad';
  list.prepend(item);
  while (list.children.length > ANSWERS_KEPT) list.lastElementChild.remove();
}

function serverNow() {
  return new Date(Date.now() + state.skewMs).toISOString();
}

function elapsed(since) {
  const start = Date.parse(since);
  if (!Number.isFinite(start)) return '';
  const seconds = Math.max(0, Math.round((Date.now() + state.skewMs - start) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} m ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} m`;
}

function formatRate(perSecond) {
  return perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toFixed(1);
}

function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function short(id) {
  return String(id ?? '').slice(0, 8);
}

function clip(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

function tail(text, length) {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > length ? `…${flat.slice(-(length - 1))}` : flat;
}

// --- start --------------------------------------------------------------------------------

$('submit-form').addEventListener('submit', submitTask);
$('kind').addEventListener('change', fillDefaultInput);
$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const field = $('api-key');
  const key = field.value.trim();
  if (!key) return;
  storeKey(key);
  field.value = '';
  field.placeholder = 'a key is set for this tab';
  hideAuthProblem();
  reconnectNow();
});
$('forget-key').addEventListener('click', () => {
  storeKey('');
  $('api-key').placeholder = 'only if the server has keys';
  reconnectNow();
});
if (memoryKey) $('api-key').placeholder = 'a key is set for this tab';
fillDefaultInput();
render();
connect();
