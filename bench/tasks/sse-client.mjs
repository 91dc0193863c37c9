import http from 'node:http';

/**
 * One minimal SSE reader over a raw http.get: calls `onEvent(type, data)` per event. Hand
 * parsed, so that a thousand of them in one process cost the server's side of the bench,
 * not the client library's. It scans each chunk by index and keeps only an unfinished
 * tail: under a backlog a chunk carries hundreds of events, and re-slicing the buffer per
 * event would make the reader the bottleneck it is meant not to be.
 */
export function openSse(url, onEvent, onEnd) {
  const request = http.get(url, { agent: false }, (response) => {
    response.setEncoding('utf8');
    let buffer = '';
    response.on('data', (chunk) => {
      buffer = buffer === '' ? chunk : buffer + chunk;
      let start = 0;
      let end = buffer.indexOf('\n\n', start);
      while (end !== -1) {
        let type = 'message';
        let data;
        let line = start;
        while (line < end) {
          let stop = buffer.indexOf('\n', line);
          if (stop === -1 || stop > end) stop = end;
          if (buffer.startsWith('event: ', line)) type = buffer.slice(line + 7, stop);
          else if (buffer.startsWith('data: ', line)) data = buffer.slice(line + 6, stop);
          line = stop + 1;
        }
        if (data !== undefined) onEvent(type, data);
        start = end + 2;
        end = buffer.indexOf('\n\n', start);
      }
      buffer = start === buffer.length ? '' : buffer.slice(start);
    });
    response.on('end', () => onEnd?.());
  });
  request.on('error', () => onEnd?.());
  return request;
}

/** Wall-clock microseconds with sub-ms precision, comparable across processes on one host. */
export function nowUs() {
  return (performance.timeOrigin + performance.now()) * 1000;
}

/** The `sentAtUs` stamped in an event's data, without a JSON.parse per event; or NaN. */
export function sentAtUsOf(data) {
  const at = data.indexOf('"sentAtUs":');
  return at === -1 ? Number.NaN : Number.parseFloat(data.slice(at + 11));
}
