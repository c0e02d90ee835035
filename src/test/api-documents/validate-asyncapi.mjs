// Validates an AsyncAPI document with the AsyncAPI parser: node validate-asyncapi.mjs <document.json>.
// Prints the parser's diagnostics as JSON lines ({severity, message, path}); exits 1 when any is an
// error (severity 0) or the document does not parse, else 0. Run by AsyncApiTest.
import { readFileSync } from 'node:fs';
import { Parser } from '@asyncapi/parser';

const text = readFileSync(process.argv[2], 'utf8');
const parser = new Parser();
const { document, diagnostics } = await parser.parse(text);
let errors = 0;
for (const d of diagnostics) {
  if (d.severity === 0) errors++;
  console.log(JSON.stringify({ severity: d.severity, code: d.code, message: d.message, path: d.path }));
}
if (!document) {
  console.log(JSON.stringify({ severity: 0, message: 'the document did not parse' }));
  process.exit(1);
}
console.log(JSON.stringify({ parsed: true, version: document.version(), messages: document.allMessages().length }));
process.exit(errors > 0 ? 1 : 0);
