// openapi.mjs — validates real responses against openapi.yaml (ajv, JSON Schema 2020-12) and
// records which (path, method, status) triples were exercised.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import YAML from 'yaml';
import { ROOT } from './server.mjs';

export const SPEC = YAML.parse(readFileSync(join(ROOT, 'openapi.yaml'), 'utf8'), { maxAliasCount: -1 });

const ajv = new Ajv2020({ allErrors: true, strict: false });
// The document itself is the schema registry: refs like '#/components/schemas/X' resolve
// against it.
ajv.addSchema({ $id: 'openapi', ...{ components: SPEC.components } });

const deref = obj => {
  if (obj && obj.$ref) {
    let cur = SPEC;
    for (const part of obj.$ref.slice(2).split('/')) cur = cur[part];
    return deref(cur);
  }
  return obj;
};

/** Rewrites local refs ('#/...') to the registry id ('openapi#/...'). */
const rebase = node => {
  if (Array.isArray(node)) return node.map(rebase);
  if (node && typeof node === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(node)) out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? 'openapi' + v : rebase(v);
    return out;
  }
  return node;
};
ajv.removeSchema('openapi');
ajv.addSchema(rebase({ $id: 'openapi', components: SPEC.components }));

const compiled = new Map();
function validatorFor(schema) {
  const key = JSON.stringify(schema);
  if (!compiled.has(key)) compiled.set(key, ajv.compile(rebase(schema)));
  return compiled.get(key);
}

/** Returns the path template of a concrete path ('/attention/abc' -> '/attention/{id}'). */
export function template(path) {
  const p = path.split('?')[0];
  if (SPEC.paths[p]) return p;
  for (const t of Object.keys(SPEC.paths)) {
    const re = new RegExp('^' + t.replace(/\{[^}]+\}/g, '[^/]+') + '$');
    if (re.test(p)) return t;
  }
  return null;
}

export const covered = new Set();

/**
 * Checks a response against the document: the status must be documented for the operation,
 * the content type must be one it lists, and a JSON body must validate against its schema.
 * Throws an Error describing the mismatch. Records coverage.
 */
export function check(method, path, res) {
  const t = template(path);
  if (!t) throw new Error(`${method} ${path}: no such path in openapi.yaml`);
  const op = SPEC.paths[t][method.toLowerCase()];
  if (!op) throw new Error(`${method} ${t}: method not documented`);
  const spec = deref(op.responses[String(res.status)]);
  if (!spec) throw new Error(`${method} ${t}: status ${res.status} not documented (body: ${res.text?.slice(0, 300)})`);
  covered.add(`${method.toUpperCase()} ${t} ${res.status}`);
  const ct = (res.headers['content-type'] ?? '').split(';')[0].trim();
  if (!spec.content) {
    if (res.body.length) throw new Error(`${method} ${t} ${res.status}: documented without a body, got ${res.body.length} bytes`);
    return;
  }
  const media = spec.content[ct];
  if (!media) throw new Error(`${method} ${t} ${res.status}: content type '${ct}' not documented (${Object.keys(spec.content)})`);
  if (ct === 'application/json') {
    if (res.jsonError || res.json === undefined) throw new Error(`${method} ${t} ${res.status}: body is not JSON: ${res.text.slice(0, 200)}`);
    const v = validatorFor(media.schema);
    if (!v(res.json)) {
      throw new Error(`${method} ${t} ${res.status}: body does not match openapi.yaml:\n` +
        JSON.stringify(v.errors.slice(0, 8), null, 1) + '\nbody: ' + res.text.slice(0, 600));
    }
  }
}

/** Every (METHOD template status) the document declares. */
export function documented() {
  const out = [];
  for (const [t, item] of Object.entries(SPEC.paths))
    for (const m of ['get', 'post', 'options', 'put', 'delete', 'patch', 'head'])
      if (item[m]) for (const s of Object.keys(item[m].responses)) out.push(`${m.toUpperCase()} ${t} ${s}`);
  return out;
}

/** Validates a value against a named component schema (for request examples). */
export function validateSchema(schema, value) {
  const v = validatorFor(schema);
  return v(value) ? null : v.errors;
}
