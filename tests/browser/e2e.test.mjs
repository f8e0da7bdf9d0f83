// e2e.test.mjs — the end-to-end test: the real attnserve binary (its embedded UI and its
// API) driven by Debian's chromium. Translates a sentence, opens the heatmap, switches layer and
// head and compares the drawn cells with the API's numbers, checks hover highlighting, saves
// desktop and phone screenshots to test-artifacts/browser/.
//
// env: ATTNSERVE_BIN (default build/server/attnserve), ATTNSERVE_TEST_CONFIG (default
// config/attnserve.json with the shipped models, else the serve-tiny test models),
// ATTNSERVE_TEST_TEXT, ATTNSERVE_ARGS, CHROMIUM_PATH.
// Skipped, with a message, only when the binary does not exist.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, artifact, launchBrowser, startRealServer, watchPageErrors } from './harness.mjs';
import { runScenario } from './scenario.mjs';

const BIN = path.resolve(ROOT, process.env.ATTNSERVE_BIN || 'build/server/attnserve');
const TEXT = process.env.ATTNSERVE_TEST_TEXT || 'A man in a blue shirt is standing on a ladder.';
const present = fs.existsSync(BIN);
if (!present) console.log(`# SKIP e2e: no attnserve binary at ${BIN} (build it: make build; or set ATTNSERVE_BIN)`);

/**
 * The configuration to serve: ATTNSERVE_TEST_CONFIG; else the shipped config/attnserve.json when
 * its models are present; else the tiny test models of tests/fixtures/serve-tiny (numbers and
 * UI behaviour are checked the same way; only the translations are nonsense).
 */
function pickConfig() {
  if (process.env.ATTNSERVE_TEST_CONFIG) return path.resolve(ROOT, process.env.ATTNSERVE_TEST_CONFIG);
  const shipped = path.join(ROOT, 'config/attnserve.json');
  if (fs.existsSync(shipped)) {
    const cfg = JSON.parse(fs.readFileSync(shipped, 'utf8'));
    const dir = path.dirname(shipped);
    const missing = (cfg.models || []).filter((m) => !fs.existsSync(path.resolve(dir, m.path, 'config.json')));
    if (!missing.length) return shipped;
    console.log(`# e2e: ${shipped} names models that are not here (${missing.map((m) => m.path).join(', ')})`);
  }
  const tiny = path.join(ROOT, 'tests/fixtures/serve-tiny');
  if (!fs.existsSync(path.join(tiny, 'marian', 'config.json'))) {
    throw new Error('no models to serve: config/attnserve.json with its models, or tests/fixtures/serve-tiny, '
      + 'or set ATTNSERVE_TEST_CONFIG');
  }
  console.log('# e2e: serving the tiny test models of tests/fixtures/serve-tiny instead');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'attnserve-e2e-')), 'config.json');
  fs.writeFileSync(file, JSON.stringify({
    workers: 1,
    blas_threads: 1,
    models: [
      { name: 'tiny-en-de', task: 'translate', path: path.join(tiny, 'marian'), source_lang: 'en', target_lang: 'de' },
      { name: 'tiny-sum', task: 'summarize', path: path.join(tiny, 't5'), language: 'en' },
    ],
    log: { level: 'info', format: 'json' },
  }, null, 2));
  return file;
}

describe('attnserve end to end in chromium', { skip: present ? false : `no binary at ${BIN}` }, () => {
  let srv, browser, page, errors;
  before(async () => {
    srv = await startRealServer({ bin: BIN, config: pickConfig() });
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

  // A recurrent translator (rnn_seq2seq, the shipped en-de-rnn): its one alignment matrix is
  // drawn, the self-attention views are disabled and the hint says why.
  it('shows the single alignment matrix of the recurrent translator', async (t) => {
    const models = (await (await fetch(srv.url + '/models')).json()).models;
    const rnn = models.find((m) => m.architecture === 'rnn_seq2seq');
    if (!rnn) return t.skip('no served rnn_seq2seq model');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(srv.url + '/');
    await page.waitForSelector('#server-status[data-state="ok"]', { timeout: 30000 });
    await page.click('label[for="task-translate"]');
    await page.selectOption('#model', rnn.name);
    await page.fill('#text', 'Two dogs are playing in the snow.');
    await page.click('#run');
    await page.waitForSelector('#output[data-state="done"]', { timeout: 120000 });
    await page.waitForSelector('#heatmap .cells', { timeout: 60000 });
    for (const k of ['encoder', 'decoder', 'rollout'])
      assert.equal(await page.isDisabled(`#kind-${k}`), true, `${k} view disabled`);
    assert.equal(await page.isChecked('#kind-cross'), true);
    assert.match(await page.textContent('#explorer-hint'), /additive \(Bahdanau\) attention: one alignment matrix/);
    const cells = await page.$$eval('#heatmap rect[data-row]', (r) => r.length);
    assert.ok(cells > 0, 'cells drawn');
    await page.screenshot({ path: artifact('rnn.png'), fullPage: true });
  });

  // The language pickers: French into Czech through the multilingual model (the shipped
  // configuration serves it; the tiny test models do not, and the test says so).
  it('translates French into Czech with the language pickers', async (t) => {
    const models = (await (await fetch(srv.url + '/models')).json()).models;
    const mul = models.find((m) => (m.language_pairs || []).some((p) => p.source === 'fr' && p.target === 'cs'));
    if (!mul) return t.skip('no served model translates fr -> cs');
    const text = "Un chien noir court dans l'herbe.";
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(srv.url + '/');
    await page.waitForSelector('#server-status[data-state="ok"]', { timeout: 30000 });
    await page.click('label[for="task-translate"]');
    await page.selectOption('#source-lang', 'fr');
    await page.selectOption('#target-lang', 'cs');
    const offered = await page.$$eval('#model option', (os) => os.map((o) => o.value));
    assert.ok(offered.includes(mul.name), `the model picker offers ${mul.name}: ${offered}`);
    await page.fill('#text', text);
    await page.click('#run');
    await page.waitForSelector('#output[data-state="done"]', { timeout: 120000 });
    const output = (await page.textContent('#output')).trim();
    // The same request through LibreTranslate's API gives the same Czech text.
    const r = await fetch(srv.url + '/translate', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ q: text, source: 'fr', target: 'cs' }),
    });
    const lt = await r.json();
    assert.equal(r.status, 200, JSON.stringify(lt));
    assert.equal(output, lt.translatedText, 'UI output equals POST /translate {source: fr, target: cs}');
    assert.notEqual(output, text, 'the text was translated');
    assert.match(output, /[čěšřžýáíéůú]|pes/i, `Czech output: ${output}`);
    assert.match(await page.textContent('#output-meta'), new RegExp(`^${mul.name} `), 'answered by the model of the pair');
    await page.screenshot({ path: artifact('fr-cs.png'), fullPage: true });
  });
});
