// Validates an OpenAPI document with @readme/openapi-parser: node validate-openapi.mjs <document.json>.
// Prints each error and warning as a JSON line ({severity, message}); exits 1 when any is an error or
// the document does not parse, else 0. Run by OpenApiContractTest.
import { readFileSync } from 'node:fs';
import { validate } from '@readme/openapi-parser';

const document = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const result = await validate(document);
for (const e of result.errors ?? []) console.log(JSON.stringify({ severity: 'error', message: e.message }));
for (const w of result.warnings ?? []) console.log(JSON.stringify({ severity: 'warning', message: w.message }));
console.log(JSON.stringify({ valid: result.valid, version: document.openapi }));
process.exit(result.valid ? 0 : 1);
