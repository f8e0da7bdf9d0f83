// server.mjs — starts the real attnserve binary on an ephemeral port with the serve-tiny test
// models, and stops it with SIGTERM (checking the exit status).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = resolve(ROOT, process.env.ATTNSERVE_BIN ?? 'build/server/attnserve');
export const FIXTURES = join(ROOT, 'tests/fixtures/serve-tiny');

/** The test configuration: two tiny models, small limits so limits are cheap to reach. */
export function testConfig(overrides = {}) {
  const base = {
    listen: { host: '127.0.0.1', port: 0 },
    http_threads: 4,
    workers: 2,
    blas_threads: 1,
    queue_depth: 16,
    shutdown_timeout_ms: 10000,
    limits: {
      max_body_bytes: 65536,
      max_texts: 8,
      max_text_bytes: 8192,
      max_input_tokens: 512,
      max_output_tokens: 64,
      request_timeout_ms: 30000,
      body_timeout_ms: 1000,
      idle_timeout_s: 10,
      session_memory_mb: 512,
    },
    attention_store: { max_mb: 16, max_entries: 100, ttl_s: 600 },
    models: [
      { name: 'tiny-en-de', task: 'translate', path: join(FIXTURES, 'marian'), source_lang: 'en', target_lang: 'de' },
      { name: 'tiny-de-en', task: 'translate', path: join(FIXTURES, 'marian'), source_lang: 'de', target_lang: 'en' },
      { name: 'tiny-sum', task: 'summarize', path: join(FIXTURES, 't5'), language: 'en' },
    ],
    cors_origins: ['https://ui.example'],
    log: { level: 'info', format: 'json' },
  };
  const merged = { ...base, ...overrides };
  for (const k of ['limits', 'attention_store', 'listen', 'log'])
    if (overrides[k]) merged[k] = { ...base[k], ...overrides[k] };
  return merged;
}

/**
 * Starts attnserve. Returns { url, port, proc, logs, stop() }. `logs` collects every stderr
 * line (parsed JSON where possible). Resolves once the server logged "ready".
 */
export async function startServer({ config = testConfig(), args = [], env = {}, waitReady = true } = {}) {
  if (!existsSync(BIN)) throw new Error(`attnserve binary not found at ${BIN} (build first, or set ATTNSERVE_BIN)`);
  const dir = mkdtempSync(join(tmpdir(), 'attnserve-it-'));
  const cfgPath = join(dir, 'config.json');
  writeFileSync(cfgPath, JSON.stringify(config, null, 2));
  const proc = spawn(BIN, ['--config', cfgPath, ...args], {
    // the caller's environment minus ATTNSERVE_* (which would override the test configuration)
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ATTNSERVE_'))), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs = [];
  const exited = new Promise(res => proc.on('exit', (code, signal) => res({ code, signal })));
  let buf = '';
  let onLine = () => {};
  proc.stderr.on('data', d => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let rec;
      try { rec = JSON.parse(line); } catch { rec = { raw: line }; }
      logs.push(rec);
      onLine(rec);
    }
  });
  proc.stdout.resume();
  const server = { proc, logs, dir, cfgPath, exited, port: 0, url: '' };
  await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error('attnserve did not become ready in 30 s:\n' + logs.map(l => JSON.stringify(l)).join('\n'))), 30000);
    const check = rec => {
      if (rec.event === 'listening') {
        server.port = rec.port;
        server.url = `http://127.0.0.1:${rec.port}`;
        if (!waitReady) { clearTimeout(timer); res(); }
      }
      if (rec.event === 'ready' && waitReady) { clearTimeout(timer); res(); }
    };
    logs.forEach(check);
    onLine = check;
    exited.then(({ code }) => { clearTimeout(timer); rej(new Error(`attnserve exited with ${code} before ready:\n` + logs.map(l => l.raw ?? JSON.stringify(l)).join('\n'))); });
  });
  server.stop = async (signal = 'SIGTERM') => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    const r = await Promise.race([exited, new Promise(res => setTimeout(() => res({ code: 'timeout' }), 20000))]);
    if (r.code === 'timeout') proc.kill('SIGKILL');
    return r;
  };
  return server;
}
