// harness.mjs — shared pieces of the browser tests: Debian's chromium through playwright-core
// (headless, fresh profile, no network side traffic), starting/stopping the real attnserve
// binary on an ephemeral port, and the test-artifacts/ folder for screenshots.
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = path.resolve(ROOT, process.env.ATTNSERVE_TEST_ARTIFACTS || 'test-artifacts/browser');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const DESKTOP = { width: 1360, height: 1000 };
export const PHONE = { width: 390, height: 844 };

/** Launches headless chromium with a fresh user-data dir. Resolves to { browser, close }. */
export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'attnserve-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
    viewport: DESKTOP,
    acceptDownloads: true,
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A free TCP port on 127.0.0.1 (closed again before returning; the server binds it next). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitReady(url, child, log, timeoutMs) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`attnserve exited with ${child.exitCode} before it was ready:\n${log()}`);
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`attnserve was not ready after ${timeoutMs} ms:\n${log()}`);
}

/**
 * Starts the real binary: `BIN --config CONFIG --host 127.0.0.1 --port PORT` (extra flags from
 * ATTNSERVE_ARGS, split on spaces). Waits for /readyz. Resolves to { url, close, log }.
 */
export async function startRealServer({ bin, config, timeoutMs = 120000 }) {
  const port = await freePort();
  const args = [];
  if (config) args.push('--config', config);
  args.push('--host', '127.0.0.1', '--port', String(port));
  if (process.env.ATTNSERVE_ARGS) args.push(...process.env.ATTNSERVE_ARGS.split(' ').filter(Boolean));
  // attnserve refuses unknown ATTNSERVE_* variables: the test's own settings stay out.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ATTNSERVE_')));
  const child = spawn(bin, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d) => { out = (out + d.toString()).slice(-20000); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((r) => {
      const t = setTimeout(() => { child.kill('SIGKILL'); r(); }, 10000);
      child.once('exit', () => { clearTimeout(t); r(); });
    });
  };
  try {
    await waitReady(url, child, () => out, timeoutMs);
  } catch (e) {
    await close();
    throw e;
  }
  return { url, close, log: () => out };
}

export function artifact(name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}

/** Fails on JavaScript errors and failed page loads in the page. Returns the list of errors. */
export function watchPageErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  return errors;
}
