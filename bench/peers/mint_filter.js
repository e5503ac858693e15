// The npm mint-filter (Aho–Corasick) over the same lexicon and messages as qunzhu's matcher in
// qz_moderation_bench section (f): one message at a time, words found, no replacement.
//   node mint_filter.js LEXICON CORPUS    (one term / one message per line)
'use strict';
const fs = require('fs');
const { Mint } = require('mint-filter');

const [lexiconPath, corpusPath] = process.argv.slice(2);
if (!lexiconPath || !corpusPath) {
  console.error('usage: node mint_filter.js LEXICON CORPUS');
  process.exit(2);
}
const lines = (p) => fs.readFileSync(p, 'utf8').split('\n').filter((l) => l.length > 0);
const terms = lines(lexiconPath);
const messages = lines(corpusPath);
const bytes = messages.reduce((n, m) => n + Buffer.byteLength(m, 'utf8'), 0);

const built = process.hrtime.bigint();
const mint = new Mint(terms);
const buildMs = Number(process.hrtime.bigint() - built) / 1e6;

let best = Infinity;
let matched = 0;
for (let round = 0; round < 5; ++round) {
  matched = 0;
  const start = process.hrtime.bigint();
  for (const m of messages) {
    if (mint.filter(m, { replace: false }).words.length > 0) ++matched;
  }
  best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
}
console.log(
  `(f) mint-filter ${require('mint-filter/package.json').version}, ${terms.length} terms, message by message: ` +
    `${Math.round(messages.length / best)} messages/s, ${(bytes / 1e6 / best).toFixed(1)} MB/s; ` +
    `${matched} of ${messages.length} messages matched (best of 5; built in ${buildMs.toFixed(0)} ms)`,
);
