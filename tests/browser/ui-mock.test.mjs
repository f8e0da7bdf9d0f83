// ui-mock.test.mjs — the UI against the mock API (tests/browser/mock-server.mjs): the full
// walk-through, plus the error paths a real model cannot easily produce (busy server, no
// attention for an input, an evicted attention id, a network failure).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, watchPageErrors, artifact } from './harness.mjs';
import { startMockServer } from './mock-server.mjs';
import { runScenario, waitView, checkDrawnMatchesApi } from './scenario.mjs';

describe('web UI against the mock API', () => {
  let srv, browser, page, errors;
  before(async () => {
    srv = await startMockServer();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    errors = watchPageErrors(page);
  });
  after(async () => {
    await browser?.close();
    await srv?.close();
  });

  it('translates, draws the API numbers per layer/head, highlights, downloads, shows errors', async () => {
    await runScenario(page, { base: srv.url, text: 'The little house by the lake has a red door.', prefix: 'mock-' });
    assert.deepEqual(errors.filter((e) => !/status of 4\d\d|status of 5\d\d/.test(e)), []);
  });

  it('picks languages: detects the source, lists the models of the pair, sends the pair', async () => {
    await page.goto(srv.url + '/');
    await page.waitForSelector('#source-lang option[value="fr"]', { state: 'attached' });
    // every served language is a source, with "Detect language" first
    const sources = await page.$$eval('#source-lang option', (os) => os.map((o) => o.value));
    assert.deepEqual(sources, ['auto', 'en', 'de', 'fr']);
    assert.equal(await page.isDisabled('#swap-langs'), true, 'no swap while detecting');
    await page.selectOption('#target-lang', 'fr');
    // en-de does not translate into French: only the multilingual model is offered
    const models = await page.$$eval('#model option', (os) => os.map((o) => o.value));
    assert.deepEqual(models, ['', 'mul']);
    await page.fill('#text', 'the cat sits on the mat');
    await page.click('#run');
    await page.waitForSelector('#output[data-state="done"]');
    assert.match(await page.textContent('#detected'), /Detected: English \(95% confidence\)/);
    assert.match(await page.textContent('#output-meta'), /^mul ·/, 'the multilingual model answered');
    const last = await (await fetch(srv.url + '/__mock/last')).json();
    assert.equal(last['/detect'].q, 'the cat sits on the mat');
    assert.equal(last['/attention'].source_lang, 'en');
    assert.equal(last['/attention'].target_lang, 'fr');
    assert.equal(last['/attention'].model, undefined, 'the server picks the model for the pair');
    // a chosen source: no detection, the swap works and both pickers follow
    await page.selectOption('#source-lang', 'de');
    assert.equal(await page.isHidden('#detected'), true);
    assert.deepEqual(await page.$$eval('#target-lang option', (os) => os.map((o) => o.value)), ['en', 'fr']);
    await page.click('#swap-langs');
    assert.equal(await page.inputValue('#source-lang'), 'fr');
    assert.equal(await page.inputValue('#target-lang'), 'de');
    // text the identifier cannot decide: a clear error, no request
    await page.selectOption('#source-lang', 'auto');
    await page.fill('#text', '12345 !!!');
    await page.click('#run');
    await page.waitForSelector('#error:not([hidden])');
    assert.match(await page.textContent('#error'), /Could not tell which language/);
  });

  it('shows a busy server with its Retry-After', async () => {
    await page.goto(srv.url + '/');
    await page.fill('#text', 'FAIL503 please');
    await page.click('#run');
    await page.waitForSelector('#error:not([hidden])');
    const t = await page.textContent('#error');
    assert.match(t, /HTTP 503/);
    assert.match(t, /busy/);
    assert.match(t, /try again in 2 s/);
    assert.equal(await page.getAttribute('#run', 'aria-busy'), 'false');
  });

  it('still shows the output when attention capture is refused, and says why', async () => {
    await page.goto(srv.url + '/');
    await page.fill('#text', 'the cat NOATTN');
    await page.click('#run');
    await page.waitForSelector('#output[data-state="done"]');
    assert.match(await page.textContent('#output'), /Katze/);
    const t = await page.textContent('#attention-error');
    assert.match(t, /HTTP 413/);
    assert.match(t, /attention_too_large/);
    assert.equal(await page.getAttribute('#explorer', 'data-state'), 'empty');
  });

  it('recomputes a map whose stored result was evicted', async () => {
    await page.goto(srv.url + '/');
    await page.fill('#text', 'the cat sits on the mat');
    await page.click('#run');
    await waitView(page, 'cross', 1, 'mean');
    const id1 = await page.getAttribute('#heatmap-wrap', 'data-attention-id');
    await page.waitForFunction(() => document.querySelectorAll('#heads-strip canvas').length === 6);
    await fetch(srv.url + '/__mock/evict', { method: 'POST' });
    // Encoder layer 0, head 3 was never fetched: its GET answers 404, the page re-POSTs once.
    let posts = 0;
    page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/attention')) posts++; });
    await page.click('label[for="kind-encoder"]');
    await page.selectOption('#layer', '0');
    await page.selectOption('#head', '2');
    await waitView(page, 'encoder', 0, 2);
    const id2 = await page.getAttribute('#heatmap-wrap', 'data-attention-id');
    assert.notEqual(id1, id2, 'a new result id after the re-POST');
    await checkDrawnMatchesApi(page, srv.url, id2, 'encoder', 0, 2);
    await page.waitForTimeout(300); // let the head thumbnails finish
    assert.equal(posts, 1, 'one re-POST for all the maps that were missing');
  });

  it('summarizes with the summarization model and shows rollout', async () => {
    await page.goto(srv.url + '/');
    await page.click('label[for="task-summarize"]');
    assert.equal(await page.inputValue('#model'), 'cnn-summary');
    assert.equal((await page.textContent('#run')).trim(), 'Summarize');
    await page.click('#run'); // the example text is filled in
    await page.waitForSelector('#output[data-state="done"]');
    await waitView(page, 'cross', 1, 'mean');
    await page.click('label[for="kind-rollout"]');
    await page.waitForFunction(() => document.getElementById('heatmap-wrap').dataset.kind === 'rollout');
    assert.match(await page.textContent('#map-title'), /rollout/i);
    assert.equal(await page.isDisabled('#layer'), true, 'no layer choice for rollout');
    await page.locator('#explorer').screenshot({ path: artifact('mock-rollout.png') });
  });

  it('is keyboard operable: tab order reaches the controls and the map', async () => {
    await page.goto(srv.url + '/');
    await page.fill('#text', 'hello world');
    await page.keyboard.press('Control+Enter');
    await waitView(page, 'cross', 1, 'mean');
    // Tab from the layer selector: focus moves forward through the explorer to the map.
    await page.focus('#layer');
    const seen = [];
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      const id = await page.evaluate(() => document.activeElement.id || document.activeElement.className);
      seen.push(id);
      if (id === 'heatmap-wrap') break;
    }
    assert.ok(seen.includes('head'), `the head selector is in the tab order: ${seen}`);
    assert.equal(seen.at(-1), 'heatmap-wrap', `the map is reachable with Tab: ${seen}`);
    const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(ring, 'none', 'focused map has a visible focus ring');
    // Arrow keys in the head selector change the head.
    await page.focus('#head');
    await page.keyboard.press('ArrowDown');
    await waitView(page, 'cross', 1, 'max');
  });

  it('names every control for assistive technology', async () => {
    await page.goto(srv.url + '/');
    await page.fill('#text', 'hello world');
    await page.click('#run');
    await waitView(page, 'cross', 1, 'mean');
    const unnamed = await page.evaluate(() => {
      const name = (e) => (e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')
        || (e.id && document.querySelector(`label[for="${e.id}"]`)) || e.closest('label')
        || (e.tagName === 'BUTTON' && e.textContent.trim()));
      return [...document.querySelectorAll('input, select, textarea, button, [tabindex="0"]')]
        .filter((e) => !name(e)).map((e) => e.outerHTML.slice(0, 80));
    });
    assert.deepEqual(unnamed, []);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
  });

  it('streams the cross-attention row by row when asked, then shows the normal view', async () => {
    await page.goto(srv.url + '/');
    await page.waitForSelector('#model option[value="en-de"]', { state: 'attached' });
    assert.equal(await page.isChecked('#opt-stream-attention'), false, 'the normal view is the default');
    // off: the explorer appears with the answer only, even when the server streams rows
    const text = 'STREAM the little house by the lake has a red door';
    await page.fill('#text', text);
    await page.click('#run');
    await page.waitForSelector('#output[data-state="streaming"]');
    assert.notEqual(await page.getAttribute('#explorer', 'data-state'), 'streaming');
    await waitView(page, 'cross', 1, 'mean');
    // on: the map grows a row per attention event, each row the event's numbers
    await page.check('#opt-stream-attention');
    const rowsSeen = [];
    let drawn = [];
    await page.click('#run');
    await page.waitForSelector('#explorer[data-state="streaming"]');
    for (const n of [1, 2, 3]) {
      await page.waitForFunction((k) => Number(document.getElementById('heatmap-wrap').dataset.streamRows) >= k, n);
      drawn = await page.$$eval('#heatmap rect[data-row]', (rs) => rs.map((r) => ({
        row: Number(r.dataset.row), col: Number(r.dataset.col), value: Number(r.dataset.value),
      })));
      const nRows = new Set(drawn.map((c) => c.row)).size;
      rowsSeen.push(nRows);
      assert.equal(await page.getAttribute('#explorer', 'data-state'), 'streaming');
      assert.ok(await page.isHidden('#controls'), 'no layer/head controls while streaming');
      assert.ok(await page.isVisible('#heatmap-wrap'));
      if (n === 2) await page.locator('#explorer').screenshot({ path: artifact('mock-attention-streaming.png') });
    }
    assert.ok(rowsSeen[0] >= 1 && rowsSeen.at(-1) > rowsSeen[0], `the map grew: ${rowsSeen}`);
    const last = (await (await fetch(srv.url + '/__mock/last')).json())['/attention'];
    assert.equal(last.stream, true);
    await page.waitForSelector('#explorer[data-state="ready"]');
    await waitView(page, 'cross', 1, 'mean');
    assert.equal(await page.getAttribute('#heatmap-wrap', 'data-streaming'), null);
    assert.ok(await page.isVisible('#controls'), 'the normal view replaced the stream');
    // the final view's rows are the streamed ones: the drawn cells equal the API's map
    const id = await page.getAttribute('#heatmap-wrap', 'data-attention-id');
    const matrix = await checkDrawnMatchesApi(page, srv.url, id, 'cross', 1, 'mean');
    for (const c of drawn) {
      assert.ok(Math.abs(c.value - matrix[c.row][c.col]) <= 1e-4, `streamed cell (${c.row},${c.col}): ${c.value} vs ${matrix[c.row][c.col]}`);
    }
    await page.locator('#explorer').screenshot({ path: artifact('mock-attention-streamed-done.png') });
    await page.uncheck('#opt-stream-attention');
  });

  it('reports an unreachable server', async () => {
    await page.goto(srv.url + '/');
    await page.route('**/attention', (route) => route.abort('connectionrefused'));
    await page.fill('#text', 'hello');
    await page.click('#run');
    await page.waitForSelector('#error:not([hidden])');
    assert.match(await page.textContent('#error'), /network_error|Cannot reach/);
    await page.unroute('**/attention');
  });
});
