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
  { name: 'tiny-sum', task: 'summarize', path: join(FIXTURES, 't5'), language: 'en' },
  { name: 'han', task: 'summarize', path: join(ROOT, 'models', 'han-cnndm'), language: 'en' },
  // a window of 100 pieces: DOC does not fit
  { name: 'tiny-short', task: 'summarize', path: join(FIXTURES, 't5'), language: 'en', max_input_tokens: 100 },
  { name: 'tiny-fr', task: 'summarize', path: join(FIXTURES, 't5'), language: 'fr', max_input_tokens: 100 },
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
  let r;
  r = await post('/summarize', { text: DOC, model: 'tiny-sum', max_sentences: 2 });
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.error.message, /max_sentences applies to the modes "extractive" and "highlights"/);
  r = await post('/summarize', { text: DOC, mode: 'summary' });
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.error.message, /mode must be "document", "abstractive", "extractive" or "highlights", got "summary"/);
  for (const mode of ['document', 'abstractive', 'highlights']) {
    r = await post('/summarize', { text: DOC, model: 'han', mode });
    assert.equal(r.status, 422, r.text);
    assert.match(r.json.error.message, new RegExp(`model "han" is extractive \\(han\\): mode "${mode}" needs a model that generates`));
  }
  r = await post('/summarize', { text: DOC, mode: 'highlights', attention: true });
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.error.message, /mode "highlights" makes one summary per sentence/);
  r = await post('/summarize', { text: DOC, model: 'han', alignment: true });
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.error.message, /no alignment/);
  r = await post('/summarize', { text: DOC, model: 'han', max_sentences: 65 });
  assert.equal(r.status, 422, r.text);
  r = await post('/attention', { task: 'summarize', text: DOC, model: 'han' });
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.error.message, /extractive/);
});

/* ---- whole documents for the abstractive model: modes document, abstractive, highlights ---- */

const byScore = (s, k) => s.sentences.map((x, i) => [x.score, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, k).map((x) => x[1]).sort((a, b) => a - b);

test('document mode: a text longer than the window is condensed to its best sentences, not cut', async () => {
  const r = await post('/summarize', { text: DOC, model: 'tiny-short', options: { max_new_tokens: 5 }, tokens: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.mode, 'document');
  assert.equal(r.json.extractor, 'han');
  const s = r.json.summaries[0];
  assert.equal(s.condensed, true);
  assert.equal(s.truncated, false);
  assert.ok(s.input_tokens <= 100, `read ${s.input_tokens} pieces`);
  assert.ok(s.input_tokens_original > 100, `the document has ${s.input_tokens_original} pieces`);
  assert.equal(s.sentences.length, 6);
  assert.ok(s.used_sentences.length >= 1 && s.used_sentences.length < 6);
  assert.deepEqual([...s.used_sentences].sort((a, b) => a - b), s.used_sentences, 'document order');
  assert.ok(s.used_sentences.includes(byScore(s, 1)[0]), 'the best sentence is read');
  assert.deepEqual(s.sentences.map((x, i) => x.selected ? i : -1).filter((i) => i >= 0), s.used_sentences);
  // what the model read is the used sentences, and no other
  const read = s.tokens.source.join('').replace(/\s+/g, ' ');
  for (const i of s.used_sentences) for (const w of s.sentences[i].text.split(/\s+/)) assert.ok(read.includes(w.replace(/[.,]/g, '')), `"${w}" read`);
  // the same scores as the extractive model gives for the document
  const x = await post('/summarize', { text: DOC, model: 'han' });
  assert.deepEqual(x.json.summaries[0].sentences.map((t) => t.score), s.sentences.map((t) => t.score));
});

test('document mode: a text that fits is read whole; mode abstractive cuts (or 413 when strict)', async () => {
  let r = await post('/summarize', { text: 'The council met on Tuesday.', model: 'tiny-short', options: { max_new_tokens: 5 } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.mode, 'document');
  assert.equal(r.json.extractor, undefined);
  assert.equal(r.json.summaries[0].condensed, undefined);
  assert.equal(r.json.summaries[0].sentences, undefined);
  r = await post('/summarize', { text: DOC, model: 'tiny-short', mode: 'abstractive', options: { max_new_tokens: 5 } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.mode, 'abstractive');
  assert.equal(r.json.summaries[0].truncated, true);
  assert.equal(r.json.summaries[0].input_tokens, 100);
  assert.equal(r.json.summaries[0].sentences, undefined);
  r = await post('/summarize', { text: DOC, model: 'tiny-short', mode: 'abstractive', strict: true });
  assert.equal(r.status, 413, r.text);
  // no extractor of the model's language: document mode is abstractive
  r = await post('/summarize', { text: DOC, model: 'tiny-fr', options: { max_new_tokens: 5 } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.summaries[0].truncated, true);
  assert.equal(r.json.summaries[0].condensed, undefined);
  r = await post('/summarize', { text: DOC, model: 'tiny-fr', mode: 'highlights' });
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.error.message, /mode "highlights" needs an extractive \(han\) model for model "tiny-fr", and none is served/);
});

test('highlights mode: one summary per best sentence, in document order', async () => {
  const r = await post('/summarize', { text: [DOC, 'Only one sentence here.', 'no sentence end'], mode: 'highlights', max_sentences: 2, scores: true, options: { max_new_tokens: 4 } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.mode, 'highlights');
  assert.equal(r.json.model, 'tiny-sum');
  assert.equal(r.json.summaries.length, 3);
  const [s, one, blank] = r.json.summaries;
  assert.deepEqual(s.used_sentences, byScore(s, 2));
  assert.deepEqual(s.highlights.map((h) => h.sentence), s.used_sentences);
  assert.equal(s.text, s.highlights.map((h) => h.text).join('\n'));
  for (const h of s.highlights) assert.equal(typeof h.score, 'number');
  // each highlight is what the model makes of its sentence alone
  for (const h of s.highlights) {
    const alone = await post('/summarize', { text: s.sentences[h.sentence].text, model: 'tiny-sum', mode: 'abstractive', options: { max_new_tokens: 4 } });
    assert.equal(alone.json.summaries[0].text, h.text);
  }
  assert.equal(one.highlights.length, 1);
  assert.equal(blank.highlights.length, 1);

});

test('mode extractive without a model, and word weights with attention: true', async () => {
  const r = await post('/summarize', { text: DOC, mode: 'extractive', attention: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.model, 'han');
  assert.equal(r.json.mode, 'extractive');
  for (const x of r.json.summaries[0].sentences) {
    assert.deepEqual(x.words, x.text.split(/\s+/));
    assert.equal(x.word_weights.length, x.words.length);
    const sum = x.word_weights.reduce((a, w) => a + w, 0);
    assert.ok(sum > 0.3 && sum <= 1.001, `word weights sum to ${sum}`);
  }
  const d = await post('/summarize', { text: DOC, model: 'tiny-short', attention: true, options: { max_new_tokens: 4 } });
  assert.equal(d.status, 200, d.text);
  assert.match(d.json.summaries[0].attention_id, /^[0-9a-f]{32}$/);
  assert.ok(d.json.summaries[0].sentences.every((x) => x.word_weights.length === x.words.length));
});

test('/attention on a long document: the maps of what the model read, and both attention levels of the whole', async () => {
  const r = await post('/attention', { task: 'summarize', model: 'tiny-short', text: DOC, kinds: ['cross'], heads: 'mean', options: { max_new_tokens: 4 } });
  assert.equal(r.status, 200, r.text);
  const d = r.json.document;
  assert.equal(d.extractor, 'han');
  assert.equal(r.json.truncated, false);
  assert.ok(d.input_tokens > 100);
  assert.ok(r.json.source_tokens.length <= 100);
  const x = (await post('/summarize', { text: DOC, model: 'tiny-short', attention: true, options: { max_new_tokens: 4 } })).json.summaries[0];
  assert.deepEqual(d.sentences, x.sentences.map((s) => s.text));
  assert.deepEqual(d.used_sentences, x.used_sentences);
  assert.deepEqual(d.sentence_weights, x.sentences.map((s) => s.attention));
  assert.deepEqual(d.words, x.sentences.map((s) => s.words));
  assert.deepEqual(d.word_weights, x.sentences.map((s) => s.word_weights));
  const total = d.sentence_weights.reduce((a, w) => a + w, 0);
  assert.ok(Math.abs(total - 1) < 1e-2, `sentence weights sum to ${total}`);
  // the maps' columns are the used sentences' tokens: the same as the model on that text alone
  const used = d.used_sentences.map((i) => d.sentences[i]).join(' ');
  const alone = await post('/attention', { task: 'summarize', model: 'tiny-short', text: used, kinds: ['cross'], heads: 'mean', options: { max_new_tokens: 4 } });
  assert.deepEqual(alone.json.source_tokens, r.json.source_tokens);
  assert.deepEqual(alone.json.cross_attention, r.json.cross_attention);
  assert.equal(alone.json.document, undefined, 'a text that fits is read whole');
});

test('a document of limits.max_text_bytes is condensed in bounded memory and time', async () => {
  let text = '';
  for (let i = 0; text.length < 65000; i++) text += `Report ${i} says the river rose again overnight in the north. `;
  text = text.slice(0, text.lastIndexOf('.', 65000) + 1);
  for (const mode of ['document', 'highlights']) {
    const r = await post('/summarize', { text, model: 'tiny-short', mode, options: { max_new_tokens: 3 } });
    assert.equal(r.status, 200, r.text);
    const s = r.json.summaries[0];
    assert.equal(s.sentences.length, 512, 'the extractor reads the first 512 sentences');
    if (mode === 'document') assert.equal(s.condensed, true);
    else assert.equal(s.highlights.length, 3);
  }
});
