// Installs web/'s npm packages (`npm ci` from package-lock.json) unless node_modules already
// holds exactly that lock file's packages: the CMake build runs this before every console build,
// and `npm ci` (which deletes node_modules first) then runs only when the lock file changed.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const lock = fs.readFileSync(path.join(web, 'package-lock.json'));
const digest = crypto.createHash('sha256').update(lock).digest('hex');
const stamp = path.join(web, 'node_modules', '.qz-lock-sha256');
let installed = '';
try { installed = fs.readFileSync(stamp, 'utf8').trim(); } catch { /* not installed */ }
if (installed !== digest) {
  const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
  console.log('console: installing npm packages (web/package-lock.json)');
  execFileSync(npm[0], [...npm.slice(1), 'ci', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
    { cwd: web, stdio: 'inherit' });
  fs.writeFileSync(stamp, `${digest}\n`);
}
