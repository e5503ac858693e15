// Shared by the end-to-end tests: a scratch directory, a free port, the real qunzhu binary
// started on port 0, and waiting for a condition with a deadline.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export function scratch(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls `check` (sync or async) every 50 ms until it returns a truthy value; throws `what` after
// `ms`.
export async function waitFor(what, check, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

// Starts `qunzhu serve` on a fresh data directory (`reuse`: the one of an earlier start) with `config` and `playbook` (file paths);
// resolves to { url, token, stop() } once it listens. Its log goes to <dir>/qunzhu.log.
export async function startQunzhu(binary, dir, { config, playbook, env = {}, reuse = false }) {
  const data = path.join(dir, 'data');
  if (!reuse) execFileSync(binary, ['init', '--data', data], { stdio: 'ignore' });
  fs.rmSync(path.join(dir, 'port'), { force: true });
  const portFile = path.join(dir, 'port');
  const log = fs.openSync(path.join(dir, 'qunzhu.log'), 'w');
  const args = ['serve', '--data', data, '--listen', '127.0.0.1:0', '--port-file', portFile,
    '--config', config, '--playbook', playbook];
  const child = spawn(binary, args, { stdio: ['ignore', log, log], env: { ...process.env, ...env } });
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  const port = await waitFor('qunzhu to listen', () => {
    if (exited) throw new Error(`qunzhu exited (${JSON.stringify(exited)}): ${fs.readFileSync(path.join(dir, 'qunzhu.log'), 'utf8')}`);
    try { return Number(fs.readFileSync(portFile, 'utf8').trim()) || null; } catch { return null; }
  });
  const token = fs.readFileSync(path.join(data, 'admin.token'), 'utf8').trim();
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    log: () => fs.readFileSync(path.join(dir, 'qunzhu.log'), 'utf8'),
    async stop() {
      if (exited) return exited;
      child.kill('SIGTERM');
      return waitFor('qunzhu to stop', () => exited, 10000);
    },
  };
}

// The playbook both platform tests use: one interest group of `platform` with a welcome, one FAQ
// entry ("怎么打卡") and the default moderation. Written to <dir>/playbook.toml; returns the path.
export function writeTestPlaybook(dir, { slug, name, platform, group }) {
  const file = path.join(dir, 'playbook.toml');
  fs.writeFileSync(file, `
[community]
slug = "${slug}"
name = "${name}"
language = "zh"
rules = "不发广告"

[[groups]]
platform = "${platform}"
id = "${group}"
name = "测试群"
type = "interest"

[welcome]
text = "欢迎 {member.name} 加入{group.name}"

[answers]
[[answers.faq]]
keywords = ["怎么打卡"]
answer = "每天在群里发「打卡」即可"

[moderation]
`);
  return file;
}

// A failed test: the error, what the fake peer saw (`seen`, by name), and qunzhu's log; the
// process then exits non-zero.
export function reportFailure(error, qz, seen = {}) {
  console.error(error);
  for (const [name, value] of Object.entries(seen)) console.error(`${name}:`, JSON.stringify(value, null, 1));
  console.error('--- qunzhu log ---\n' + qz.log());
  process.exitCode = 1;
}
