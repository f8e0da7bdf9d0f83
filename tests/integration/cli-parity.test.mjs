// cli-parity.test.mjs — one decoding-option table behind both binaries: the same options give
// the same output through attnserve-cli (flags) and over HTTP (request "options" and a model's
// configured default_options), on the serve-tiny models; and both --help list every option.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BIN, FIXTURES, startServer, testConfig } from './lib/server.mjs';
import { request } from './lib/http.mjs';

const CLI = resolve(process.env.ATTNSERVE_CLI ?? join(BIN, '../../cli/attnserve-cli'));
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ATTNSERVE_')));

/** {num_beams: 3, do_sample: true} -> ['--num-beams', '3', '--do-sample'] */
function flags(options) {
  const out = [];
  for (const [k, v] of Object.entries(options)) {
    const flag = '--' + k.replaceAll('_', '-');
    if (v === true && k === 'do_sample') out.push(flag);
    else out.push(flag, String(v));
  }
  return out;
}

function cli(cmd, model, text, options) {
  const r = spawnSync(CLI, [cmd, '--model', model, '--json', '--no-split', ...flags(options), text],
                      { env: { ...cleanEnv, OPENBLAS_NUM_THREADS: '1' }, encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, `attnserve-cli ${cmd} ${flags(options).join(' ')}: ${r.stderr}`);
  const j = JSON.parse(r.stdout.trim());
  // --json lists every returned hypothesis under alternatives (the best first) when there are several
  return { text: j.text, output_tokens: j.output_tokens, hypotheses: j.alternatives ? j.alternatives.map(a => a.text) : [j.text] };
}

/** The parts of an HTTP result that attnserve-cli --json also prints (HTTP's alternatives are
 * the hypotheses after the best). */
function http(res) {
  return { text: res.text, output_tokens: res.output_tokens, hypotheses: [res.text, ...(res.alternatives ?? []).map(a => a.text ?? a)] };
}

const TRANSLATE = 'The river runs under the old bridge near the house.';
const SUMMARIZE = 'The city council met on Tuesday to discuss the new bridge over the river. Residents asked whether the bridge would be finished before the winter.';

// Every length option, beam and sampling options, each set mapped from JSON and from flags.
const CASES = [
  { task: 'translate', options: { max_length: 6 } },
  { task: 'translate', options: { max_new_tokens: 5 } },
  { task: 'translate', options: { num_beams: 3, max_length: 9, no_repeat_ngram_size: 2, length_penalty: 0.5 } },
  { task: 'translate', options: { max_new_tokens: 8, min_length: 8 } },
  { task: 'translate', options: { num_beams: 4, num_return_sequences: 3, early_stopping: true, repetition_penalty: 1.3, max_length: 12 } },
  { task: 'translate', options: { do_sample: true, seed: 7, top_k: 5, top_p: 0.9, temperature: 0.8, max_new_tokens: 10 } },
  // 'Hello.' ends after 7 tokens (eos included) when nothing bans eos: min_length 8 (start token
  // included) leaves it as it is, a min_length counted one off would not
  { task: 'translate', text: 'Hello.', options: { min_length: 8 } },
  { task: 'translate', text: 'Hello.', options: { min_length: 9, num_beams: 2 } },
  { task: 'summarize', options: { num_beams: 2, max_length: 12, min_length: 10 } },
  { task: 'summarize', options: { max_new_tokens: 9, no_repeat_ngram_size: 1 } },
];

// A model whose configured default_options are one of the cases: the configuration file's
// options go through the same table.
const DEFAULTS = { num_beams: 3, max_length: 9, no_repeat_ngram_size: 2, length_penalty: 0.5 };

describe('attnserve-cli and HTTP', () => {
  let srv;
  before(async () => {
    const config = testConfig();
    config.models.push({ name: 'tiny-en-de-configured', task: 'translate', path: join(FIXTURES, 'marian'),
                         source_lang: 'en', target_lang: 'de', default_options: DEFAULTS });
    srv = await startServer({ config });
  });
  after(async () => { if (srv) await srv.stop(); });

  const post = async (path, body) => {
    const r = await request(srv.url, 'POST', path, { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(r.status, 200, r.text);
    return r.json;
  };

  test('the CLI binary is there', () => assert.ok(existsSync(CLI), `no ${CLI} (build first, or set ATTNSERVE_CLI)`));

  for (const { task, options, text: given } of CASES) {
    test(`${task} ${given ? JSON.stringify(given) + ' ' : ''}${JSON.stringify(options)} gives the same output`, async () => {
      const text = given ?? (task === 'translate' ? TRANSLATE : SUMMARIZE);
      const model = join(FIXTURES, task === 'translate' ? 'marian' : 't5');
      const body = task === 'translate' ? { text, model: 'tiny-en-de', options } : { text, model: 'tiny-sum', options };
      const j = await post(`/${task}`, body);
      const over = http((task === 'translate' ? j.translations : j.summaries)[0]);
      assert.deepEqual(over, cli(task, model, text, options));
    });
  }

  test('a model\'s configured default_options act as the same flags', async () => {
    const j = await post('/translate', { text: TRANSLATE, model: 'tiny-en-de-configured' });
    assert.deepEqual(http(j.translations[0]), cli('translate', join(FIXTURES, 'marian'), TRANSLATE, DEFAULTS));
  });

  test('max_length counts the decoder start token on both surfaces (transformers)', async () => {
    // with min_length = max_length nothing may end early: max_length N gives N - 1 tokens
    const j = await post('/translate', { text: TRANSLATE, model: 'tiny-en-de', options: { max_length: 7, min_length: 7 } });
    assert.equal(j.translations[0].output_tokens, 6);
    assert.equal(cli('translate', join(FIXTURES, 'marian'), TRANSLATE, { max_length: 7, min_length: 7 }).output_tokens, 6);
  });
});

test('both binaries\' --help list every decoding option of their surface', () => {
  const table = JSON.parse(spawnSync(BIN, ['--print-gen-options'], { env: cleanEnv, encoding: 'utf8' }).stdout);
  const server = spawnSync(BIN, ['--help'], { env: cleanEnv, encoding: 'utf8' }).stdout;
  const cliHelp = spawnSync(CLI, ['translate', '--help'], { env: cleanEnv, encoding: 'utf8' }).stdout;
  for (const [k, v] of Object.entries(table)) {
    assert.ok(server.includes(`  ${k} `), `attnserve --help lacks ${k}`);
    assert.ok(cliHelp.includes(`  --${k.replaceAll('_', '-')} `), `attnserve-cli --help lacks ${k}`);
    assert.ok(server.includes(v.description.split(' ').slice(0, 3).join(' ')), `attnserve --help lacks the help of ${k}`);
  }
});
