// config.test.mjs — the attnserve process and its configuration: help, version, --check,
// invalid values reported with their key paths (and no start), precedence of file,
// environment and flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, FIXTURES, ROOT, startServer, testConfig } from './lib/server.mjs';
import { request } from './lib/http.mjs';

const dir = mkdtempSync(join(tmpdir(), 'attnserve-cfg-'));
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ATTNSERVE_')));
const run = (args, env = {}) => spawnSync(BIN, args, { env: { ...cleanEnv, ...env }, encoding: 'utf8', timeout: 30000, cwd: dir });

test('--help lists every flag with its environment variable and exits 0', () => {
  const r = run(['--help']);
  assert.equal(r.status, 0);
  for (const s of ['--config FILE', '--port N', 'ATTNSERVE_PORT', '--model NAME=PATH', '--workers N',
                   'limits.max_body_bytes', 'ATTNSERVE_API_KEYS_FILE', '--cors-origin', '--check'])
    assert.ok(r.stdout.includes(s), `help lacks ${s}`);
});

test('--version prints the version', () => {
  const r = run(['--version']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^attnserve \d+\.\d+\.\d+\n$/);
});

test('every invalid value is reported with its key path and the server does not start', () => {
  const cfg = join(dir, 'bad.json');
  writeFileSync(cfg, JSON.stringify({
    listen: { port: 70000 },
    workers: 0,
    limits: { max_body_bytes: 'big', request_timeout_ms: -1 },
    models: [{ name: 'x', path: '/no/such/dir' }, { name: 'y', path: join(FIXTURES, 'marian'), default_options: { num_beams: 99 } }],
    colour: 'blue',
  }));
  const r = run(['--config', cfg]);
  assert.equal(r.status, 2, r.stderr);
  for (const s of ['listen.port must be an integer between 0 and 65535, got 70000',
                   'workers must be an integer between 1 and 64, got 0',
                   'limits.max_body_bytes must be an integer between 256 and 1073741824, got "big"',
                   'limits.request_timeout_ms must be an integer between 10 and 3600000, got -1',
                   'models[1].default_options.num_beams must be an integer between 1 and 16, got 99',
                   'colour: unknown key'])
    assert.ok(r.stderr.includes(s), `stderr lacks "${s}":\n${r.stderr}`);
  assert.match(r.stderr, /configuration problems; not starting/);
});

test('model folders are checked before listening', () => {
  const r = run(['--model', 'x=/no/such/dir', '--port', '0']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /models\[0\]\.path \(model x\): no such directory: \/no\/such\/dir/);
  const r2 = run(['--model', `x=${FIXTURES}`, '--port', '0']);
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /has no config\.json; not a Hugging Face checkpoint folder/);
});

test('environment and flags are validated too, and name their source', () => {
  const r = run(['--model', `m=${join(FIXTURES, 'marian')}`, '--queue-depth', 'many'], { ATTNSERVE_PORT: 'http', ATTNSERVE_LOG_LEVEL: 'loud' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /ATTNSERVE_PORT must be an integer between 0 and 65535, got "http"/);
  assert.match(r.stderr, /ATTNSERVE_LOG_LEVEL must be one of debug, info, warn, error, got "loud"/);
  assert.match(r.stderr, /--queue-depth must be an integer between 1 and 100000, got "many"/);
});

test('--check loads the models and exits 0 without listening', () => {
  const r = run(['--check', '--model', `m=${join(FIXTURES, 'marian')}`, '--model', `s=${join(FIXTURES, 't5')},task=summarize`]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /"event":"check"/);
  assert.doesNotMatch(r.stderr, /"event":"listening"/);
});

test('the shipped default config loads the shipped models', () => {
  const r = run(['--check', '--config', join(ROOT, 'config/attnserve.json')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /"event":"check"/);
});

test('flags override the environment, which overrides the file; the task and languages come from the checkpoint', async () => {
  const config = testConfig({ queue_depth: 3, workers: 1, models: [] });
  const s = await startServer({
    config,
    env: { ATTNSERVE_QUEUE_DEPTH: '5', ATTNSERVE_WORKERS: '2', ATTNSERVE_MODELS: `envmodel=${join(FIXTURES, 't5')},task=summarize` },
    args: ['--queue-depth', '7', '--model', `flagmodel=${join(FIXTURES, 'marian')}`],
  });
  try {
    const m = await request(s.url, 'GET', '/metrics');
    assert.match(m.text, /attnserve_queue_capacity 7\n/);
    assert.match(m.text, /attnserve_workers 2\n/);
    const models = (await request(s.url, 'GET', '/models')).json.models;
    assert.deepEqual(models.map(x => [x.name, x.task, x.source_lang ?? null, x.target_lang ?? null]),
      [['envmodel', 'summarize', null, null], ['flagmodel', 'translate', 'en', 'de']]);
  } finally { assert.equal((await s.stop()).code, 0); }
});

test('SIGINT stops the server like SIGTERM', async () => {
  const s = await startServer();
  const r = await s.stop('SIGINT');
  assert.equal(r.code, 0);
});
