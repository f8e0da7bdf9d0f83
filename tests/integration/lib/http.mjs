// http.mjs — small HTTP helpers over node:http (a fresh connection per request by default).
import http from 'node:http';

/** Sends one request; resolves { status, headers, body (Buffer), text, json }. */
export function request(base, method, path, { headers = {}, body, agent = false, timeout = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(path, base);
    const data = body === undefined ? undefined
      : Buffer.isBuffer(body) ? body
      : typeof body === 'string' ? Buffer.from(body)
      : Buffer.from(JSON.stringify(body));
    const h = { ...headers };
    if (data && !Object.keys(h).some(k => k.toLowerCase() === 'content-type') && !Buffer.isBuffer(body) && typeof body !== 'string')
      h['Content-Type'] = 'application/json';
    if (data) h['Content-Length'] = data.length;
    const req = http.request({ method, host: u.hostname, port: u.port, path: u.pathname + u.search, headers: h, agent, timeout }, res => {
      const chunks = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        const out = { status: res.statusCode, headers: res.headers, body: buf, text: buf.toString('utf8') };
        if ((res.headers['content-type'] ?? '').startsWith('application/json') && buf.length) {
          try { out.json = JSON.parse(out.text); } catch (e) { out.jsonError = e; }
        }
        resolve(out);
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeout} ms: ${method} ${path}`)));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

export const sleep = ms => new Promise(r => setTimeout(r, ms));
