// multilingual.test.mjs — routing among translation models that serve several pairs: a model
// configured with "languages" serves every ordered pair among them (OPUS-MT style, the source
// prefixed with the target's token >>xx<<), a request goes to the first configured model that
// serves its pair, /models and /languages list the pairs, and a tokenizer without a listed
// language's token stops the server at load. The model is serve-tiny/marian-mul (random
// weights, gibberish output): the tests check which model answered and what it was fed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, FIXTURES, startServer, testConfig } from './lib/server.mjs';
import { request } from './lib/http.mjs';
import { check } from './lib/openapi.mjs';

const DE = 'Das Wetter ist heute sehr schön und wir gehen lange im Park spazieren.';
const models = [
  // a dedicated en->de model listed first keeps en->de
  { name: 'tiny-en-de', task: 'translate', path: join(FIXTURES, 'marian'), source_lang: 'en', target_lang: 'de' },
  { name: 'tiny-mul', path: join(FIXTURES, 'marian-mul'), languages: ['en', 'de', 'fr'] },
];
let srv;
before(async () => { srv = await startServer({ config: testConfig({ models }) }); });
after(async () => { assert.equal((await srv.stop()).code, 0); });

async function post(path, body) {
  const r = await request(srv.url, 'POST', path, { body });
  check('POST', path, r);
  return r;
}

test('/models lists every model\'s language pairs, /languages every pair served', async () => {
  const r = await request(srv.url, 'GET', '/models');
  check('GET', '/models', r);
  const [ende, mul] = r.json.models;
  assert.deepEqual(ende.language_pairs, [{ source: 'en', target: 'de' }]);
  assert.equal(ende.source_lang, 'en');
  assert.deepEqual(mul.languages, ['en', 'de', 'fr']);
  assert.equal(mul.source_lang, undefined);
  assert.deepEqual(mul.language_pairs.map(p => `${p.source}-${p.target}`), ['en-de', 'en-fr', 'de-en', 'de-fr', 'fr-en', 'fr-de']);
  const l = await request(srv.url, 'GET', '/languages');
  check('GET', '/languages', l);
  assert.deepEqual(l.json, [
    { code: 'en', name: 'English', targets: ['de', 'fr'] },
    { code: 'de', name: 'German', targets: ['en', 'fr'] },
    { code: 'fr', name: 'French', targets: ['en', 'de'] },
  ]);
});

test('a pair goes to the first model that serves it; the multilingual model gets the target token', async () => {
  const ende = await post('/translate', { text: 'Hello world', source_lang: 'en', target_lang: 'de', tokens: true, split_sentences: false });
  assert.equal(ende.json.model, 'tiny-en-de');
  assert.notEqual(ende.json.translations[0].tokens.source[0], '>>de<<');
  for (const [src, tgt] of [['en', 'fr'], ['de', 'fr'], ['fr', 'en'], ['de', 'en'], ['fr', 'de']]) {
    const r = await post('/translate', { text: 'Hello world', source_lang: src, target_lang: tgt, tokens: true, split_sentences: false });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.model, 'tiny-mul', `${src}->${tgt}`);
    assert.equal(r.json.translations[0].tokens.source[0], `>>${tgt}<<`, `${src}->${tgt}`);
  }
  // the token is added to every sentence of a split text
  const split = await post('/translate', { text: 'Hello world. Good morning.', source_lang: 'en', target_lang: 'fr', tokens: true });
  assert.equal(split.json.translations[0].tokens.source[0], '>>fr<<');
  // a named multilingual model: its pairs only
  const named = await post('/translate', { text: 'Hello', model: 'tiny-mul', source_lang: 'en', target_lang: 'de', tokens: true });
  assert.equal(named.json.translations[0].tokens.source[0], '>>de<<');
  const same = await post('/translate', { text: 'Hello', model: 'tiny-mul', source_lang: 'en', target_lang: 'en' });
  assert.equal(same.status, 422);
  assert.match(same.json.error.message, /model "tiny-mul" translates among en<->de<->fr, not en to en/);
  const none = await post('/translate', { text: 'Hello', source_lang: 'en', target_lang: 'cs' });
  assert.equal(none.status, 404);
  assert.match(none.json.error.message, /available: en->de, en<->de<->fr/);
  // attention runs get the token too
  const att = await post('/attention', { task: 'translate', text: 'Hello', source_lang: 'de', target_lang: 'fr', kinds: ['cross'], heads: 'mean' });
  assert.equal(att.json.model, 'tiny-mul');
  assert.equal(att.json.source_tokens[0], '>>fr<<');
});

test('LibreTranslate requests and source auto are routed the same way', async () => {
  const auto = await post('/translate', { q: DE, source: 'auto', target: 'fr' });
  assert.equal(auto.status, 200, auto.text);
  assert.equal(auto.json.detectedLanguage.language, 'de');
  const native = await post('/translate', { text: DE, model: 'tiny-mul', source_lang: 'de', target_lang: 'fr' });
  assert.equal(auto.json.translatedText, native.json.translations[0].text);
  const ende = await post('/translate', { q: 'Hello world', source: 'en', target: 'de' });
  const direct = await post('/translate', { text: 'Hello world', model: 'tiny-en-de' });
  assert.equal(ende.json.translatedText, direct.json.translations[0].text);
});

test('a listed language without its token in the tokenizer stops the server at load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attnserve-mul-'));
  const cfg = join(dir, 'config.json');
  writeFileSync(cfg, JSON.stringify(testConfig({ models: [{ name: 'mul-cs', path: join(FIXTURES, 'marian-mul'), languages: ['en', 'de', 'cs'] }] })));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ATTNSERVE_')));
  const r = spawnSync(BIN, ['--config', cfg, '--check'], { env, encoding: 'utf8', timeout: 30000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /model mul-cs: languages lists cs, but its tokenizer has no target-language token >>cs<</);
  // a model without language tokens at all
  writeFileSync(cfg, JSON.stringify(testConfig({ models: [{ name: 'plain', path: join(FIXTURES, 'marian'), languages: ['en', 'de'] }] })));
  const r2 = spawnSync(BIN, ['--config', cfg, '--check'], { env, encoding: 'utf8', timeout: 30000 });
  assert.notEqual(r2.status, 0);
  assert.match(r2.stderr, /model plain: languages lists en, but its tokenizer has no target-language token >>en<</);
});
