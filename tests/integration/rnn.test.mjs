// rnn.test.mjs — the recurrent translator (rnn_seq2seq, models/rnn-en-de-additive: an LSTM
// encoder-decoder with Bahdanau's additive attention) served beside a Transformer: /models says
// what it is, /translate answers with it, /attention returns its one alignment matrix (one layer,
// one head, rows summing to 1) and names the self-attention kinds it does not have; asking only
// for those is a 422 naming the model, and GET /attention/{id} refuses them too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FIXTURES, ROOT, startServer, testConfig } from './lib/server.mjs';
import { request } from './lib/http.mjs';
import { check } from './lib/openapi.mjs';

const models = [
  { name: 'tiny-en-de', task: 'translate', path: join(FIXTURES, 'marian'), source_lang: 'en', target_lang: 'de' },
  { name: 'en-de-rnn', task: 'translate', path: join(ROOT, 'models', 'rnn-en-de-additive'), source_lang: 'en', target_lang: 'de' },
];
let srv;
before(async () => { srv = await startServer({ config: testConfig({ models }) }); });
after(async () => { assert.equal((await srv.stop()).code, 0); });

async function post(path, body) {
  const r = await request(srv.url, 'POST', path, { body });
  check('POST', path, r);
  return r;
}

test('/models names the architecture, its cell and its attention', async () => {
  const r = await request(srv.url, 'GET', '/models');
  check('GET', '/models', r);
  const [tr, rnn] = r.json.models;
  assert.equal(tr.architecture, 'marian');
  assert.equal(tr.self_attention, true);
  assert.equal(tr.attention, 'scaled dot-product, multi-head');
  assert.equal(rnn.name, 'en-de-rnn');
  assert.equal(rnn.architecture, 'rnn_seq2seq');
  assert.equal(rnn.cell, 'lstm');
  assert.equal(rnn.attention, 'additive (Bahdanau)');
  assert.equal(rnn.self_attention, false);
  assert.equal(rnn.heads, 1);
});

test('/translate with model en-de-rnn translates (greedy and beam)', async () => {
  for (const num_beams of [1, 4]) {
    const r = await post('/translate', { text: 'A man is riding a bicycle.', source_lang: 'en', target_lang: 'de', model: 'en-de-rnn', options: { num_beams } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.model, 'en-de-rnn');
    const out = r.json.translations[0].text;
    assert.match(out, /Mann/, out); // a trained model, not noise
  }
});

test('/attention gives one alignment matrix and names the absent self-attention', async () => {
  const r = await post('/attention', { text: 'Two dogs play in the snow.', source_lang: 'en', target_lang: 'de', model: 'en-de-rnn', kinds: ['cross', 'encoder', 'decoder'], heads: 'mean', rollout: true });
  assert.equal(r.status, 200, r.text);
  const j = r.json;
  assert.equal(j.self_attention, false);
  assert.equal(j.attention_type, 'additive (Bahdanau)');
  assert.deepEqual(Object.keys(j.absent).sort(), ['decoder_attention', 'encoder_attention', 'rollout']);
  assert.equal(j.encoder_attention, undefined);
  assert.equal(j.decoder_attention, undefined);
  assert.equal(j.rollout, undefined);
  assert.deepEqual(j.n_layers, { encoder: 0, decoder: 1 });
  assert.equal(j.n_heads, 1);
  const m = j.cross_attention[0][0];
  assert.equal(m.length, j.target_tokens.length);
  for (const row of m) {
    assert.equal(row.length, j.source_tokens.length);
    const sum = row.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-3, `row sums to ${sum}`);
  }
  // the stored result refuses the kinds the model does not have, naming it
  const enc = await request(srv.url, 'GET', `/attention/${j.id}?kind=encoder`);
  assert.equal(enc.status, 422, enc.text);
  assert.match(enc.json.error.message, /no encoder self-attention/);
  const cross = await request(srv.url, 'GET', `/attention/${j.id}?kind=cross&layer=0&head=0`);
  assert.equal(cross.status, 200, cross.text);
});

test('asking only for self-attention of a recurrent model is a 422 naming it', async () => {
  const r = await post('/attention', { text: 'Hello.', source_lang: 'en', target_lang: 'de', model: 'en-de-rnn', kinds: ['encoder'] });
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.error.message, /en-de-rnn.*no encoder or decoder self-attention/);
});
