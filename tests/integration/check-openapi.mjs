// check-openapi.mjs — validates openapi.yaml against the official OpenAPI 3.1 schema with a real
// validator (@seriousme/openapi-schema-validator) and checks that every $ref resolves.
// Usage: node tests/integration/check-openapi.mjs [openapi.yaml]
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
const nPaths = Object.keys(doc.paths).length;
console.log(`check-openapi: ${file} is valid OpenAPI ${doc.openapi} (${nPaths} paths)`);
