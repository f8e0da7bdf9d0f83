// e2e.test.mjs — the end-to-end test: the real attnserve binary (its embedded UI and its
// API) driven by Debian's chromium. Translates a sentence, opens the heatmap, switches layer and
// head and compares the drawn cells with the API's numbers, checks hover highlighting, saves
// desktop and phone screenshots to test-artifacts/browser/.
//
// env: ATTNSERVE_BIN (default build/server/attnserve), ATTNSERVE_TEST_CONFIG (default
// config/attnserve.json: the shipped models), ATTNSERVE_TEST_TEXT, ATTNSERVE_ARGS, CHROMIUM_PATH.
// Skipped, with a message, only when the binary does not exist.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, launchBrowser, startRealServer, watchPageErrors } from './harness.mjs';
import { runScenario } from './scenario.mjs';

const BIN = path.resolve(ROOT, process.env.ATTNSERVE_BIN || 'build/server/attnserve');
const CONFIG = path.resolve(ROOT, process.env.ATTNSERVE_TEST_CONFIG || 'config/attnserve.json');
const TEXT = process.env.ATTNSERVE_TEST_TEXT || 'A man in a blue shirt is standing on a ladder.';
const present = fs.existsSync(BIN);
if (!present) console.log(`# SKIP e2e: no attnserve binary at ${BIN} (build it: make build; or set ATTNSERVE_BIN)`);

describe('attnserve end to end in chromium', { skip: present ? false : `no binary at ${BIN}` }, () => {
  let srv, browser, page, errors;
  before(async () => {
    srv = await startRealServer({ bin: BIN, config: fs.existsSync(CONFIG) ? CONFIG : null });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    errors = watchPageErrors(page);
  });
  after(async () => {
    await browser?.close();
    await srv?.close();
  });

  it('serves the embedded UI with the right content types', async () => {
    for (const [p, type] of [['/', 'text/html'], ['/app.js', 'javascript'], ['/heatmap.js', 'javascript'], ['/style.css', 'text/css']]) {
      const r = await fetch(srv.url + p);
      assert.equal(r.status, 200, `GET ${p}`);
      assert.ok((r.headers.get('content-type') || '').includes(type), `GET ${p}: ${r.headers.get('content-type')}`);
    }
  });

  it('translates, draws the API numbers per layer/head, highlights, downloads, shows errors', async () => {
    try {
      await runScenario(page, { base: srv.url, text: TEXT, prefix: '' });
    } catch (e) {
      e.message += `\n--- server log (tail) ---\n${srv.log().slice(-4000)}`;
      throw e;
    }
    // Only the deliberately provoked 400 may show up as a console error.
    assert.deepEqual(errors.filter((e) => !/status of 4\d\d/.test(e)), []);
  });
});
