// stream.test.mjs — "stream": true on /translate and /summarize: a text/event-stream of a
// start event, token events (the text of each item growing: "delta", or "replace" with the
// whole text when a beam's best hypothesis changes), and a last event, "done" with the JSON the
// call without streaming returns, or "error" with the error; a client that leaves mid-stream
// cancels its job and the server goes on; a slow reader gets every event. /attention also
// streams each target row of the cross-attention ("attention" events) as its token is decided,
// equal to the done event's maps, with or without continuous batching (batching off: one
// request at a time, streamed the same way).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { ROOT, startServer, testConfig } from './lib/server.mjs';
import { request } from './lib/http.mjs';

let srv;
// the shipped translator beside the tiny models: a job long enough to leave in the middle of
before(async () => {
  const config = testConfig({ batching: { max_rows: 16 }, limits: { max_output_tokens: 200 } });
  config.models.push({ name: 'en-de', task: 'translate', path: join(ROOT, 'models', 'marian-en-de'), source_lang: 'en', target_lang: 'de' });
  srv = await startServer({ config });
});
after(async () => { assert.equal((await srv.stop()).code, 0); });

/** POSTs body and collects the server-sent events: [{event, data}], with the response. */
async function stream(path, body) {
  const r = await fetch(srv.url + path, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const text = await r.text();
  const events = [];
  for (const block of text.split('\n\n')) {
    if (!block.trim()) continue;
    const ev = { event: 'message', data: '' };
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) ev.event = line.slice(7);
      else if (line.startsWith('data: ')) ev.data += line.slice(6);
    }
    ev.json = JSON.parse(ev.data);
    events.push(ev);
  }
  return { status: r.status, type: r.headers.get('content-type'), events, raw: text };
}

/** The texts the token events build, item by item. */
function replay(events) {
  const texts = [];
  for (const e of events.filter((x) => x.event === 'token')) {
    const i = e.json.index;
    if (e.json.replace) texts[i] = e.json.text;
    else texts[i] = (texts[i] ?? '') + e.json.delta;
  }
  return texts;
}

const TEXT = 'The house is small and the garden is green.';

test('a streamed translation: start, one token event per new token, done = the plain answer', async () => {
  for (const options of [{ num_beams: 1, max_new_tokens: 12 }, { num_beams: 3, max_new_tokens: 12 }]) {
    const s = await stream('/translate', { text: [TEXT, 'A dog runs.'], stream: true, options });
    assert.equal(s.status, 200, s.raw);
    assert.match(s.type, /^text\/event-stream/);
    assert.equal(s.events[0].event, 'start');
    assert.equal(s.events[0].json.model, 'tiny-en-de');
    const last = s.events.at(-1);
    assert.equal(last.event, 'done', s.raw.slice(-400));
    const plain = await request(srv.url, 'POST', '/translate', { body: { text: [TEXT, 'A dog runs.'], options } });
    assert.equal(plain.status, 200);
    assert.deepEqual(last.json.translations.map((t) => t.text), plain.json.translations.map((t) => t.text));
    const tokens = s.events.filter((e) => e.event === 'token');
    // (beam search streams the beams' common prefix: an item whose beams never agree before
    // the end has no token event)
    assert.ok(tokens.length >= (options.num_beams === 1 ? 2 : 1), `${tokens.length} token events`);
    if (options.num_beams === 1) {
      assert.deepEqual(new Set(tokens.map((e) => e.json.index)), new Set([0, 1]));
      // greedy: every event adds text, one more token each
      for (const i of [0, 1]) {
        const mine = tokens.filter((e) => e.json.index === i);
        mine.forEach((e, k) => { if (k) assert.ok(e.json.tokens > mine[k - 1].json.tokens); });
        assert.ok(mine.every((e) => typeof e.json.delta === 'string'));
      }
    }
    // the events rebuild the text of the answer (sentences after the last token event aside)
    const rebuilt = replay(s.events);
    rebuilt.forEach((t, i) => assert.ok(last.json.translations[i].text.startsWith(t), `"${t}" starts "${last.json.translations[i].text}"`));
  }
});

test('a streamed summary, and errors: 4xx before the stream, an error event during it', async () => {
  const s = await stream('/summarize', { text: TEXT, stream: true, options: { max_new_tokens: 6 } });
  assert.equal(s.status, 200);
  assert.equal(s.events.at(-1).event, 'done');
  assert.equal(typeof s.events.at(-1).json.summaries[0].text, 'string');
  let r = await request(srv.url, 'POST', '/translate', { body: { text: TEXT, stream: 'yes' } });
  assert.equal(r.status, 422);
  assert.match(r.json.error.message, /stream/);
  r = await request(srv.url, 'POST', '/translate', { body: { text: TEXT, stream: true, options: { num_beams: 0 } } });
  assert.equal(r.status, 422, 'parameters are checked before the stream starts');
  // too long with strict: known only on the worker, after the stream began
  const long = Array(200).fill('word').join(' ');
  const e = await stream('/translate', { text: long, stream: true, strict: true });
  assert.equal(e.status, 200);
  assert.equal(e.events.at(-1).event, 'error');
  assert.equal(e.events.at(-1).json.error.code, 'input_too_long');
});

test('a client that leaves mid-stream cancels its job; a slow reader gets every event', async () => {
  const metric = async () => {
    const m = await request(srv.url, 'GET', '/metrics');
    const line = m.text.split('\n').find((l) => l.startsWith('attnserve_cancelled_total{reason="client_disconnect"}'));
    return line ? Number(line.split(' ')[1]) : 0;
  };
  const before = await metric();
  const body = JSON.stringify({ text: Array(8).fill(TEXT), model: 'en-de', stream: true, options: { num_beams: 4, max_new_tokens: 200, min_length: 190 } });
  await new Promise((resolve, reject) => {
    const sock = net.connect(srv.port, '127.0.0.1', () => {
      sock.write(`POST /translate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
    let got = '';
    sock.on('data', (d) => {
      got += d;
      if (got.includes('event: token')) { sock.destroy(); resolve(); }
    });
    sock.on('error', reject);
    setTimeout(() => reject(new Error(`no token event: ${got.slice(0, 300)}`)), 20000);
  });
  let after = before;
  for (let i = 0; i < 100 && after === before; i++) {
    await new Promise((r) => setTimeout(r, 100));
    after = await metric();
  }
  assert.equal(after, before + 1, 'the job was cancelled');
  const ok = await request(srv.url, 'POST', '/translate', { body: { text: TEXT } });
  assert.equal(ok.status, 200, 'the server goes on');
  // a reader that takes its time: nothing is lost
  const slow = await new Promise((resolve, reject) => {
    const b = JSON.stringify({ text: TEXT, stream: true, options: { max_new_tokens: 16 } });
    const sock = net.connect(srv.port, '127.0.0.1', () => {
      sock.write(`POST /translate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`);
      sock.pause();
      setTimeout(() => sock.resume(), 1500);
    });
    let got = '';
    sock.on('data', (d) => { got += d; });
    sock.on('end', () => resolve(got));
    sock.on('error', reject);
  });
  assert.match(slow, /^HTTP\/1\.1 200/);
  assert.match(slow, /event: start/);
  assert.match(slow, /event: done/);
});

test('a streamed /attention: the output\'s tokens, then the maps of the plain call', async () => {
  const body = { task: 'translate', text: TEXT, kinds: ['cross'], heads: 'mean', options: { num_beams: 1, max_new_tokens: 10 } };
  const s = await stream('/attention', { ...body, stream: true });
  assert.equal(s.status, 200);
  assert.equal(s.events[0].event, 'start');
  assert.ok(s.events.some((e) => e.event === 'token'));
  const done = s.events.at(-1);
  assert.equal(done.event, 'done');
  const plain = await request(srv.url, 'POST', '/attention', { body });
  assert.equal(done.json.output, plain.json.output);
  assert.deepEqual(done.json.cross_attention, plain.json.cross_attention);
  assert.ok(done.json.output.startsWith(replay(s.events)[0]));
});

// Streaming /attention: an "attention" event per target row of the cross-attention, in order,
// as the row's token becomes stable (greedy: every step; beam search: the beams' common
// prefix, the rest at the end), before done. Each row is the done event's cross_attention row
// for that target (the same layers and heads, or their mean): the streamed rows come from the
// decode steps, done's from the teacher-forced pass of the output, equal up to float rounding,
// and both are written with 4 decimals, so they may differ by one unit in the 4th decimal.
function checkAttentionRows(s, what) {
  const done = s.events.at(-1);
  assert.equal(done.event, 'done', `${what}: ${s.raw.slice(-300)}`);
  const rows = s.events.filter((e) => e.event === 'attention');
  const cross = done.json.cross_attention;
  assert.equal(rows.length, done.json.target_tokens.length, `${what}: one event per target row`);
  rows.forEach((e, t) => {
    assert.equal(e.json.index, 0);
    assert.equal(e.json.row, t, `${what}: rows in order`);
    assert.equal(e.json.token, done.json.target_tokens[t], `${what}: row ${t}'s token`);
    if (t === 0) assert.deepEqual(e.json.source_tokens, done.json.source_tokens, `${what}: the columns`);
    else assert.equal(e.json.source_tokens, undefined);
    assert.equal(e.json.cross.length, cross.length, `${what}: layers`);
    e.json.cross.forEach((heads, l) => {
      assert.equal(heads.length, cross[l].length, `${what}: heads of layer ${l}`);
      heads.forEach((v, h) => {
        const want = cross[l][h][t];
        assert.equal(v.length, want.length, `${what}: row ${t} has a column per source token`);
        v.forEach((x, c) => assert.ok(Math.abs(x - want[c]) <= 1e-4 + 1e-9,
          `${what}: row ${t} layer ${l} head ${h} source ${c}: ${x} streamed, ${want[c]} in done`));
      });
    });
  });
  return rows;
}

test('a streamed /attention sends each cross-attention row as its token is decided, equal to the final maps', async () => {
  const cases = [
    { name: 'greedy, heads mean', body: { heads: 'mean', options: { num_beams: 1, max_new_tokens: 16 } } },
    { name: 'beam search, heads mean', body: { heads: 'mean', options: { num_beams: 3, max_new_tokens: 16 } } },
    { name: 'greedy, layer 1 heads 0 and 1', body: { layers: [1], heads: [0, 1], options: { num_beams: 1, max_new_tokens: 12 } } },
    { name: 'beam search, every layer and head', body: { options: { num_beams: 4, max_new_tokens: 12 } } },
  ];
  for (const c of cases) {
    const body = { task: 'translate', model: 'en-de', text: TEXT, kinds: ['cross'], ...c.body };
    const s = await stream('/attention', { ...body, stream: true });
    assert.equal(s.status, 200, s.raw);
    const rows = checkAttentionRows(s, c.name);
    assert.ok(rows.length >= 5, `${c.name}: ${rows.length} rows`);
    const at = (e) => s.events.indexOf(e);
    const tokens = s.events.filter((e) => e.event === 'token');
    if (c.body.options.num_beams === 1) {
      // greedy: the rows arrive step by step, between the token events, not all at the end
      assert.ok(tokens.length >= 2);
      assert.ok(at(rows[0]) < at(tokens.at(-1)), `${c.name}: the first row came before the last token`);
    }
    // the plain call's maps are the same (the stream changes nothing)
    const plain = await request(srv.url, 'POST', '/attention', { body });
    assert.equal(plain.status, 200);
    assert.deepEqual(s.events.at(-1).json.cross_attention, plain.json.cross_attention, c.name);
  }
  // without kind cross there is nothing to stream row by row
  const enc = await stream('/attention', { task: 'translate', text: TEXT, kinds: ['encoder'], stream: true, options: { max_new_tokens: 6 } });
  assert.equal(enc.events.at(-1).event, 'done');
  assert.equal(enc.events.filter((e) => e.event === 'attention').length, 0);
});

test('without continuous batching (max_rows 1) a job streams its tokens and rows step by step too', async () => {
  const alone = await startServer({ config: testConfig({ batching: { max_rows: 1 } }) });
  const events = async (path, body) => {
    const r = await fetch(alone.url + path, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }),
    });
    const raw = await r.text();
    const evs = raw.split('\n\n').filter((b) => b.trim()).map((b) => {
      const ev = { event: b.match(/^event: (\w+)/m)[1], data: b.match(/^data: (.*)$/m)[1] };
      ev.json = JSON.parse(ev.data);
      return ev;
    });
    return { events: evs, raw };
  };
  try {
    // /translate: greedy, one token event per new token, then done = the plain answer
    const opts = { num_beams: 1, max_new_tokens: 12 };
    const t = await events('/translate', { text: [TEXT, 'A dog runs.'], options: opts });
    assert.equal(t.events[0].event, 'start', t.raw.slice(0, 300));
    assert.equal(t.events.at(-1).event, 'done', t.raw.slice(-300));
    const tokens = t.events.filter((e) => e.event === 'token');
    assert.deepEqual(new Set(tokens.map((e) => e.json.index)), new Set([0, 1]), t.raw.slice(0, 600));
    for (const i of [0, 1]) {
      const mine = tokens.filter((e) => e.json.index === i);
      assert.ok(mine.length >= 2, `item ${i}: ${mine.length} token events`);
      mine.forEach((e, k) => { if (k) assert.ok(e.json.tokens > mine[k - 1].json.tokens); });
    }
    const plain = await request(alone.url, 'POST', '/translate', { body: { text: [TEXT, 'A dog runs.'], options: opts } });
    assert.deepEqual(t.events.at(-1).json.translations.map((x) => x.text), plain.json.translations.map((x) => x.text));
    // /attention: rows equal done's maps; greedy's come between the token events
    for (const num_beams of [1, 3]) {
      const body = { task: 'translate', text: TEXT, kinds: ['cross'], heads: 'max', options: { num_beams, max_new_tokens: 10 } };
      const s = await events('/attention', body);
      const rows = checkAttentionRows(s, `alone, ${num_beams} beams`);
      assert.ok(rows.length >= 3);
      if (num_beams === 1) {
        const toks = s.events.filter((e) => e.event === 'token');
        assert.ok(s.events.indexOf(rows[0]) < s.events.indexOf(toks.at(-1)), 'the first row came before the last token');
      }
      const plainA = await request(alone.url, 'POST', '/attention', { body });
      assert.deepEqual(s.events.at(-1).json.cross_attention, plainA.json.cross_attention);
    }
  } finally {
    assert.equal((await alone.stop()).code, 0);
  }
});

test('a client that leaves a streamed /attention mid-stream cancels its job; the server goes on', async () => {
  const metric = async () => {
    const m = await request(srv.url, 'GET', '/metrics');
    const line = m.text.split('\n').find((l) => l.startsWith('attnserve_cancelled_total{reason="client_disconnect"}'));
    return line ? Number(line.split(' ')[1]) : 0;
  };
  const before = await metric();
  for (const num_beams of [1, 4]) {
    const body = JSON.stringify({ task: 'translate', model: 'en-de', text: TEXT, kinds: ['cross'], heads: 'mean', stream: true, options: { num_beams, max_new_tokens: 200, min_length: 190 } });
    await new Promise((resolve, reject) => {
      const sock = net.connect(srv.port, '127.0.0.1', () => {
        sock.write(`POST /attention HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      });
      let got = '';
      sock.on('data', (d) => {
        got += d;
        if (got.includes('event: attention')) { sock.destroy(); resolve(); }
      });
      sock.on('error', reject);
      setTimeout(() => reject(new Error(`no attention event: ${got.slice(0, 300)}`)), 30000);
    });
  }
  let after = before;
  for (let i = 0; i < 100 && after < before + 2; i++) {
    await new Promise((r) => setTimeout(r, 100));
    after = await metric();
  }
  assert.equal(after, before + 2, 'both jobs were cancelled');
  const ok = await stream('/attention', { task: 'translate', text: TEXT, kinds: ['cross'], heads: 'mean', stream: true, options: { max_new_tokens: 8 } });
  assert.equal(ok.status, 200, 'the server goes on');
  checkAttentionRows(ok, 'after the disconnects');
});
