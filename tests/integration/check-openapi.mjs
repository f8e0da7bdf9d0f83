// check-openapi.mjs — validates openapi.yaml against the official OpenAPI 3.1 schema with a real
// validator (@seriousme/openapi-schema-validator), checks that every $ref resolves, and that
// the request options (GenerationOptions) are the code's option table, as
// `attnserve --print-gen-options` prints it.
// Usage: [ATTNSERVE_BIN=build/server/attnserve] node tests/integration/check-openapi.mjs [openapi.yaml]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import YAML from 'yaml';

const file = process.argv[2] ?? new URL('../../openapi.yaml', import.meta.url).pathname;
const doc = YAML.parse(readFileSync(file, 'utf8'), { maxAliasCount: -1 });
const validator = new Validator();
const res = await validator.validate(doc);
if (validator.version !== '3.1') {
  console.error(`check-openapi: ${file} is OpenAPI ${validator.version}, expected 3.1`);
  process.exit(1);
}
if (!res.valid) {
  console.error(`check-openapi: ${file} is not a valid OpenAPI 3.1 document:`);
  console.error(JSON.stringify(res.errors, null, 2).slice(0, 4000));
  process.exit(1);
}
// every internal $ref points at something
const missing = [];
(function walk(node, path) {
  if (Array.isArray(node)) node.forEach((v, i) => walk(v, `${path}/${i}`));
  else if (node && typeof node === 'object') {
    if (typeof node.$ref === 'string' && node.$ref.startsWith('#/')) {
      let cur = doc;
      for (const part of node.$ref.slice(2).split('/')) cur = cur?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
      if (cur === undefined) missing.push(`${path}: ${node.$ref}`);
    }
    for (const [k, v] of Object.entries(node)) walk(v, `${path}/${k}`);
  }
})(doc, '');
if (missing.length) {
  console.error('check-openapi: unresolved $ref:\n  ' + missing.join('\n  '));
  process.exit(1);
}
// the decoding options: openapi.yaml's GenerationOptions must be the option table of the code
// (config/genopts_table.h), as the binary prints it with --print-gen-options
const bin = process.env.ATTNSERVE_BIN ?? new URL('../../build/server/attnserve', import.meta.url).pathname;
let table;
try {
  table = JSON.parse(execFileSync(bin, ['--print-gen-options'], { encoding: 'utf8', env: {} }));
} catch (e) {
  console.error(`check-openapi: cannot run ${bin} --print-gen-options (build first, or set ATTNSERVE_BIN): ${e.message}`);
  process.exit(1);
}
const spec = doc.components?.schemas?.GenerationOptions?.properties ?? {};
const diffs = [];
const keys = [...new Set([...Object.keys(table), ...Object.keys(spec)])];
for (const k of keys) {
  if (!(k in spec)) diffs.push(`${k}: in the option table, missing from openapi.yaml`);
  else if (!(k in table)) diffs.push(`${k}: in openapi.yaml, not in the option table`);
  else if (JSON.stringify(spec[k], Object.keys(spec[k]).sort()) !== JSON.stringify(table[k], Object.keys(table[k]).sort()) ||
           Object.keys(spec[k]).length !== Object.keys(table[k]).length)
    diffs.push(`${k}: openapi.yaml says ${JSON.stringify(spec[k])}\n    the option table says ${JSON.stringify(table[k])}`);
}
if (JSON.stringify(Object.keys(spec)) !== JSON.stringify(Object.keys(table)) && !diffs.length)
  diffs.push(`the order differs: openapi.yaml ${Object.keys(spec).join(', ')}; the table ${Object.keys(table).join(', ')}`);
if (diffs.length) {
  console.error('check-openapi: components.schemas.GenerationOptions differs from the option table (config/genopts_table.h):\n  ' + diffs.join('\n  '));
  process.exit(1);
}
const nPaths = Object.keys(doc.paths).length;
console.log(`check-openapi: ${file} is valid OpenAPI ${doc.openapi} (${nPaths} paths; GenerationOptions = the option table of ${bin})`);
