// han.test.mjs — the extractive summarizer (model_type han, models/han-cnndm): POST /summarize
// scores every sentence of a whole document and returns the best ones in document order, with
// each sentence's score, probability and attention; max_sentences sets how many; long documents
// are read whole (not truncated); /attention and max_sentences on a generating model are 422s
// naming the problem.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FIXTURES, ROOT, startServer, testConfig } from './lib/server.mjs';
import { request } from './lib/http.mjs';
import { check } from './lib/openapi.mjs';

const models = [
  { name: 'han', task: 'summarize', path: join(ROOT, 'models', 'han-cnndm'), language: 'en' },
  { name: 'tiny-sum', task: 'summarize', path: join(FIXTURES, 't5'), language: 'en' },
];
let srv;
before(async () => { srv = await startServer({ config: testConfig({ models, limits: { max_text_bytes: 65536, max_body_bytes: 262144 } }) }); });
after(async () => { assert.equal((await srv.stop()).code, 0); });

async function post(path, body) {
  const r = await request(srv.url, 'POST', path, { body });
  check('POST', path, r);
  return r;
}

const DOC = 'The city council met on Tuesday to vote on the new budget. Members argued for hours about '
  + 'spending on roads. The mayor proposed a tax on hotel rooms to pay for repairs. Hotel owners said '
  + 'the tax would drive visitors away. In the end the council approved the plan by six votes to five. '
  + 'The tax will take effect next year.';

test('/models names the extractive architecture', async () => {
  const r = await request(srv.url, 'GET', '/models');
  check('GET', '/models', r);
  const han = r.json.models.find((m) => m.name === 'han');
  assert.equal(han.architecture, 'han');
  assert.equal(han.self_attention, false);
  assert.match(han.attention, /hierarchical/);
});

test('an extractive summary is the best sentences of the document, in document order', async () => {
  for (const k of [1, 2, 3]) {
    const r = await post('/summarize', { text: DOC, model: 'han', max_sentences: k });
    assert.equal(r.status, 200, r.text);
    const s = r.json.summaries[0];
    assert.equal(s.sentences.length, 6);
    assert.equal(s.used_sentences.length, k);
    assert.deepEqual([...s.used_sentences].sort((a, b) => a - b), s.used_sentences, 'document order');
    // the used sentences are the k highest scores
    const order = s.sentences.map((x, i) => [x.score, i]).sort((a, b) => b[0] - a[0]).slice(0, k).map((x) => x[1]).sort((a, b) => a - b);
    assert.deepEqual(s.used_sentences, order);
    assert.equal(s.text, s.used_sentences.map((i) => s.sentences[i].text).join(' '));
    for (const x of s.sentences) assert.ok(Math.abs(x.probability - 1 / (1 + Math.exp(-x.score))) < 1e-3);
    const att = s.sentences.reduce((a, x) => a + x.attention, 0);
    assert.ok(Math.abs(att - 1) < 1e-2, `sentence attention sums to ${att}`);
    assert.equal(s.truncated, false);
  }
});

test('a long document is read whole', async () => {
  const long = Array.from({ length: 60 }, (_, i) => `Sentence number ${i + 1} reports that the river rose again overnight.`).join(' ');
  const r = await post('/summarize', { text: long, model: 'han' });
  assert.equal(r.status, 200, r.text);
  const s = r.json.summaries[0];
  assert.equal(s.sentences.length, 60);
  assert.equal(s.used_sentences.length, 3);
  assert.equal(s.truncated, false);
});

test('wrong uses are 422s naming the problem', async () => {
  let r = await post('/summarize', { text: DOC, model: 'tiny-sum', max_sentences: 2 });
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.error.message, /max_sentences applies to extractive/);
  r = await post('/summarize', { text: DOC, model: 'han', max_sentences: 65 });
  assert.equal(r.status, 422, r.text);
  r = await post('/attention', { task: 'summarize', text: DOC, model: 'han' });
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.error.message, /extractive/);
});
