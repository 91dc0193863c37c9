import http from 'node:http';

/**
 * One minimal SSE reader over a raw http.get: calls `onEvent(type, data)` per event. Hand
 * parsed, so that a thousand of them in one process cost the server's side of the bench,
 * not the client library's.
 */
export function openSse(url, onEvent, onEnd) {
  const request = http.get(url, { agent: false }, (response) => {
    response.setEncoding('utf8');
    let buffer = '';
    response.on('data', (chunk) => {
      buffer += chunk;
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let type = 'message';
        let data;
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) type = line.slice(7);
          else if (line.startsWith('data: ')) data = line.slice(6);
        }
        if (data !== undefined) onEvent(type, data);
        end = buffer.indexOf('\n\n');
      }
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
