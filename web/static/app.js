// app.js — attnserve web UI: runs a translation or summary through the HTTP API, then lets the
// user explore the attention behind it (cross, encoder and decoder self-attention, rollout) as a
// heatmap with layer/head selectors, hover and keyboard highlighting, and SVG/PNG/JSON export.
import { Heatmap, color, inkOn, matrixMax, drawThumbnail, shortLabel, gradientCSS, tickLabel } from './heatmap.js';

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------------
// API access
// ---------------------------------------------------------------------------------------------

/** An error answer of the API ({"error":{"code","message"}}), or a network failure (status 0). */
class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** GET (body undefined) or POST JSON to a path relative to the page; resolves to parsed JSON. */
async function api(path, body, signal) {
  const init = { headers: { Accept: 'application/json' }, signal };
  if (body !== undefined) {
    init.method = 'POST';
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network_error', `Cannot reach the attnserve server (${e.message}).`);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = data && data.error;
    if (typeof err === 'string') { // LibreTranslate's shape (/detect, /languages)
      throw new ApiError(res.status, `http_${res.status}`, err, res.headers.get('Retry-After'));
    }
    throw new ApiError(res.status, (err && err.code) || `http_${res.status}`,
      (err && err.message) || text.slice(0, 300) || res.statusText, res.headers.get('Retry-After'));
  }
  if (data === null) throw new ApiError(res.status, 'bad_response', 'The server answered with something that is not JSON.');
  return data;
}

/** Shows an error (ApiError, Error or string) in a role="alert" box; null hides the box. */
function showError(box, err, context) {
  if (!err) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  box.replaceChildren();
  const head = document.createElement('strong');
  if (err instanceof ApiError) {
    head.textContent = err.status ? `${context || 'Request failed'} (HTTP ${err.status}) ` : `${context || 'Request failed'}: `;
    const code = document.createElement('code');
    code.textContent = err.code;
    box.append(head, code, document.createTextNode(' — ' + err.message));
    if (err.retryAfter) box.append(document.createTextNode(` The server is busy: try again in ${err.retryAfter} s.`));
  } else {
    head.textContent = (context || 'Error') + ': ';
    box.append(head, document.createTextNode(err.message || String(err)));
  }
  box.hidden = false;
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

const state = {
  models: [],
  languages: [], // GET /languages: [{ code, name, targets }], every served source and target
  source: 'auto', // the From picker: 'auto' (detect) or a code
  target: '', // the To picker
  task: 'translate',
  run: null, // { request, resp, id, alignment: Map } of the last POST /attention
  cache: new Map(), // "kind/layer/head" -> Promise<{rows, cols, matrix}>
  kind: 'cross',
  layer: 0,
  head: 'mean', // 'mean' | 'max' | head index
  cell: 28,
  userZoomed: false,
  active: { row: null, col: null },
  view: null, // what the heatmap shows now
  renderSeq: 0,
  stripSeq: 0,
  exampleShown: null,
};

const heatmap = new Heatmap($('heatmap'));

const EXAMPLES = {
  translate: {
    en: 'The little house by the lake has a red door.',
    de: 'Das kleine Haus am See hat eine rote Tür.',
    fr: 'La petite maison au bord du lac a une porte rouge.',
    es: 'La casita junto al lago tiene una puerta roja.',
  },
  summarize: {
    en: 'The city council approved a plan on Tuesday to build a new bridge across the river, ending '
      + 'years of debate. The bridge will carry cyclists and pedestrians and is expected to open in '
      + 'three years. Supporters say it will cut commuting times and reduce traffic in the old town, '
      + 'while critics worry about the cost, estimated at 40 million euros, and about the impact on '
      + 'the riverbank park. The mayor said construction would begin next spring.',
  },
};

const KIND_INFO = {
  cross: {
    name: 'Cross-attention',
    rowAxis: 'generated tokens', colAxis: 'source tokens',
    rowsLabel: 'Target', colsLabel: 'Source',
    explain: 'Each row is a generated token and each column a source token: a cell shows how strongly '
      + 'the decoder looked at that source token while producing that output token. Each row sums to 1.',
  },
  encoder: {
    name: 'Encoder self-attention',
    rowAxis: 'source token (attending)', colAxis: 'source token (attended to)',
    rowsLabel: 'Attending', colsLabel: 'Attended',
    explain: 'Each row is a source token attending to every source token, itself included, while the '
      + 'encoder builds its representation of the input. Each row sums to 1.',
  },
  decoder: {
    name: 'Decoder self-attention',
    rowAxis: 'generated tokens', colAxis: 'decoder input (start + earlier outputs)',
    rowsLabel: 'Target', colsLabel: 'Decoder in',
    explain: 'Each row is a generated token; the columns are what the decoder had already seen (its start '
      + 'token and the earlier outputs). The upper triangle stays empty: a token cannot attend to the future.',
  },
  rollout: {
    name: 'Encoder attention rollout',
    rowAxis: 'source token (output of the encoder)', colAxis: 'source token (input)',
    rowsLabel: 'Encoder out', colsLabel: 'Input',
    explain: 'Attention rollout (Abnar & Zuidema, 2020): the head-averaged encoder attention, with the '
      + 'residual connection, multiplied through all layers. A row shows how much the final encoding of a '
      + 'token draws on each input token.',
  },
};

// ---------------------------------------------------------------------------------------------
// Models and the input form
// ---------------------------------------------------------------------------------------------

function formatParams(n) {
  if (!Number.isFinite(n) || n <= 0) return null;
  if (n >= 1e9) return (n / 1e9).toFixed(1) + 'B';
  if (n >= 1e6) return (n / 1e6).toFixed(1) + 'M';
  if (n >= 1e3) return (n / 1e3).toFixed(0) + 'k';
  return String(n);
}

function currentModel() {
  const name = $('model').value;
  if (!name && state.task === 'translate' && state.languages.length) {
    // "Best model for the languages": the server takes the first configured model that serves
    // the pair, which is the first one listed.
    return modelsForTask('translate').find((m) => modelServes(m, state.source, state.target)) || null;
  }
  return state.models.find((m) => m.name === name) || null;
}

function modelsForTask(task) {
  return state.models.filter((m) => m.task === task || (Array.isArray(m.tasks) && m.tasks.includes(task)));
}

// ---------------------------------------------------------------------------------------------
// Languages: the From / To pickers (GET /languages, LibreTranslate's shape)
// ---------------------------------------------------------------------------------------------

/** The language pairs a translation model serves: its "language_pairs" as GET /models lists
 * them, else its one source_lang -> target_lang. */
function pairsOf(m) {
  if (Array.isArray(m.language_pairs)) return m.language_pairs;
  return m.source_lang && m.target_lang ? [{ source: m.source_lang, target: m.target_lang }] : [];
}

/** Whether model m translates src ('auto': any source) into tgt ('' : any target). */
function modelServes(m, src, tgt) {
  return pairsOf(m).some((p) => (src === 'auto' || p.source === src) && (!tgt || p.target === tgt));
}

function languageName(code) {
  const l = state.languages.find((x) => x.code === code);
  return l ? l.name : code;
}

function fillLanguageSelects() {
  const src = $('source-lang'), tgt = $('target-lang');
  const sources = state.languages.filter((l) => Array.isArray(l.targets) && l.targets.length);
  src.replaceChildren(new Option('Detect language', 'auto'));
  for (const l of sources) src.append(new Option(`${l.name} (${l.code})`, l.code));
  if (state.source !== 'auto' && !sources.some((l) => l.code === state.source)) state.source = 'auto';
  src.value = state.source;
  // Targets: those of the chosen source, or of any source when detecting.
  const chosen = sources.find((l) => l.code === state.source);
  const codes = chosen ? chosen.targets : [...new Set(sources.flatMap((l) => l.targets))];
  tgt.replaceChildren();
  for (const c of codes) tgt.append(new Option(`${languageName(c)} (${c})`, c));
  if (!codes.includes(state.target)) state.target = codes.includes('de') ? 'de' : (codes[0] || '');
  tgt.value = state.target;
  $('swap-langs').disabled = state.source === 'auto'
    || !sources.some((l) => l.code === state.target && l.targets.includes(state.source));
}

function onLanguageChange() {
  state.source = $('source-lang').value;
  state.target = $('target-lang').value;
  $('detected').hidden = true;
  fillLanguageSelects();
  fillModelSelect();
}

function swapLanguages() {
  if (state.source === 'auto') return;
  [state.source, state.target] = [state.target, state.source];
  fillLanguageSelects();
  fillModelSelect();
  const out = $('output');
  if (out.dataset.state === 'done' && out.textContent.trim()) {
    $('text').value = out.textContent;
    updateCount();
  }
}

async function loadLanguages() {
  try {
    const list = await api('languages');
    state.languages = Array.isArray(list) ? list : [];
  } catch {
    state.languages = []; // an older server: the model picker alone
  }
  fillLanguageSelects();
}

/** POST /detect (LibreTranslate's request and answer). Resolves to { language, confidence }. */
async function detectLanguage(text, signal) {
  const guesses = await api('detect', { q: text }, signal);
  const best = Array.isArray(guesses) && guesses[0];
  if (!best || !best.language || !(best.confidence > 0)) {
    throw new Error('Could not tell which language the text is in: pick it under "From".');
  }
  return best;
}

function fillModelSelect() {
  const sel = $('model');
  const prev = sel.value;
  const translating = state.task === 'translate' && state.languages.length > 0;
  const list = modelsForTask(state.task)
    .filter((m) => !translating || modelServes(m, state.source, state.target));
  sel.replaceChildren();
  if (translating && list.length) sel.append(new Option('Best model for the languages', ''));
  if (!list.length) {
    const o = new Option(state.models.length ? `no ${state.task} model loaded` : '(server default)', '');
    sel.append(o);
  }
  for (const m of list) {
    const pairs = pairsOf(m);
    const langs = pairs.length === 1 ? `${pairs[0].source} → ${pairs[0].target}`
      : pairs.length ? `${pairs.length} language pairs` : m.task;
    sel.append(new Option(`${m.name} — ${langs}${m.loaded === false ? ' (loading…)' : ''}`, m.name));
  }
  if (list.some((m) => m.name === prev)) sel.value = prev;
  sel.disabled = state.models.length > 0 && !list.length;
  onModelChange();
}

function onModelChange() {
  const m = currentModel();
  const info = $('model-info');
  if (!m) {
    info.textContent = state.models.length ? `The server has no model for this task.` : '';
  } else {
    const parts = [];
    if (m.architecture) parts.push(m.architecture[0].toUpperCase() + m.architecture.slice(1));
    const pairs = pairsOf(m);
    if (pairs.length === 1) parts.push(`${pairs[0].source} → ${pairs[0].target}`);
    else if (pairs.length) parts.push(`${pairs.length} language pairs`);
    if (m.encoder_layers) parts.push(`${m.encoder_layers} + ${m.decoder_layers} layers`);
    if (m.heads) parts.push(`${m.heads} heads`);
    const p = formatParams(m.parameters);
    if (p) parts.push(`${p} parameters`);
    if (m.dtype) parts.push(m.dtype);
    if (m.max_input_tokens) parts.push(`up to ${m.max_input_tokens} input tokens`);
    info.textContent = parts.join(' · ');
  }
  const d = (m && m.default_options) || {};
  $('opt-beams').placeholder = d.num_beams ? `default ${d.num_beams}` : 'model default';
  const maxNew = d.max_new_tokens || d.max_length;
  $('opt-max-new').placeholder = maxNew ? `default ${maxNew}` : 'model default';
  $('opt-max-new').max = String((m && m.max_output_tokens) || 1024);
  // Keep the example in the model's language when the text is still an untouched example.
  const text = $('text');
  if (!text.value.trim() || text.value === state.exampleShown) setExample();
}

function setExample() {
  const m = currentModel();
  const lang = state.task === 'translate' && state.source !== 'auto' ? state.source
    : (m && (m.source_lang || m.language)) || 'en';
  const ex = EXAMPLES[state.task];
  const value = ex[lang] || ex.en;
  $('text').value = value;
  state.exampleShown = value;
  updateCount();
}

function updateCount() {
  const n = [...$('text').value].length;
  $('text-count').textContent = `${n} character${n === 1 ? '' : 's'}`;
}

function setTask(task) {
  state.task = task;
  $('lang-field').hidden = task !== 'translate' || !state.languages.length;
  $('run').textContent = task === 'summarize' ? 'Summarize' : 'Translate';
  fillModelSelect();
}

async function loadModels() {
  const pill = $('server-status');
  try {
    const data = await api('models');
    state.models = Array.isArray(data.models) ? data.models : [];
    pill.dataset.state = 'ok';
    pill.textContent = `ready · ${state.models.length} model${state.models.length === 1 ? '' : 's'}`;
    // Disable a task no model serves.
    for (const t of ['translate', 'summarize']) {
      const radio = $(`task-${t}`);
      radio.disabled = state.models.length > 0 && !modelsForTask(t).length;
    }
    if ($(`task-${state.task}`).disabled) {
      const other = state.task === 'translate' ? 'summarize' : 'translate';
      if (!$(`task-${other}`).disabled) {
        $(`task-${other}`).checked = true;
        state.task = other;
      }
    }
    await loadLanguages();
    setTask(state.task);
  } catch (e) {
    pill.dataset.state = 'error';
    pill.textContent = 'server unreachable';
    showError($('error'), e, 'Could not list the models');
    setTask(state.task);
  }
}

function readOptions() {
  const options = {};
  const beams = $('opt-beams').value.trim();
  const maxNew = $('opt-max-new').value.trim();
  if (beams !== '') options.num_beams = Number(beams);
  if (maxNew !== '') options.max_new_tokens = Number(maxNew);
  return options;
}

// ---------------------------------------------------------------------------------------------
// Running a request
// ---------------------------------------------------------------------------------------------

let runController = null;

function setBusy(busy) {
  const btn = $('run');
  btn.disabled = busy;
  btn.setAttribute('aria-busy', String(busy));
  btn.textContent = busy ? (state.task === 'summarize' ? 'Summarizing…' : 'Translating…')
    : (state.task === 'summarize' ? 'Summarize' : 'Translate');
  $('output-wrap').setAttribute('aria-busy', String(busy));
}

function showOutput(text, meta, extra) {
  const out = $('output');
  out.textContent = text;
  out.dataset.state = 'done';
  out.lang = state.task === 'translate' ? (state.target || (currentModel() && currentModel().target_lang) || '') : '';
  $('output-meta').textContent = meta;
  if (extra) $('output-meta').textContent += ' · ' + extra;
  $('copy').hidden = false;
}

// ---------------------------------------------------------------------------------------------
// The document view: an extractive (han) model's two attention levels over a whole text
// ---------------------------------------------------------------------------------------------

/** A document view from POST /attention's `document`, or /summarize's `sentences`. */
function documentFrom(item) {
  if (!item || !Array.isArray(item.sentences) || !item.sentences.length) return null;
  return {
    sentences: item.sentences.map((s) => s.text),
    sentence_weights: item.sentences.map((s) => s.attention),
    words: item.sentences.map((s) => s.words || null),
    word_weights: item.sentences.map((s) => s.word_weights || null),
    used_sentences: item.used_sentences || [],
  };
}

function showDocument(doc, request) {
  const panel = $('document');
  const body = $('document-body');
  body.textContent = '';
  if (!doc) { panel.hidden = true; return; }
  const maxS = Math.max(...doc.sentence_weights, 1e-9);
  const used = new Set(doc.used_sentences);
  doc.sentences.forEach((text, i) => {
    const s = document.createElement('span');
    s.className = 'doc-sentence';
    s.setAttribute('role', 'listitem');
    s.tabIndex = 0;
    s.dataset.index = String(i);
    s.dataset.used = String(used.has(i));
    s.dataset.weight = String(doc.sentence_weights[i]);
    s.style.setProperty('--w', (doc.sentence_weights[i] / maxS).toFixed(3));
    s.title = `sentence ${i + 1}: attention ${doc.sentence_weights[i].toFixed(3)}${used.has(i) ? ' (used)' : ''}`;
    const words = doc.words[i], ww = doc.word_weights[i];
    if (words && ww && words.length) {
      const maxW = Math.max(...ww, 1e-9);
      words.forEach((w, k) => {
        if (k) s.append(' ');
        const span = document.createElement('span');
        span.className = 'doc-word';
        span.textContent = w;
        span.dataset.weight = String(ww[k]);
        span.style.setProperty('--w', (ww[k] / maxW).toFixed(3));
        span.title = `word attention ${ww[k].toFixed(3)}`;
        s.append(span);
      });
    } else {
      s.textContent = text;
    }
    const open = () => explainSentence(i, text, request);
    s.addEventListener('click', open);
    s.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(); } });
    body.append(s, ' ');
  });
  panel.hidden = false;
}

/** The usual heatmaps for one sentence of the document: the summarizer on it alone. */
async function explainSentence(i, text, request) {
  for (const el of $('document-body').querySelectorAll('.doc-sentence')) el.dataset.active = String(el.dataset.index === String(i));
  const model = currentModel();
  const summarizer = model && model.architecture === 'han' ? null : request.model;
  const body = { task: 'summarize', text, heads: 'mean', alignment: true, rollout: true, kinds: ['cross', 'encoder', 'decoder'] };
  if (summarizer) body.model = summarizer;
  if (request.options) body.options = request.options;
  try {
    const resp = await api('attention', body);
    startExplorer({ ...body, kinds: undefined }, resp);
    $('explorer').scrollIntoView({ block: 'nearest' });
  } catch (e) {
    showError($('attention-error'), e, 'No attention maps for this sentence');
  }
}

async function run() {
  const text = $('text').value;
  if (!text.trim()) {
    showError($('error'), new Error('Type or paste some text first.'), 'Nothing to ' + state.task);
    $('text').focus();
    return;
  }
  if (runController) runController.abort();
  runController = new AbortController();
  const signal = runController.signal;
  const task = state.task;
  const request = { task, text, options: readOptions() };
  const model = $('model').value;
  if (model) request.model = model;
  if (!Object.keys(request.options).length) delete request.options;
  showDocument(null);

  showError($('error'), null);
  setBusy(true);
  const out = $('output');
  out.dataset.state = 'busy';
  out.textContent = task === 'summarize' ? 'Summarizing…' : 'Translating…';
  $('output-meta').textContent = '';
  $('copy').hidden = true;
  const t0 = performance.now();

  try {
    if (task === 'translate' && state.languages.length) {
      let source = state.source;
      if (source === 'auto') {
        const d = await detectLanguage(text, signal);
        source = d.language;
        const det = $('detected');
        det.textContent = `Detected: ${languageName(source)} (${Math.round(d.confidence)}% confidence)`;
        det.hidden = false;
        if (!modelServes(currentModel() || {}, source, state.target) && request.model) delete request.model;
      }
      if (source === state.target) throw new Error(`The text is already in ${languageName(source)}: pick another "To" language.`);
      request.source_lang = source;
      request.target_lang = state.target;
    }
    const extractive = task === 'summarize' && (currentModel() || {}).architecture === 'han';
    if ($('opt-attention').checked && !extractive) {
      // One POST /attention gives the output and the maps. Short inputs get every kind (mean over
      // heads) at once; long ones only cross/decoder, the rest is fetched per map when viewed.
      const small = [...text].length <= 1500;
      const body = {
        ...request, heads: 'mean', alignment: true, rollout: small,
        kinds: small ? ['cross', 'encoder', 'decoder'] : ['cross', 'decoder'],
      };
      let resp = null, attErr = null;
      // "Watch it stream": the cross-attention map grows a row per "attention" event (the last
      // decoder layer, mean over heads: the default view), replaced by the whole explorer at
      // the end; off (the default), the explorer appears with the answer.
      const live = $('opt-stream-attention').checked && body.kinds.includes('cross')
        ? startLiveMap(request) : null;
      if (!live && $('explorer').dataset.state === 'streaming') $('explorer').dataset.state = 'empty';
      try {
        // the output appears as it is written; the maps come with the last event
        resp = await apiStream('attention', body, (i, t) => {
          out.textContent = t;
          out.dataset.state = 'streaming';
        }, signal, live ? (ev) => addLiveRow(live, ev) : null);
      } catch (e) {
        // attention_too_large: the request is fine but its maps do not fit the server's
        // attention store: fall back to the plain endpoint below. Anything else is the answer.
        if (!(e instanceof ApiError) || e.code !== 'attention_too_large') throw e;
        attErr = e;
      }
      if (resp) {
        const ms = resp.timings && resp.timings.total_ms !== undefined ? resp.timings.total_ms : performance.now() - t0;
        const u = resp.usage || { input_tokens: resp.source_tokens.length, output_tokens: resp.target_tokens.length };
        showOutput(resp.output, `${resp.model} · ${u.input_tokens} input → ${u.output_tokens} output tokens · ${Math.round(ms)} ms`,
          resp.truncated ? 'the input was cut to the model\'s limit' : '');
        startExplorer(request, resp);
        if (resp.document) showDocument(resp.document, request);
        return;
      }
      // The attention capture failed (e.g. the input is too long for it): still produce the
      // output through the task endpoint, and say why there is no heatmap.
      if (live) $('explorer').dataset.state = 'empty';
      await runPlain(task, request, t0, signal);
      showError($('attention-error'), attErr, 'No attention maps');
      $('explorer').dataset.state = 'empty';
      return;
    }
    await runPlain(task, request, t0, signal);
  } catch (e) {
    if (e.name === 'AbortError') return;
    if ($('explorer').dataset.state === 'streaming') $('explorer').dataset.state = 'empty';
    out.dataset.state = 'empty';
    out.textContent = 'No output.';
    showError($('error'), e, task === 'summarize' ? 'Summarization failed' : 'Translation failed');
  } finally {
    if (!signal.aborted) setBusy(false);
  }
}

/**
 * POST path with "stream": true: calls onToken(index, text so far) as the server writes, and
 * onAttention(event data) for each "attention" event (POST /attention: one row of the
 * cross-attention), and returns the final answer (the "done" event). Errors as api() throws
 * them.
 */
async function apiStream(path, body, onToken, signal, onAttention) {
  let res;
  try {
    res = await fetch(path, {
      method: 'POST', signal,
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: JSON.stringify({ ...body, stream: true }),
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network_error', `Cannot reach the attnserve server (${e.message}).`);
  }
  if (!res.ok || !(res.headers.get('Content-Type') || '').startsWith('text/event-stream')) {
    const text = await res.text();
    let data = null;
    try { data = JSON.parse(text); } catch { data = null; }
    if (res.ok && data) return data; // a server that answers without streaming
    const err = data && data.error;
    throw new ApiError(res.status, (err && err.code) || `http_${res.status}`,
      (err && err.message) || text.slice(0, 300) || res.statusText, res.headers.get('Retry-After'));
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const texts = [];
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let event = 'message', data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (!data) continue;
      const msg = JSON.parse(data);
      if (event === 'token') {
        texts[msg.index] = msg.replace ? msg.text : (texts[msg.index] || '') + msg.delta;
        onToken(msg.index, texts[msg.index]);
      } else if (event === 'attention') {
        if (onAttention) onAttention(msg);
      } else if (event === 'done') {
        return msg;
      } else if (event === 'error') {
        const err = msg.error || {};
        throw new ApiError(500, err.code || 'stream_error', err.message || 'The stream ended with an error.');
      }
    }
  }
  throw new ApiError(0, 'stream_cut', 'The server closed the stream before the answer.');
}

async function runPlain(task, request, t0, signal) {
  const body = { text: request.text };
  if (request.model) body.model = request.model;
  if (request.source_lang) body.source_lang = request.source_lang;
  if (request.target_lang) body.target_lang = request.target_lang;
  if (request.options) body.options = request.options;
  // an extractive model: its sentence and word weights for the document view
  const extractive = task === 'summarize' && (currentModel() || {}).architecture === 'han';
  if (extractive) body.attention = true;
  // generating models: the output appears as it is written (an event stream)
  const out = $('output');
  const resp = extractive ? await api(task, body, signal)
    : await apiStream(task, body, (i, text) => {
      if (i !== 0) return;
      out.textContent = text;
      out.dataset.state = 'streaming';
    }, signal);
  const item = task === 'summarize' ? resp.summaries[0] : resp.translations[0];
  if (task === 'summarize') showDocument(documentFrom(item), request);
  const ms = resp.timings && resp.timings.total_ms !== undefined ? resp.timings.total_ms : performance.now() - t0;
  const u = resp.usage || {};
  const meta = `${resp.model} · ${u.input_tokens ?? '?'} input → ${u.output_tokens ?? '?'} output tokens · ${Math.round(ms)} ms`;
  showOutput(item.text, meta, item.truncated ? 'the input was truncated to the model\'s limit' : '');
}

// ---------------------------------------------------------------------------------------------
// The attention explorer
// ---------------------------------------------------------------------------------------------

const key = (kind, layer, head) => `${kind}/${layer}/${head}`;
const range = (n) => Array.from({ length: n }, (_, i) => i);

function tokensFor(kind) {
  const r = state.run.resp;
  if (kind === 'cross') return { rows: r.target_tokens, cols: r.source_tokens };
  if (kind === 'decoder') return { rows: r.target_tokens, cols: r.decoder_input_tokens };
  return { rows: r.source_tokens, cols: r.source_tokens };
}

function nLayers(kind) {
  const n = state.run.resp.n_layers || {};
  return kind === 'encoder' ? n.encoder : n.decoder;
}

/** Puts every matrix of a POST /attention answer into the cache. */
function seedCache(resp) {
  for (const kind of ['cross', 'encoder', 'decoder']) {
    const arr = resp[`${kind}_attention`];
    if (!Array.isArray(arr)) continue;
    const layers = (resp.layers && resp.layers[kind === 'encoder' ? 'encoder' : 'decoder']) || range(arr.length);
    const heads = resp.heads || [];
    const { rows, cols } = tokensFor(kind);
    arr.forEach((perHead, li) => {
      perHead.forEach((matrix, hi) => {
        if (heads[hi] === undefined || layers[li] === undefined) return;
        state.cache.set(key(kind, layers[li], heads[hi]), Promise.resolve({ rows, cols, matrix }));
      });
    });
  }
  if (resp.rollout && resp.rollout.encoder) {
    state.cache.set(key('rollout', 0, 'mean'),
      Promise.resolve({ rows: resp.source_tokens, cols: resp.source_tokens, matrix: resp.rollout.encoder }));
  }
}

/** The matrix of one map: from the cache, GET /attention/{id}, or (evicted id) a new POST. */
function getSlice(kind, layer, head) {
  const k = kind === 'rollout' ? key('rollout', 0, 'mean') : key(kind, layer, head);
  if (!state.cache.has(k)) {
    const p = fetchSlice(kind, layer, head);
    p.catch(() => state.cache.delete(k)); // retry on the next view
    state.cache.set(k, p);
  }
  return state.cache.get(k);
}

async function fetchSlice(kind, layer, head) {
  const run = state.run;
  const { rows, cols } = tokensFor(kind);
  if (kind === 'rollout') {
    const resp = await api('attention', { ...run.request, kinds: ['cross'], layers: [0], heads: 'mean', rollout: true });
    if (!resp.rollout || !resp.rollout.encoder) throw new Error('the server returned no rollout');
    return { rows, cols, matrix: resp.rollout.encoder };
  }
  const get = async (id) => {
    const q = new URLSearchParams({ kind, layer: String(layer), head: String(head), format: 'json' });
    const d = await api(`attention/${encodeURIComponent(id)}?${q}`);
    return { rows: d.rows || rows, cols: d.cols || cols, matrix: d.matrix };
  };
  const asked = run.id;
  try {
    return await get(asked);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
  }
  // The stored result was evicted (or lives on another replica): compute it again once (shared
  // by every map that asks at the same time, including a 404 that arrives after the new result
  // came: run.id has moved on then), then fetch from the new result.
  if (!run.refreshing && run.id === asked) {
    run.refreshing = api('attention', { ...run.request, kinds: ['cross'], layers: [0], heads: 'mean' })
      .then((resp) => {
        run.id = resp.id;
        $('heatmap-wrap').dataset.attentionId = resp.id;
      })
      .finally(() => { run.refreshing = null; });
  }
  await run.refreshing;
  try {
    return await get(run.id);
  } catch (e) {
    if (!(e instanceof ApiError) || (e.status !== 404 && e.status !== 400)) throw e;
  }
  // Still not there (e.g. a server that stores only the requested kinds): ask for this map.
  const resp = await api('attention', {
    ...run.request, kinds: [kind], layers: [layer], heads: typeof head === 'number' ? [head] : head,
  });
  return { rows, cols, matrix: resp[`${kind}_attention`][0][0] };
}

// ---------------------------------------------------------------------------------------------
// The streaming view: the cross-attention of the last decoder layer (mean over heads), a row
// per "attention" event as the model writes; startExplorer replaces it with the whole answer.
// ---------------------------------------------------------------------------------------------

function startLiveMap(request) {
  state.run = null; // the explorer's controls wait for the answer
  state.view = null;
  state.cache = new Map();
  state.renderSeq++;
  state.active = { row: null, col: null };
  $('tooltip').hidden = true;
  showError($('attention-error'), null);
  const live = { request, rows: [], cols: [], matrix: [], layer: null };
  $('explorer').dataset.state = 'streaming';
  $('explorer-hint').textContent = 'Streaming: each row appears as the model writes its token.';
  $('map-title').textContent = `${KIND_INFO.cross.name} · last decoder layer · mean of all heads · streaming`;
  $('map-subtitle').textContent = 'waiting for the first token…';
  $('map-explain').textContent = KIND_INFO.cross.explain;
  const wrap = $('heatmap-wrap');
  wrap.dataset.kind = 'cross';
  wrap.dataset.streamRows = '0';
  wrap.dataset.streaming = 'true';
  heatmap.svg.replaceChildren();
  return live;
}

/** One "attention" event: {index, row, token, source_tokens (row 0), cross: [layer][head][src]}. */
function addLiveRow(live, ev) {
  if (ev.index !== 0 || !Array.isArray(ev.cross) || !ev.cross.length) return;
  if (Array.isArray(ev.source_tokens)) live.cols = ev.source_tokens;
  if (live.layer === null) live.layer = ev.cross.length - 1; // the last layer asked for
  const perHead = ev.cross[live.layer] || [];
  const row = perHead[0] || [];
  if (!live.cols.length) live.cols = row.map((_, i) => `#${i}`);
  live.rows[ev.row] = ev.token;
  live.matrix[ev.row] = row;
  drawLiveMap(live);
}

/** Draws the colour legend for values 0..vmax (bar and five ticks); returns its element. */
function drawLegend(vmax) {
  const legend = $('legend');
  legend.querySelector('.legend-bar').style.background = gradientCSS();
  legend.querySelector('.legend-ticks').replaceChildren(...[0, 0.25, 0.5, 0.75, 1].map((f) => {
    const t = document.createElement('span');
    t.textContent = tickLabel(f * vmax, vmax);
    return t;
  }));
  legend.dataset.vmax = String(vmax);
  return legend;
}

function drawLiveMap(live) {
  if ($('explorer').dataset.state !== 'streaming') return;
  const n = live.matrix.length;
  const rows = range(n).map((i) => live.rows[i] ?? '');
  const matrix = range(n).map((i) => live.matrix[i] || live.cols.map(() => 0));
  const info = KIND_INFO.cross;
  const view = {
    kind: 'cross', layer: live.layer, head: 'mean', rows, cols: live.cols, matrix,
    title: $('map-title').textContent, subtitle: '', rowAxis: info.rowAxis, colAxis: info.colAxis,
    alignment: null,
  };
  const cell = state.userZoomed ? state.cell : fitCell(rows, live.cols);
  const vmax = $('scale').value === 'one' ? 1 : (matrixMax(matrix) || 1);
  heatmap.draw(view, { cell, vmax, showValues: $('show-values').checked, showAlignment: false });
  const wrap = $('heatmap-wrap');
  wrap.dataset.streamRows = String(n);
  wrap.setAttribute('aria-label', `${info.name}, streaming: ${n} rows (${info.rowAxis}) so far by ${live.cols.length} columns (${info.colAxis}).`);
  $('map-subtitle').textContent = `${n} of the output's tokens so far`;
  drawLegend(vmax);
}

function startExplorer(request, resp) {
  delete $('heatmap-wrap').dataset.streaming;
  state.run = { request, resp, id: resp.id, alignment: null };
  state.cache = new Map();
  if (Array.isArray(resp.alignment)) {
    state.run.alignment = new Map(resp.alignment.map((a) => [a.target, a.source || []]));
  }
  seedCache(resp);
  state.userZoomed = false;
  state.active = { row: null, col: null };
  showError($('attention-error'), null);
  $('explorer').dataset.state = 'ready';
  // A recurrent encoder-decoder (rnn_seq2seq) has one attention: the classic single alignment
  // matrix of Bahdanau/Luong; the self-attention views do not exist for it.
  const selfAtt = resp.self_attention !== false;
  for (const k of ['encoder', 'decoder', 'rollout']) {
    $(`kind-${k}`).disabled = !selfAtt;
    $(`kind-${k}`).title = selfAtt ? '' : `${resp.model} has no self-attention`;
  }
  $('explorer-hint').textContent = selfAtt
    ? `${resp.model} · ${resp.n_layers.encoder} encoder and ${resp.n_layers.decoder} decoder layers · ${resp.n_heads} heads`
    : `${resp.model} · recurrent encoder-decoder · ${resp.attention_type} attention: one alignment matrix, no self-attention`;
  $('heatmap-wrap').dataset.attentionId = resp.id;
  // Default view: cross-attention, last decoder layer, mean over heads.
  state.kind = $('kind-group').querySelector('input:checked').value;
  if (state.kind === 'rollout' && !resp.rollout) state.kind = 'cross';
  if (!selfAtt) state.kind = 'cross';
  $(`kind-${state.kind}`).checked = true;
  state.layer = Math.max(0, (nLayers(state.kind) || 1) - 1);
  state.head = 'mean';
  fillSelectors();
  render();
}

function headName(head, H) {
  if (head === 'mean') return `mean of ${H} heads`;
  if (head === 'max') return `max over ${H} heads`;
  return `head ${head + 1} of ${H}`;
}

function fillSelectors() {
  const resp = state.run.resp;
  const H = resp.n_heads;
  const L = nLayers(state.kind) || 0;
  const rollout = state.kind === 'rollout';
  if (state.layer >= L) state.layer = Math.max(0, L - 1);

  const layerSel = $('layer');
  layerSel.replaceChildren(...range(L).map((l) => new Option(`${l + 1} of ${L}`, String(l))));
  layerSel.value = String(state.layer);
  const headSel = $('head');
  headSel.replaceChildren(
    new Option('Mean of all', 'mean'),
    new Option('Max of all', 'max'),
    ...range(H).map((h) => new Option(`Head ${h + 1}`, String(h))));
  headSel.value = String(state.head);
  for (const id of ['layer', 'layer-prev', 'layer-next', 'head', 'head-prev', 'head-next']) $(id).disabled = rollout;
  if (!rollout) {
    $('layer-prev').disabled = state.layer <= 0;
    $('layer-next').disabled = state.layer >= L - 1;
    const hi = headSel.selectedIndex;
    $('head-prev').disabled = hi <= 0;
    $('head-next').disabled = hi >= headSel.options.length - 1;
  }
  $('show-align').disabled = state.kind !== 'cross' || !state.run.alignment;
}

function parseHead(v) {
  return v === 'mean' || v === 'max' ? v : Number(v);
}

/** Cell size that fits the map into the panel's width (10..40 px). */
function fitCell(rows, cols) {
  const wrap = $('heatmap-wrap');
  const chars = (list) => Math.min(18, Math.max(2, ...list.map((s) => [...String(s)].length)));
  const rowW = chars(rows) * 7.5 + 56;
  const overhang = chars(cols) * 3.8 + 24;
  const avail = Math.max(200, wrap.clientWidth - rowW - overhang);
  return Math.max(12, Math.min(40, Math.floor(avail / Math.max(1, cols.length))));
}

async function render() {
  if (!state.run) return;
  const seq = ++state.renderSeq;
  const { kind, layer, head } = state;
  const resp = state.run.resp;
  const loading = $('loading');
  const timer = setTimeout(() => { loading.hidden = false; }, 120);
  let slice;
  try {
    slice = await getSlice(kind, layer, head);
  } catch (e) {
    if (seq !== state.renderSeq) return;
    clearTimeout(timer);
    loading.hidden = true;
    showError($('attention-error'), e, 'Could not load this attention map');
    return;
  }
  clearTimeout(timer);
  if (seq !== state.renderSeq) return;
  loading.hidden = true;
  showError($('attention-error'), null);

  const info = KIND_INFO[kind];
  const H = resp.n_heads;
  const L = nLayers(kind);
  const title = kind === 'rollout'
    ? `${info.name} · all ${resp.n_layers.encoder} encoder layers`
    : `${info.name} · layer ${layer + 1} of ${L} · ${headName(head, H)}`;
  const quote = (s, n) => { s = String(s).replace(/\s+/g, ' ').trim(); return s.length > n ? s.slice(0, n - 1) + '…' : s; };
  const subtitle = `${resp.model} · “${quote(state.run.request.text, 48)}” → “${quote(resp.output, 48)}”`;
  const view = {
    kind, layer, head,
    rows: slice.rows, cols: slice.cols, matrix: slice.matrix,
    title, subtitle, rowAxis: info.rowAxis, colAxis: info.colAxis,
    alignment: kind === 'cross' ? state.run.alignment : null,
  };
  state.view = view;
  if (!state.userZoomed) state.cell = fitCell(view.rows, view.cols);
  $('zoom').value = String(state.cell);
  $('zoom').setAttribute('aria-valuetext', `${state.cell} pixels per cell`);
  const vmax = $('scale').value === 'one' ? 1 : (matrixMax(view.matrix) || 1);
  heatmap.draw(view, {
    cell: state.cell, vmax,
    showValues: $('show-values').checked,
    showAlignment: $('show-align').checked,
  });
  view.vmax = vmax;
  const legend = drawLegend(vmax);
  legend.setAttribute('aria-label', `Colour scale: from 0 (light) to ${tickLabel(vmax, vmax)} (dark)`);

  const wrap = $('heatmap-wrap');
  wrap.dataset.kind = kind;
  wrap.dataset.layer = kind === 'rollout' ? '' : String(layer);
  wrap.dataset.head = kind === 'rollout' ? '' : String(head);
  wrap.dataset.attentionId = state.run.id;
  wrap.setAttribute('aria-label', `${title}. ${view.rows.length} rows (${info.rowAxis}) by ${view.cols.length} columns (${info.colAxis}). Arrow keys move between cells.`);
  $('map-title').textContent = title;
  $('map-subtitle').textContent = subtitle;
  $('map-explain').textContent = info.explain;
  $('tv-rows-label').textContent = info.rowsLabel;
  $('tv-cols-label').textContent = info.colsLabel;
  fillTokenView(view);

  // Keep the highlight where it was if it still fits.
  const { row, col } = state.active;
  const ok = (row === null || row < view.rows.length) && (col === null || col < view.cols.length);
  if (ok && (row !== null || col !== null)) setActive(row, col, { quiet: true });
  else clearActive();
  renderHeadsStrip();
}

// Thumbnails of every head of the current layer, to pick the interesting one at a glance.
async function renderHeadsStrip() {
  const strip = $('heads-strip');
  const seq = ++state.stripSeq;
  const { kind, layer } = state;
  const view = state.view;
  const H = state.run.resp.n_heads;
  if (kind === 'rollout' || H > 32 || view.rows.length * view.cols.length > 40000) {
    strip.replaceChildren();
    return;
  }
  const heads = ['mean', 'max', ...range(H)];
  if (strip.dataset.for !== key(kind, layer, '') + state.run.id) {
    strip.dataset.for = key(kind, layer, '') + state.run.id;
    strip.replaceChildren(...heads.map((h) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'head-thumb';
      b.dataset.head = String(h);
      const c = document.createElement('canvas');
      c.width = 52;
      c.height = 52;
      const label = h === 'mean' ? 'mean' : h === 'max' ? 'max' : `H${h + 1}`;
      const s = document.createElement('span');
      s.textContent = label;
      b.setAttribute('aria-label', `Show ${headName(h, H)}`);
      b.append(c, s);
      return b;
    }));
    // Draw each thumbnail as its data arrives, two requests at a time.
    const queue = [...heads];
    const worker = async () => {
      while (queue.length) {
        const h = queue.shift();
        try {
          const sl = await getSlice(kind, layer, h);
          if (seq !== state.stripSeq && strip.dataset.for !== key(kind, layer, '') + state.run.id) return;
          const b = strip.querySelector(`[data-head="${h}"]`);
          if (b) drawThumbnail(b.querySelector('canvas'), sl.matrix);
        } catch {
          /* a failed thumbnail stays blank; the main view reports errors */
        }
      }
    };
    worker();
    worker();
  }
  for (const b of strip.children) {
    const on = b.dataset.head === String(state.head);
    b.setAttribute('aria-pressed', String(on));
    b.tabIndex = on ? 0 : -1; // roving tab stop: arrow keys move within the strip
  }
}

function fillTokenView(view) {
  const mk = (list, axis) => list.map((t, i) => {
    const s = document.createElement('span');
    // A leading space marks a word start (openapi.yaml); other pieces continue the word before.
    s.className = i > 0 && !/^[\s▁Ġ]|^<.*>$/.test(String(t)) ? 'tok cont' : 'tok';
    s.dataset[axis] = String(i);
    s.textContent = shortLabel(t);
    s.title = JSON.stringify(String(t));
    return s;
  });
  $('tv-rows').replaceChildren(...mk(view.rows, 'row'));
  $('tv-cols').replaceChildren(...mk(view.cols, 'col'));
}

function shadeTokens(row, col) {
  const view = state.view;
  const rowsEl = $('tv-rows').children, colsEl = $('tv-cols').children;
  const reset = (e) => {
    e.classList.remove('hl', 'al');
    e.style.background = '';
    e.style.color = '';
  };
  for (const e of rowsEl) reset(e);
  for (const e of colsEl) reset(e);
  const paint = (e, v, mx) => {
    const t = mx > 0 ? v / mx : 0;
    e.style.background = color(t);
    e.style.color = inkOn(t);
  };
  if (row !== null) {
    rowsEl[row]?.classList.add('hl');
    const r = view.matrix[row];
    const mx = Math.max(...r);
    r.forEach((v, j) => colsEl[j] && paint(colsEl[j], v, mx));
    for (const j of (view.alignment && view.alignment.get(row)) || []) colsEl[j]?.classList.add('al');
  } else if (col !== null) {
    const colVals = view.matrix.map((r) => r[col]);
    const mx = Math.max(...colVals);
    colVals.forEach((v, i) => rowsEl[i] && paint(rowsEl[i], v, mx));
    if (view.alignment) for (const [r, cols] of view.alignment) if (cols.includes(col)) rowsEl[r]?.classList.add('al');
  }
  if (col !== null) colsEl[col]?.classList.add('hl');
}

const q = (s) => `“${shortLabel(s)}”`;

function describe(row, col) {
  const v = state.view;
  if (row !== null && col !== null) {
    const val = v.matrix[row][col];
    const r = v.matrix[row];
    const rank = 1 + r.filter((x) => x > val).length;
    return { html: `<b>${val.toFixed(4)}</b> · ${esc(q(v.rows[row]))} → ${esc(q(v.cols[col]))}`,
      text: `${q(v.rows[row])} (row ${row + 1}) attends to ${q(v.cols[col])} (column ${col + 1}) with weight ${val.toFixed(4)}, rank ${rank} of ${r.length} in its row.` };
  }
  if (row !== null) {
    const top = v.matrix[row].map((x, j) => [x, j]).sort((a, b) => b[0] - a[0]).slice(0, 3);
    const list = top.map(([x, j]) => `${q(v.cols[j])} ${x.toFixed(2)}`).join(', ');
    return { html: `${esc(q(v.rows[row]))} attends most to ${esc(list)}`, text: `Row ${row + 1}, ${q(v.rows[row])}: attends most to ${list}.` };
  }
  const top = v.matrix.map((r, i) => [r[col], i]).sort((a, b) => b[0] - a[0]).slice(0, 3);
  const list = top.map(([x, i]) => `${q(v.rows[i])} ${x.toFixed(2)}`).join(', ');
  return { html: `${esc(q(v.cols[col]))} is attended most by ${esc(list)}`, text: `Column ${col + 1}, ${q(v.cols[col])}: attended most by ${list}.` };
}

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

/** Highlights a cell, row or column everywhere: heatmap, labels, token view, info line, tooltip. */
function setActive(row, col, opts = {}) {
  if (!state.view || (row === null && col === null)) return clearActive();
  state.active = { row, col };
  heatmap.setActive(row, col);
  shadeTokens(row, col);
  const d = describe(row, col);
  const info = $('cell-info');
  info.innerHTML = d.html;
  info.dataset.row = row === null ? '' : String(row);
  info.dataset.col = col === null ? '' : String(col);
  $('sr-status').textContent = d.text; // the full sentence, for screen readers
  const tip = $('tooltip');
  if (opts.quiet) {
    tip.hidden = true;
    return;
  }
  tip.innerHTML = d.html;
  tip.hidden = false;
  let x, y;
  if (opts.evt) {
    x = opts.evt.clientX + 14;
    y = opts.evt.clientY + 16;
  } else if (row !== null && col !== null) {
    const r = heatmap.cellRect(row, col);
    x = r.right + 6;
    y = r.bottom + 6;
  } else {
    tip.hidden = true;
    return;
  }
  const w = tip.offsetWidth, h = tip.offsetHeight;
  if (x + w > window.innerWidth - 4) x = Math.max(4, x - w - 28);
  if (y + h > window.innerHeight - 4) y = Math.max(4, y - h - 32);
  tip.style.left = `${x}px`;
  tip.style.top = `${y}px`;
}

function clearActive() {
  state.active = { row: null, col: null };
  heatmap.setActive(null, null);
  if (state.view) shadeTokens(null, null);
  $('tooltip').hidden = true;
  const info = $('cell-info');
  info.textContent = 'Hover over a cell or a token, or focus the map and use the arrow keys.';
  info.dataset.row = '';
  info.dataset.col = '';
}

/** Scrolls the map so that a cell is visible. */
function scrollCellIntoView(row, col) {
  const wrap = $('heatmap-wrap');
  const r = heatmap.cellRect(row, col);
  const w = wrap.getBoundingClientRect();
  const pad = 8;
  if (r.left < w.left + pad) wrap.scrollLeft -= w.left + pad - r.left;
  else if (r.right > w.right - pad) wrap.scrollLeft += r.right - (w.right - pad);
  if (r.top < w.top + pad) wrap.scrollTop -= w.top + pad - r.top;
  else if (r.bottom > w.bottom - pad) wrap.scrollTop += r.bottom - (w.bottom - pad);
}

function setZoom(cell) {
  state.cell = Math.max(8, Math.min(56, Math.round(cell)));
  state.userZoomed = true;
  render();
}

function setKind(kind) {
  state.kind = kind;
  fillSelectors();
  render();
}

function setLayer(layer) {
  state.layer = layer;
  fillSelectors();
  render();
}

function setHead(head) {
  state.head = head;
  fillSelectors();
  render();
}

function download(blob, name) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 2000);
}

function fileBase() {
  const v = state.view;
  if (v.kind === 'rollout') return 'attention-rollout';
  const h = typeof v.head === 'number' ? `head${v.head + 1}` : v.head;
  return `attention-${v.kind}-layer${v.layer + 1}-${h}`;
}

// ---------------------------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------------------------

function wire() {
  $('run-form').addEventListener('submit', (e) => {
    e.preventDefault();
    run();
  });
  $('run-form').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      run();
    }
  });
  for (const r of document.querySelectorAll('input[name="task"]')) r.addEventListener('change', () => setTask(r.value));
  $('model').addEventListener('change', onModelChange);
  $('source-lang').addEventListener('change', onLanguageChange);
  $('target-lang').addEventListener('change', onLanguageChange);
  $('swap-langs').addEventListener('click', swapLanguages);
  $('text').addEventListener('input', updateCount);
  $('example').addEventListener('click', () => {
    setExample();
    $('text').focus();
  });
  $('copy').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText($('output').textContent);
      $('copy').textContent = 'Copied';
    } catch {
      $('copy').textContent = 'Copy failed';
    }
    setTimeout(() => { $('copy').textContent = 'Copy'; }, 1500);
  });

  // Explorer controls.
  for (const r of document.querySelectorAll('input[name="kind"]')) r.addEventListener('change', () => setKind(r.value));
  $('layer').addEventListener('change', () => setLayer(Number($('layer').value)));
  $('head').addEventListener('change', () => setHead(parseHead($('head').value)));
  $('layer-prev').addEventListener('click', () => setLayer(Math.max(0, state.layer - 1)));
  $('layer-next').addEventListener('click', () => setLayer(Math.min(nLayers(state.kind) - 1, state.layer + 1)));
  const stepHead = (d) => {
    const sel = $('head');
    const i = Math.max(0, Math.min(sel.options.length - 1, sel.selectedIndex + d));
    setHead(parseHead(sel.options[i].value));
  };
  $('head-prev').addEventListener('click', () => stepHead(-1));
  $('head-next').addEventListener('click', () => stepHead(1));
  $('scale').addEventListener('change', render);
  $('show-values').addEventListener('change', render);
  $('show-align').addEventListener('change', render);
  $('zoom').addEventListener('input', () => setZoom(Number($('zoom').value)));
  $('zoom-in').addEventListener('click', () => setZoom(state.cell + 4));
  $('zoom-out').addEventListener('click', () => setZoom(state.cell - 4));
  $('zoom-fit').addEventListener('click', () => {
    state.userZoomed = false;
    render();
  });
  $('dl-svg').addEventListener('click', () => {
    if (state.view) download(new Blob([heatmap.toSVGString()], { type: 'image/svg+xml' }), fileBase() + '.svg');
  });
  $('dl-png').addEventListener('click', async () => {
    if (!state.view) return;
    try {
      download(await heatmap.toPNGBlob(2), fileBase() + '.png');
    } catch (e) {
      showError($('attention-error'), e, 'PNG export failed');
    }
  });
  $('dl-json').addEventListener('click', () => {
    const v = state.view;
    if (!v) return;
    const r = state.run.resp;
    const doc = {
      id: state.run.id, model: r.model, task: r.task, input: state.run.request.text, output: r.output,
      kind: v.kind, layer: v.kind === 'rollout' ? null : v.layer, head: v.kind === 'rollout' ? null : v.head,
      rows: v.rows, cols: v.cols, matrix: v.matrix,
    };
    download(new Blob([JSON.stringify(doc, null, 1)], { type: 'application/json' }), fileBase() + '.json');
  });

  // Heatmap pointer and keyboard.
  const svg = $('heatmap'), wrap = $('heatmap-wrap');
  svg.addEventListener('pointermove', (e) => {
    if (!state.view) return; // nothing to point at while a map streams
    const cell = heatmap.cellAt(e);
    if (!cell) return;
    if (cell.row === state.active.row && cell.col === state.active.col && !$('tooltip').hidden) {
      setActive(cell.row, cell.col, { evt: e }); // follow the pointer
      return;
    }
    setActive(cell.row, cell.col, { evt: e });
  });
  svg.addEventListener('pointerleave', () => {
    if (document.activeElement !== wrap) clearActive();
    else $('tooltip').hidden = true;
  });
  wrap.addEventListener('wheel', (e) => {
    if (!e.ctrlKey || !state.view) return;
    e.preventDefault();
    setZoom(state.cell * (e.deltaY < 0 ? 1.15 : 1 / 1.15));
  }, { passive: false });
  wrap.addEventListener('keydown', (e) => {
    const v = state.view;
    if (!v) return;
    const nr = v.rows.length, nc = v.cols.length;
    let { row, col } = state.active;
    if (row === null) row = 0;
    if (col === null) col = 0;
    switch (e.key) {
      case 'ArrowUp': row = Math.max(0, row - 1); break;
      case 'ArrowDown': row = Math.min(nr - 1, row + 1); break;
      case 'ArrowLeft': col = Math.max(0, col - 1); break;
      case 'ArrowRight': col = Math.min(nc - 1, col + 1); break;
      case 'Home': col = 0; if (e.ctrlKey) row = 0; break;
      case 'End': col = nc - 1; if (e.ctrlKey) row = nr - 1; break;
      case 'PageUp': row = 0; break;
      case 'PageDown': row = nr - 1; break;
      case '+': case '=': setZoom(state.cell + 4); e.preventDefault(); return;
      case '-': setZoom(state.cell - 4); e.preventDefault(); return;
      case 'Escape': clearActive(); return;
      default: return;
    }
    e.preventDefault();
    setActive(row, col);
    scrollCellIntoView(row, col);
    setActive(row, col); // re-place the tooltip after scrolling
  });
  wrap.addEventListener('focus', () => {
    if (state.view && state.active.row === null && state.active.col === null) setActive(0, 0, { quiet: true });
  });
  wrap.addEventListener('blur', () => { $('tooltip').hidden = true; });
  wrap.addEventListener('scroll', () => { $('tooltip').hidden = true; });

  // Hovering a token in the token view highlights its row or column.
  const tokenHover = (e) => {
    const t = e.target.closest('.tok');
    if (!t) return;
    if (t.dataset.row !== undefined) setActive(Number(t.dataset.row), null, { quiet: true });
    else setActive(null, Number(t.dataset.col), { quiet: true });
  };
  $('tv-rows').addEventListener('pointerover', tokenHover);
  $('tv-cols').addEventListener('pointerover', tokenHover);
  $('token-view').addEventListener('pointerleave', clearActive);

  // Head thumbnails: click to select; arrow keys move along the strip (roving tab stop).
  const strip = $('heads-strip');
  strip.addEventListener('click', (e) => {
    const b = e.target.closest('.head-thumb');
    if (b) setHead(parseHead(b.dataset.head));
  });
  strip.addEventListener('keydown', (e) => {
    const b = e.target.closest('.head-thumb');
    if (!b || (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight')) return;
    e.preventDefault();
    const next = e.key === 'ArrowLeft' ? b.previousElementSibling : b.nextElementSibling;
    if (next) {
      setHead(parseHead(next.dataset.head));
      next.focus();
    }
  });

  // Re-fit on width changes (phone rotation, window resize) unless the user zoomed.
  let lastWidth = wrap.clientWidth;
  new ResizeObserver(() => {
    if (Math.abs(wrap.clientWidth - lastWidth) < 24 || state.userZoomed || !state.view) return;
    lastWidth = wrap.clientWidth;
    render();
  }).observe(wrap);
}

wire();
updateCount();
loadModels();
