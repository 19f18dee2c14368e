#!/usr/bin/env node
// Copies the AWS KMS API model (botocore's service-2.json) into the project without its prose:
// every "documentation", "documentationUrl" and "examples" field is removed, nothing else is changed
// (member order is kept: validation reports violations in model order).
//
//   node scripts/strip-aws-model.mjs IN [OUT]
//
// IN is botocore's data/kms/2014-11-01/service-2.json (from a botocore checkout or installation);
// OUT defaults to main/api/kms/model/kms-2014-11-01.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
if (!process.argv[2] || process.argv[2] === '--help') {
  console.error('Usage: node scripts/strip-aws-model.mjs PATH/TO/botocore/data/kms/2014-11-01/service-2.json [OUT]');
  process.exit(process.argv[2] ? 0 : 2);
}
const input = resolve(process.argv[2]);
const output = resolve(process.argv[3] ?? resolve(root, 'main/api/kms/model/kms-2014-11-01.json'));

const DROPPED = new Set(['documentation', 'documentationUrl', 'examples']);
// Maps whose keys are names chosen by the model (operations, shapes, members), not model fields: a member
// that happened to be called "documentation" must survive.
const NAME_MAPS = new Set(['operations', 'shapes', 'members']);

let removed = 0;

/** @param {unknown} node @param {boolean} keysAreNames */
function strip(node, keysAreNames) {
  if (Array.isArray(node)) return node.map((item) => strip(item, false));
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (!keysAreNames && DROPPED.has(key)) {
      removed += 1;
      continue;
    }
    out[key] = strip(value, !keysAreNames && NAME_MAPS.has(key));
  }
  return out;
}

const source = readFileSync(input, 'utf8');
const model = JSON.parse(source);
const stripped = strip(model, false);
const text = `${JSON.stringify(stripped, null, 1)}\n`;
writeFileSync(output, text);
console.log(
  `strip-aws-model: ${Object.keys(stripped.operations ?? {}).length} operations, ${Object.keys(stripped.shapes ?? {}).length} shapes, ` +
    `${removed} fields removed, ${source.length} → ${text.length} bytes → ${output}`,
);
