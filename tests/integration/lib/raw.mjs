// raw.mjs — HTTP over raw sockets: exact bytes out (malformed, truncated, slow), one parsed
// response in.
import net from 'node:net';

/** Parses one HTTP/1.1 response at the start of buf; null until it is complete. */
export function parseResponse(buf, { final = false } = {}) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
  if (!m) throw new Error('not an HTTP response: ' + JSON.stringify(head[0]));
  const headers = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const status = Number(m[1]);
  let body;
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (buf.length < end + 4 + n) return null;
    body = buf.subarray(end + 4, end + 4 + n);
  } else if (status === 204 || status === 304) {
    body = Buffer.alloc(0);
  } else {
    if (!final) return null;
    body = buf.subarray(end + 4);
  }
  const out = { status, headers, body, text: body.toString('utf8'), length: end + 4 + body.length };
  if ((headers['content-type'] ?? '').startsWith('application/json') && body.length) {
    try { out.json = JSON.parse(out.text); } catch (e) { out.jsonError = e; }
  }
  return out;
}

/**
 * Sends `parts` ([{ data: Buffer|string, delayMs }]) on a new connection and resolves the
 * response, or { closed: true, error } when the server closed without answering; `timedOut`
 * says that it was this side that gave up after `timeout` ms, not the server that closed.
 */
export function rawExchange(port, parts, { timeout = 15000 } = {}) {
  return new Promise(resolve => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let done = false;
    let error = null;
    const finish = (final, timedOut = false) => {
      if (done) return;
      let res = null;
      try { res = parseResponse(buf, { final }); } catch (e) { error = e; }
      if (!res && !final) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(res ?? { closed: true, timedOut, error: error?.message, received: buf.length });
    };
    const timer = setTimeout(() => finish(true, true), timeout);
    sock.on('data', d => { buf = Buffer.concat([buf, d]); finish(false); });
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', e => { error = e; });
    sock.on('connect', async () => {
      for (const p of parts) {
        if (p.delayMs) await new Promise(r => setTimeout(r, p.delayMs));
        if (done || sock.destroyed) return;
        try { sock.write(p.data); } catch (e) { error = e; return; }
      }
    });
  });
}

/** A keep-alive connection sending requests one after another. */
export async function openConnection(port) {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((res, rej) => { sock.once('connect', res); sock.once('error', rej); });
  let buf = Buffer.alloc(0);
  let waiter = null;
  let closed = false;
  const poke = () => {
    if (!waiter) return;
    let r = null;
    try { r = parseResponse(buf, { final: closed }); } catch (e) { waiter.reject(e); waiter = null; return; }
    if (r) { buf = buf.subarray(r.length); const w = waiter; waiter = null; w.resolve(r); }
    else if (closed) { const w = waiter; waiter = null; w.resolve({ closed: true }); }
  };
  sock.on('data', d => { buf = Buffer.concat([buf, d]); poke(); });
  sock.on('close', () => { closed = true; poke(); });
  sock.on('error', () => {});
  return {
    send(raw) {
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject };
        if (closed) return poke();
        sock.write(raw);
        poke();
      });
    },
    close() { sock.destroy(); },
  };
}

/** Builds a request's bytes. */
export function buildRequest(method, path, { headers = {}, body } = {}) {
  const b = body === undefined ? null : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1'];
  const h = { ...headers };
  if (b && !Object.keys(h).some(k => /^(content-length|transfer-encoding)$/i.test(k))) h['Content-Length'] = String(b.length);
  for (const [k, v] of Object.entries(h)) lines.push(`${k}: ${v}`);
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
  return b ? Buffer.concat([head, b]) : head;
}
