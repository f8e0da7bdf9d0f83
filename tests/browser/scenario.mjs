// scenario.mjs — the browser walk-through shared by the real-server test and the mock test:
// translate a sentence, open the heatmap, switch kind/layer/head and compare every drawn cell
// with the API's numbers, check hover and keyboard highlighting, the downloads, an API error,
// and save screenshots at desktop and phone width.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { shortLabel, tickLabel, matrixMax, color } from '../../web/static/heatmap.js';
import { artifact, DESKTOP, PHONE } from './harness.mjs';

const TOL = 1.5e-4; // the API rounds to 4 decimals; mean/max may be rounded after or before

/** JSON from the API (node side), failing the test on an error answer. */
export async function apiGet(base, path) {
  const r = await fetch(base + path);
  const body = await r.text();
  assert.ok(r.ok, `GET ${path} -> ${r.status} ${body.slice(0, 300)}`);
  return JSON.parse(body);
}

export async function apiPost(base, path, obj) {
  const r = await fetch(base + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(obj) });
  const body = await r.text();
  assert.ok(r.ok, `POST ${path} -> ${r.status} ${body.slice(0, 300)}`);
  return JSON.parse(body);
}

/** Waits until the heatmap shows (kind, layer, head) and nothing is loading. */
export async function waitView(page, kind, layer, head) {
  await page.waitForFunction(([k, l, h]) => {
    const w = document.getElementById('heatmap-wrap');
    return w.dataset.kind === k && w.dataset.layer === l && w.dataset.head === h
      && document.getElementById('loading').hidden && document.querySelector('#heatmap .cells');
  }, [kind, String(layer), String(head)], { timeout: 60000 });
}

/** What the page drew: labels and the cell matrix rebuilt from the <rect> data attributes. */
export async function readDrawn(page) {
  return page.evaluate(() => {
    const rows = [...document.querySelectorAll('#heatmap .row-label')].map((e) => e.firstChild.textContent);
    const cols = [...document.querySelectorAll('#heatmap .col-label')].map((e) => e.firstChild.textContent);
    const m = rows.map(() => cols.map(() => null));
    let n = 0;
    for (const r of document.querySelectorAll('#heatmap rect[data-row]')) {
      m[+r.dataset.row][+r.dataset.col] = { v: Number(r.dataset.value), fill: r.getAttribute('fill') };
      n++;
    }
    return { rows, cols, m, n };
  });
}

/** Asserts the drawn map equals GET /attention/{id} for (kind, layer, head); returns the matrix. */
export async function checkDrawnMatchesApi(page, base, id, kind, layer, head) {
  const api = await apiGet(base, `/attention/${id}?kind=${kind}&layer=${layer}&head=${head}&format=json`);
  const drawn = await readDrawn(page);
  const what = `${kind} layer ${layer} head ${head}`;
  assert.equal(drawn.rows.length, api.matrix.length, `${what}: row count`);
  assert.equal(drawn.cols.length, api.matrix[0].length, `${what}: column count`);
  assert.equal(drawn.n, api.matrix.length * api.matrix[0].length, `${what}: one rect per cell`);
  assert.deepEqual(drawn.rows, api.rows.map(shortLabel), `${what}: row labels`);
  assert.deepEqual(drawn.cols, api.cols.map(shortLabel), `${what}: column labels`);
  let max = 0;
  api.matrix.forEach((row, i) => row.forEach((v, j) => {
    assert.ok(Math.abs(drawn.m[i][j].v - v) <= TOL, `${what}: cell (${i},${j}) drawn ${drawn.m[i][j].v}, API ${v}`);
    max = Math.max(max, v);
  }));
  // Each cell's colour encodes its value on the scale 0..max of the map (the default scale).
  const vmax = matrixMax(drawn.m.map((row) => row.map((c) => c.v))) || 1;
  drawn.m.forEach((row, i) => row.forEach((c, j) => {
    assert.equal(c.fill, color(c.v / vmax), `${what}: colour of cell (${i},${j})`);
  }));
  assert.ok(Math.abs(vmax - max) <= TOL, `${what}: the scale ends at the max`);
  return api.matrix;
}

function differs(a, b) {
  return a.some((row, i) => row.some((v, j) => Math.abs(v - b[i][j]) > 2e-4));
}

/**
 * The whole walk-through. opts: { base, text, prefix (screenshot name prefix),
 * errorCase: async (page) => void that provokes an API error and checks it }.
 */
export async function runScenario(page, { base, text, prefix }) {
  await page.setViewportSize(DESKTOP);
  await page.goto(base + '/');
  await page.waitForSelector('#server-status[data-state="ok"]', { timeout: 30000 });
  const models = (await apiGet(base, '/models')).models;
  const tr = models.find((m) => m.task === 'translate');
  assert.ok(tr, 'the server has a translation model');
  await page.click('label[for="task-translate"]');
  await page.selectOption('#model', tr.name);
  await page.fill('#text', text);

  // Translate; the output and the cross-attention map appear.
  await page.click('#run');
  await page.waitForSelector('#output[data-state="done"]', { timeout: 120000 });
  const output = (await page.textContent('#output')).trim();
  assert.ok(output.length > 0, 'an output text');
  const L = tr.decoder_layers, H = tr.heads, Le = tr.encoder_layers;
  await waitView(page, 'cross', L - 1, 'mean');
  const id = await page.getAttribute('#heatmap-wrap', 'data-attention-id');
  assert.ok(id, 'the page knows the attention id');

  // The page's output is what the API says for the same request.
  const post = await apiPost(base, '/attention', { task: 'translate', text, model: tr.name, kinds: ['cross'], heads: 'mean', alignment: true });
  assert.equal(output, post.output, 'UI output equals POST /attention output');

  // The drawn cells are the API's numbers, and change with layer and head.
  const title = () => page.textContent('#map-title');
  const meanLast = await checkDrawnMatchesApi(page, base, id, 'cross', L - 1, 'mean');
  assert.match(await title(), new RegExp(`layer ${L} of ${L}.*mean of ${H} heads`));
  // The colour legend is in view and ends at the map's largest value.
  const ticks = await page.$$eval('#legend .legend-ticks span', (es) => es.map((e) => e.textContent));
  const mx = matrixMax(meanLast);
  assert.deepEqual([ticks[0], ticks.at(-1)], [tickLabel(0, mx), tickLabel(mx, mx)], 'legend from 0 to the max');
  assert.ok(await page.isVisible('#legend .legend-bar'), 'legend visible');
  if (L > 1) {
    await page.selectOption('#layer', '0');
    await waitView(page, 'cross', 0, 'mean');
    const mean0 = await checkDrawnMatchesApi(page, base, id, 'cross', 0, 'mean');
    assert.ok(differs(mean0, meanLast), 'layer 1 and the last layer draw different maps');
    assert.match(await title(), new RegExp(`layer 1 of ${L}`));
  }
  const layer = L > 1 ? 0 : L - 1;
  await page.selectOption('#head', '1');
  await waitView(page, 'cross', layer, 1);
  const head1 = await checkDrawnMatchesApi(page, base, id, 'cross', layer, 1);
  assert.match(await title(), new RegExp(`head 2 of ${H}`));
  await page.click('#head-prev');
  await waitView(page, 'cross', layer, 0);
  const head0 = await checkDrawnMatchesApi(page, base, id, 'cross', layer, 0);
  assert.ok(differs(head0, head1), 'head 1 and head 2 draw different maps');
  await page.selectOption('#head', 'max');
  await waitView(page, 'cross', layer, 'max');
  await checkDrawnMatchesApi(page, base, id, 'cross', layer, 'max');

  // Encoder and decoder self-attention.
  await page.click('label[for="kind-encoder"]');
  await waitView(page, 'encoder', Math.min(layer, Le - 1), 'max');
  await page.selectOption('#head', 'mean');
  await page.selectOption('#layer', String(Le - 1));
  await waitView(page, 'encoder', Le - 1, 'mean');
  await checkDrawnMatchesApi(page, base, id, 'encoder', Le - 1, 'mean');
  await page.click('label[for="kind-decoder"]');
  await waitView(page, 'decoder', L - 1, 'mean');
  const dec = await checkDrawnMatchesApi(page, base, id, 'decoder', L - 1, 'mean');
  dec.forEach((row, t) => row.forEach((v, j) => { if (j > t) assert.ok(v <= 1e-4, `decoder attention is causal (${t},${j})=${v}`); }));

  // Back to cross-attention, last layer, mean: hover highlighting.
  await page.click('label[for="kind-cross"]');
  await waitView(page, 'cross', L - 1, 'mean');
  await page.selectOption('#head', 'mean');
  await page.selectOption('#layer', String(L - 1));
  await waitView(page, 'cross', L - 1, 'mean');
  const nT = post.target_tokens.length, nS = post.source_tokens.length;
  const r = Math.min(1, nT - 1), c = Math.min(2, nS - 1);
  await page.hover(`#heatmap rect[data-row="${r}"][data-col="${c}"]`);
  const hl = await page.evaluate(() => ({
    rows: [...document.querySelectorAll('#heatmap .row-label.hl')].map((e) => +e.dataset.row),
    cols: [...document.querySelectorAll('#heatmap .col-label.hl')].map((e) => +e.dataset.col),
    band: document.querySelectorAll('#heatmap .highlight .band').length,
    active: document.querySelectorAll('#heatmap .highlight .active').length,
    tooltip: document.getElementById('tooltip').hidden ? null : document.getElementById('tooltip').textContent,
    info: document.getElementById('cell-info').textContent,
    tokRow: [...document.querySelectorAll('#tv-rows .tok.hl')].map((e) => +e.dataset.row),
    tokCol: [...document.querySelectorAll('#tv-cols .tok.hl')].map((e) => +e.dataset.col),
  }));
  const v = meanLast[r][c];
  assert.deepEqual(hl.rows, [r], 'hovered row label highlighted');
  assert.deepEqual(hl.cols, [c], 'hovered column label highlighted');
  assert.equal(hl.band, 2, 'row and column bands drawn');
  assert.equal(hl.active, 1, 'active cell outlined');
  assert.ok(hl.tooltip && hl.tooltip.includes(v.toFixed(4)), `tooltip shows ${v.toFixed(4)}: ${hl.tooltip}`);
  assert.ok(hl.info.includes(v.toFixed(4)), 'info line shows the value');
  assert.deepEqual(hl.tokRow, [r], 'token view: target token highlighted');
  assert.deepEqual(hl.tokCol, [c], 'token view: source token highlighted');

  // Hovering a target token's label highlights its row and its aligned source tokens.
  const withAlign = (post.alignment || []).find((a) => a.source.length > 0);
  if (withAlign) {
    await page.hover(`#heatmap .row-label[data-row="${withAlign.target}"]`);
    const al = await page.evaluate(() => ({
      row: [...document.querySelectorAll('#heatmap .row-label.hl')].map((e) => +e.dataset.row),
      aligned: [...document.querySelectorAll('#heatmap .col-label.al')].map((e) => +e.dataset.col).sort((a, b) => a - b),
      tokAligned: [...document.querySelectorAll('#tv-cols .tok.al')].map((e) => +e.dataset.col).sort((a, b) => a - b),
    }));
    const want = [...withAlign.source].sort((a, b) => a - b);
    assert.deepEqual(al.row, [withAlign.target], 'row label hover highlights the row');
    assert.deepEqual(al.aligned, want, 'aligned source labels highlighted');
    assert.deepEqual(al.tokAligned, want, 'aligned source tokens highlighted in the token view');
  }

  // Keyboard: focus the map, arrow keys move the highlighted cell.
  await page.mouse.move(0, 0);
  await page.focus('#heatmap-wrap');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowDown');
  const kb = await page.evaluate(() => ({ row: document.getElementById('cell-info').dataset.row, col: document.getElementById('cell-info').dataset.col }));
  assert.deepEqual(kb, { row: String(Math.min(1, nT - 1)), col: String(Math.min(1, nS - 1)) }, 'arrow keys move the active cell');
  assert.match(await page.textContent('#sr-status'), /attends to .* with weight \d\.\d{4}, rank \d+ of \d+/, 'the cell is announced');

  // Downloads: SVG, PNG, JSON of the current map.
  const dl = async (btn) => {
    const [d] = await Promise.all([page.waitForEvent('download'), page.click(btn)]);
    return { name: d.suggestedFilename(), data: fs.readFileSync(await d.path()) };
  };
  const svg = await dl('#dl-svg');
  assert.match(svg.name, /^attention-cross-layer\d+-mean\.svg$/);
  const svgText = svg.data.toString();
  assert.ok(svgText.includes('<svg') && svgText.includes('Cross-attention') && svgText.includes('attention weight'), 'SVG file with its title and legend');
  assert.equal((svgText.match(/<rect[^>]*data-row=/g) || []).length, nT * nS, 'SVG file has every cell');
  const png = await dl('#dl-png');
  assert.deepEqual([...png.data.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'PNG signature');
  const js = await dl('#dl-json');
  const doc = JSON.parse(js.data.toString());
  assert.equal(doc.kind, 'cross');
  assert.equal(doc.layer, L - 1);
  assert.equal(doc.matrix.length, nT);

  // Screenshots: a mid-table highlight makes the picture self-explanatory.
  await page.hover(`#heatmap rect[data-row="${r}"][data-col="${c}"]`);
  await page.screenshot({ path: artifact(`${prefix}desktop.png`), fullPage: true });
  await page.locator('#explorer').screenshot({ path: artifact(`${prefix}explorer.png`) });
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(400);
  await page.screenshot({ path: artifact(`${prefix}phone.png`), fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no sideways scrolling of the page at phone width (${overflow}px too wide)`);
  await page.setViewportSize(DESKTOP);

  // An API error is shown clearly: beams = 0 is rejected by the server's validation.
  await page.click('#options summary');
  await page.fill('#opt-beams', '0');
  await page.click('#run');
  await page.waitForSelector('#error:not([hidden])', { timeout: 60000 });
  const err = await page.textContent('#error');
  assert.match(err, /HTTP 4\d\d/, `error shows the HTTP status: ${err}`);
  assert.match(err, /invalid|beam/i, `error shows the API's code or message: ${err}`);
  await page.screenshot({ path: artifact(`${prefix}error.png`) });
  await page.fill('#opt-beams', '');
  return { id, output };
}
