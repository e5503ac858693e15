// Builds the console: type-checks (vue-tsc), bundles (Vite) into OUT_DIR (default web/dist),
// writes a gzipped copy beside every text file that gzip makes smaller (the binary sends it to
// browsers that accept gzip), and checks the budget: the gzipped total stays under 1.5 MB.
//   node scripts/build.mjs [OUT_DIR]        (npm run build; the CMake target qz_console)
// A build is kept in node_modules/.qz-console under the digest of every input file: another
// build tree (release, asan) asking for the same sources gets a copy instead of a second build.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.resolve(process.argv[2] ?? path.join(web, 'dist'));
const BUDGET_BYTES = 1.5 * 1000 * 1000;
const COMPRESSIBLE = /\.(html|js|mjs|css|svg|json|txt|map)$/;

const require = createRequire(import.meta.url);
const started = Date.now();

function* files(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* files(full);
    else if (entry.isFile() && !entry.name.endsWith('.gz')) yield full;
  }
}

// What the build reads: the sources, the configuration and the locked packages.
function sourceDigest() {
  const hash = crypto.createHash('sha256');
  const inputs = ['src', 'public', 'scripts'].flatMap((d) => [...files(path.join(web, d))]);
  inputs.push(...['index.html', 'vite.config.ts', 'tsconfig.json', 'package.json', 'package-lock.json']
    .map((f) => path.join(web, f)));
  // The preset playbooks the Playbooks page bundles (src/pages/playbooks/presets.ts).
  const presets = path.join(web, '..', 'playbooks');
  if (fs.existsSync(presets)) inputs.push(...[...files(presets)].filter((f) => f.endsWith('.toml')));
  for (const file of inputs.sort()) {
    hash.update(path.relative(web, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

const digest = sourceDigest();
const cache = path.join(web, 'node_modules', '.qz-console');
const cached = path.join(cache, digest);
if (fs.existsSync(path.join(cached, 'index.html')) && path.resolve(cached) !== outDir) {
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.cpSync(cached, outDir, { recursive: true });
  console.log(`console: unchanged sources, copied the build of ${digest.slice(0, 12)} into ${outDir}`);
  process.exit(0);
}
try {
  execFileSync(process.execPath, [require.resolve('vue-tsc/bin/vue-tsc.js'), '--noEmit', '-p', 'tsconfig.json'],
    { cwd: web, stdio: 'inherit' });
} catch {
  console.error('console: the type check failed (the errors are above)');
  process.exit(1);
}
const { build } = await import('vite');
await build({ root: web, logLevel: 'warn', build: { outDir, emptyOutDir: true } });

let raw = 0;
let gzipped = 0;
const rows = [];
for (const file of files(outDir)) {
  const bytes = fs.readFileSync(file);
  let sent = bytes.length;
  if (COMPRESSIBLE.test(file)) {
    const gz = zlib.gzipSync(bytes, { level: 9 });
    if (gz.length < bytes.length) {
      fs.writeFileSync(`${file}.gz`, gz);
      sent = gz.length;
    }
  }
  raw += bytes.length;
  gzipped += sent;
  rows.push([path.relative(outDir, file), bytes.length, sent]);
}
rows.sort((a, b) => b[2] - a[2]);
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
for (const [name, r, g] of rows.slice(0, 8)) console.log(`  ${name.padEnd(44)} ${kb(r).padStart(11)} ${kb(g).padStart(11)} gzipped`);
console.log(`console built in ${((Date.now() - started) / 1000).toFixed(1)} s: ${rows.length} files, ` +
  `${kb(raw)} (${kb(gzipped)} gzipped, budget ${kb(BUDGET_BYTES)}) in ${outDir}`);
if (gzipped > BUDGET_BYTES) {
  console.error(`the built console is ${kb(gzipped)} gzipped: over the budget of ${kb(BUDGET_BYTES)}`);
  process.exit(1);
}
// Only a build within the budget is kept for other build trees; older builds go.
fs.rmSync(cache, { recursive: true, force: true });
fs.mkdirSync(cache, { recursive: true });
fs.cpSync(outDir, cached, { recursive: true });
