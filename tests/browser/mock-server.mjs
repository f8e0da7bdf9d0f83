// mock-server.mjs — a stand-in for the attnserve HTTP API, for UI-only browser tests: serves
// web/static and canned answers of the API's shapes (openapi.yaml) with made-up but consistent
// attention (mean/max really are the mean/max of the heads; rows sum to 1).
//
// Usage: node tests/browser/mock-server.mjs [port]   (0 or nothing = an ephemeral port; prints
// "listening on http://127.0.0.1:PORT"). Also importable: startMockServer({ port }) -> { url, close }.
// Special inputs: text containing "FAIL400" -> 400 invalid_json, "FAIL503" -> 503 busy with
// Retry-After, "NOATTN" -> /attention answers 413 attention_too_large (the task endpoints work),
// "STREAM" -> POST /attention with "stream": true answers as the server streams (start, then per
// target row a token event and an attention event with that row of cross_attention, 250 ms
// apart, then done with the plain answer); without the marker the JSON answer comes at once.
// POST /__mock/evict forgets every stored result (GET /attention/{id} then answers 404);
// GET /__mock/last gives the last body POSTed to each route.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const STATIC = path.resolve(here, '../../web/static');

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json',
};

export const MODELS = [
  {
    name: 'en-de', task: 'translate', source_lang: 'en', target_lang: 'de', architecture: 'marian',
    parameters: 7412345, dtype: 'F16', encoder_layers: 3, decoder_layers: 2, heads: 4, max_input_tokens: 512,
    default_options: { num_beams: 4, max_new_tokens: 64 },
  },
  {
    // a multilingual model (OPUS-MT style): every listed pair; the server adds >>xx<< itself
    name: 'mul', task: 'translate', architecture: 'marian', parameters: 10970000, dtype: 'F16',
    encoder_layers: 3, decoder_layers: 2, heads: 4, max_input_tokens: 512,
    languages: ['en', 'de', 'fr'],
    language_pairs: [['en', 'de'], ['en', 'fr'], ['de', 'en'], ['de', 'fr'], ['fr', 'en'], ['fr', 'de']]
      .map(([source, target]) => ({ source, target })),
    default_options: { num_beams: 4, max_new_tokens: 64 },
  },
  {
    name: 'cnn-summary', task: 'summarize', architecture: 'bart', parameters: 12000000, dtype: 'F32',
    encoder_layers: 2, decoder_layers: 2, heads: 4, max_input_tokens: 1024,
    default_options: { num_beams: 2, max_new_tokens: 40 },
  },
];

const DICT = {
  the: 'das', little: 'kleine', house: 'Haus', by: 'am', lake: 'See', has: 'hat', a: 'eine', red: 'rote',
  door: 'Tür', is: 'ist', small: 'klein', cat: 'Katze', sits: 'sitzt', on: 'auf', mat: 'Matte', i: 'ich',
  love: 'liebe', you: 'dich', good: 'gut', morning: 'Morgen', hello: 'hallo', world: 'Welt',
};

// Display tokens as the server gives them: a leading space marks a word start.
function tokenize(text) {
  const raw = (text.match(/\s*[\p{L}\p{N}]+|\s*[^\s\p{L}\p{N}]/gu) || []).slice(0, 200);
  return raw.map((t, i) => (i === 0 || /^\s/.test(t) ? ' ' + t.trim() : t));
}

// Deterministic pseudo-random numbers from a string seed.
function rng(seed) {
  let h = crypto.createHash('sha256').update(seed).digest().readUInt32LE(0) || 1;
  return () => {
    h ^= h << 13; h >>>= 0; h ^= h >>> 17; h ^= h << 5; h >>>= 0;
    return h / 4294967296;
  };
}

const round4 = (x) => Math.round(x * 1e4) / 1e4;

function softmaxRow(logits) {
  const m = Math.max(...logits);
  const e = logits.map((x) => (Number.isFinite(x) ? Math.exp(x - m) : 0));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

// One attention matrix [nq][nk]: each query prefers a key near its diagonal position, sharper
// or shifted per head, plus noise. causal: keys after the query are masked.
function makeMatrix(r, nq, nk, layer, head, causal) {
  const sharp = 1.5 + head * 1.2 + layer * 0.5;
  const shift = (head % 3) - 1;
  const m = [];
  for (let q = 0; q < nq; q++) {
    const centre = (nk === 1 || nq === 1) ? 0 : (q * (nk - 1)) / (nq - 1) + shift;
    const logits = [];
    for (let k = 0; k < nk; k++) {
      if (causal && k > q) logits.push(-Infinity);
      else logits.push(-sharp * Math.abs(k - centre) / 2 + 2 * r());
    }
    m.push(softmaxRow(logits).map(round4));
  }
  return m;
}

function reduceHeads(mats, how) {
  return mats[0].map((row, i) => row.map((_, j) => {
    const vals = mats.map((m) => m[i][j]);
    return round4(how === 'max' ? Math.max(...vals) : vals.reduce((a, b) => a + b, 0) / vals.length);
  }));
}

function matmul(a, b) {
  return a.map((row) => b[0].map((_, j) => row.reduce((s, x, k) => s + x * b[k][j], 0)));
}

const results = new Map(); // id -> computed result
const lastBodies = {}; // path -> the last JSON body POSTed there (GET /__mock/last)

const NAMES = { en: 'English', de: 'German', fr: 'French' };

/** GET /languages as LibreTranslate answers it: every source and target language, each with
 * the languages it translates into. */
function languages() {
  const targets = new Map();
  for (const m of MODELS.filter((x) => x.task === 'translate')) {
    const pairs = m.language_pairs || [{ source: m.source_lang, target: m.target_lang }];
    for (const { source, target } of pairs) {
      if (!targets.has(source)) targets.set(source, new Set());
      if (!targets.has(target)) targets.set(target, new Set());
      targets.get(source).add(target);
    }
  }
  return [...targets].map(([code, t]) => ({ code, name: NAMES[code] || code, targets: [...t] }));
}

/** POST /detect: a toy identifier (German or French marker words, else English); text without
 * letters gets LibreTranslate's undecided answer, [{ language: "en", confidence: 0 }]. */
function detect(body) {
  const q = String(body.q || '');
  if (!/\p{L}/u.test(q)) return [{ language: 'en', confidence: 0 }];
  if (/\b(der|die|das|und|ist|Katze|Haus)\b/i.test(q)) return [{ language: 'de', confidence: 93 }];
  if (/\b(le|la|les|est|et|chat|maison)\b/i.test(q)) return [{ language: 'fr', confidence: 91 }];
  return [{ language: 'en', confidence: 95 }];
}

/** The model a request gets: the one it names, else the first of the task that serves its
 * language pair (as the server picks). */
function pickModel(task, modelName, src, tgt) {
  const serves = (m) => (m.language_pairs || [{ source: m.source_lang, target: m.target_lang }])
    .some((p) => (!src || p.source === src) && (!tgt || p.target === tgt));
  return MODELS.find((m) => m.name === modelName)
    || MODELS.find((m) => m.task === task && (task !== 'translate' || serves(m)))
    || MODELS.find((m) => m.task === task);
}

function compute(task, text, modelName, srcLang, tgtLang) {
  const model = pickModel(task, modelName, srcLang, tgtLang);
  const words = tokenize(text);
  const src = [...words, '</s>'];
  let outWords;
  if (task === 'summarize') outWords = words.slice(0, Math.min(12, words.length));
  else outWords = words.map((w) => (DICT[w.trim().toLowerCase()] ? ' ' + DICT[w.trim().toLowerCase()] : w));
  const tgt = [...outWords, '</s>'];
  const decIn = ['<pad>', ...tgt.slice(0, -1)];
  const r = rng(`${model.name}|${text}`);
  const H = model.heads, Le = model.encoder_layers, Ld = model.decoder_layers;
  const gen = (nl, nq, nk, causal) => Array.from({ length: nl }, (_, l) =>
    Array.from({ length: H }, (_, h) => makeMatrix(r, nq, nk, l, h, causal)));
  const res = {
    id: crypto.randomBytes(16).toString('hex'), model, task, text,
    output: outWords.join('').trim(),
    source_tokens: src, target_tokens: tgt, decoder_input_tokens: decIn,
    cross: gen(Ld, tgt.length, src.length, false),
    encoder: gen(Le, src.length, src.length, false),
    decoder: gen(Ld, tgt.length, decIn.length, true),
  };
  results.set(res.id, res);
  if (results.size > 50) results.delete(results.keys().next().value);
  return res;
}

function headMatrix(res, kind, layer, head) {
  const mats = res[kind][layer];
  if (head === 'mean' || head === 'max') return reduceHeads(mats, head);
  return mats[head];
}

function rollout(res) {
  // Abnar & Zuidema: A_hat = 0.5 * mean_heads(A) + 0.5 * I, multiplied from the first layer up.
  const n = res.source_tokens.length;
  let acc = null;
  for (let l = 0; l < res.encoder.length; l++) {
    const a = reduceHeads(res.encoder[l], 'mean').map((row, i) => row.map((x, j) => 0.5 * x + (i === j ? 0.5 : 0)));
    acc = acc ? matmul(a, acc) : a;
  }
  return acc ? acc.map((row) => row.map(round4)) : Array.from({ length: n }, () => Array(n).fill(0));
}

class HttpError extends Error {
  constructor(status, code, message, headers = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

function checkText(text) {
  if (typeof text !== 'string' || !text.trim()) throw new HttpError(422, 'invalid_value', 'text must be a non-empty string');
  if (text.includes('FAIL400')) throw new HttpError(400, 'invalid_json', 'the body is not valid JSON');
  if (text.includes('FAIL503')) throw new HttpError(503, 'busy', 'all workers are busy, try again later', { 'Retry-After': '2' });
}

function checkOptions(o) {
  if (o === undefined) return;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new HttpError(422, 'invalid_value', 'options must be an object');
  if (o.num_beams !== undefined && !(Number.isInteger(o.num_beams) && o.num_beams >= 1 && o.num_beams <= 16)) {
    throw new HttpError(422, 'invalid_value', `options.num_beams must be an integer between 1 and 16, got ${JSON.stringify(o.num_beams)}`);
  }
}

function attentionPost(body) {
  checkOptions(body.options);
  const task = body.task || 'translate';
  if (task !== 'translate' && task !== 'summarize') throw new HttpError(422, 'invalid_value', 'task must be "translate" or "summarize"');
  checkText(body.text);
  if (body.text.includes('NOATTN')) throw new HttpError(413, 'attention_too_large', 'the attention maps of this text are too long for the attention store');
  const res = compute(task, body.text, body.model, body.source_lang, body.target_lang);
  const kinds = body.kinds || ['cross', 'encoder', 'decoder'];
  const heads = body.heads === undefined ? [...Array(res.model.heads).keys()]
    : body.heads === 'mean' || body.heads === 'max' ? [body.heads] : body.heads;
  const allEnc = [...Array(res.model.encoder_layers).keys()], allDec = [...Array(res.model.decoder_layers).keys()];
  const encLayers = body.layers ? body.layers.filter((l) => l < allEnc.length) : allEnc;
  const decLayers = body.layers ? body.layers.filter((l) => l < allDec.length) : allDec;
  const out = {
    id: res.id, model: res.model.name, task, output: res.output,
    source_tokens: res.source_tokens, target_tokens: res.target_tokens, decoder_input_tokens: res.decoder_input_tokens,
    layers: { encoder: encLayers, decoder: decLayers },
    heads: heads.map((h) => h), n_layers: { encoder: allEnc.length, decoder: allDec.length }, n_heads: res.model.heads,
  };
  const pick = (kind, layers) => layers.map((l) => heads.map((h) => headMatrix(res, kind, l, h)));
  if (kinds.includes('cross')) out.cross_attention = pick('cross', decLayers);
  if (kinds.includes('encoder')) out.encoder_attention = pick('encoder', encLayers);
  if (kinds.includes('decoder')) out.decoder_attention = pick('decoder', decLayers);
  if (body.rollout) out.rollout = { encoder: rollout(res) };
  if (body.alignment) {
    const last = reduceHeads(res.cross[res.cross.length - 1], 'mean');
    out.alignment = last.map((row, t) => ({ target: t, source: [row.indexOf(Math.max(...row))] }));
  }
  out.timings = { queue_ms: 0.1, inference_ms: 12.3, total_ms: 12.6 };
  return out;
}

function attentionGet(id, query) {
  const res = results.get(id);
  if (!res) throw new HttpError(404, 'attention_not_found', 'no attention result with this id (unknown, or expired and dropped)');
  const kind = query.get('kind') || 'cross';
  if (!['cross', 'encoder', 'decoder'].includes(kind)) throw new HttpError(422, 'invalid_value', 'kind must be cross, encoder or decoder');
  const layer = Number(query.get('layer') || 0);
  const nl = res[kind].length;
  if (!Number.isInteger(layer) || layer < 0 || layer >= nl) throw new HttpError(422, 'invalid_value', `layer must be between 0 and ${nl - 1}`);
  const hq = query.get('head') || 'mean';
  const head = hq === 'mean' || hq === 'max' ? hq : Number(hq);
  if (head !== 'mean' && head !== 'max' && !(Number.isInteger(head) && head >= 0 && head < res.model.heads)) {
    throw new HttpError(422, 'invalid_value', `head must be mean, max or 0..${res.model.heads - 1}`);
  }
  const rows = kind === 'encoder' ? res.source_tokens : res.target_tokens;
  const cols = kind === 'cross' || kind === 'encoder' ? res.source_tokens : res.decoder_input_tokens;
  return { id, kind, layer, head, rows, cols, matrix: headMatrix(res, kind, layer, head) };
}

function taskPost(task, body) {
  const texts = Array.isArray(body.text) ? body.text : [body.text];
  texts.forEach(checkText);
  checkOptions(body.options);
  const items = texts.map((t) => {
    const res = compute(task, t, body.model, body.source_lang, body.target_lang);
    results.delete(res.id);
    return task === 'summarize'
      ? { text: res.output, truncated: false, input_tokens: res.source_tokens.length, input_tokens_original: res.source_tokens.length }
      : { text: res.output };
  });
  const model = pickModel(task, body.model, body.source_lang, body.target_lang).name;
  const usage = { input_tokens: texts.reduce((a, t) => a + tokenize(t).length + 1, 0), output_tokens: items.length * 3 };
  const timings = { queue_ms: 0.1, inference_ms: 9.9, total_ms: 10.2 };
  return task === 'summarize' ? { model, summaries: items, usage, timings } : { model, translations: items, usage, timings };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
      } catch {
        reject(new HttpError(400, 'invalid_json', 'the request body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

/** POST /attention with "stream": true as the server streams it (text/event-stream). */
async function attentionStream(res, out) {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store' });
  const send = (event, data) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  send('start', { model: out.model });
  for (let t = 0; t < out.target_tokens.length; t++) {
    await new Promise((r) => setTimeout(r, 250));
    if (res.destroyed) return;
    send('token', { index: 0, tokens: t + 1, delta: (t ? ' ' : '') + out.target_tokens[t] });
    const ev = { index: 0, row: t, token: out.target_tokens[t] };
    if (t === 0) ev.source_tokens = out.source_tokens;
    ev.cross = out.cross_attention.map((perHead) => perHead.map((m) => m[t]));
    send('attention', ev);
  }
  send('done', out);
  res.end();
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://x');
  const p = url.pathname;
  const json = (status, obj, headers = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(obj));
  };
  try {
    if (req.method === 'GET' && p === '/models') return json(200, { models: MODELS });
    if (req.method === 'GET' && p === '/languages') return json(200, languages());
    if (req.method === 'GET' && p === '/__mock/last') return json(200, lastBodies);
    if (req.method === 'POST' && p === '/detect') return json(200, detect(lastBodies[p] = await readBody(req)));
    if (req.method === 'POST' && p === '/__mock/evict') { // tests: forget every stored result
      results.clear();
      return json(200, { evicted: true });
    }
    if (req.method === 'GET' && (p === '/healthz' || p === '/readyz')) return json(200, { status: 'ok' });
    if (req.method === 'GET' && p.startsWith('/attention/')) return json(200, attentionGet(decodeURIComponent(p.slice(11)), url.searchParams));
    if (req.method === 'POST' && p === '/attention') {
      const body = lastBodies[p] = await readBody(req);
      const out = attentionPost(body);
      if (body.stream === true && body.text.includes('STREAM') && out.cross_attention) return attentionStream(res, out);
      return json(200, out);
    }
    if (req.method === 'POST' && (p === '/translate' || p === '/summarize')) return json(200, taskPost(p.slice(1), lastBodies[p] = await readBody(req)));
    if (req.method === 'GET') {
      const file = p === '/' ? 'index.html' : p.slice(1);
      const full = path.resolve(STATIC, file);
      if (full.startsWith(STATIC + path.sep) && fs.existsSync(full) && fs.statSync(full).isFile()) {
        res.writeHead(200, { 'Content-Type': TYPES[path.extname(full)] || 'application/octet-stream', 'Cache-Control': 'no-store' });
        return res.end(fs.readFileSync(full));
      }
    }
    throw new HttpError(404, 'not_found', `no route for ${req.method} ${p}`);
  } catch (e) {
    if (e instanceof HttpError) return json(e.status, { error: { code: e.code, message: e.message } }, e.headers);
    return json(500, { error: { code: 'internal', message: String(e.message || e) } });
  }
}

/** Starts the mock on 127.0.0.1:port (0 = ephemeral). Resolves to { url, close() }. */
export function startMockServer({ port = 0 } = {}) {
  const server = http.createServer((req, res) => { handle(req, res); });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      const { port: p } = server.address();
      resolve({ url: `http://127.0.0.1:${p}`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const { url } = await startMockServer({ port: Number(process.argv[2] || 0) });
  console.log(`listening on ${url}`);
}
