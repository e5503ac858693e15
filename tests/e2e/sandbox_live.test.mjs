// End-to-end: the sandbox's live feed (GET /api/v1/sandbox/live, a WebSocket; the console's
// sandbox chat follows a group with it) against the real binary, with the npm `ws` client as the
// browser. Refusals first (no credentials, another site's Origin, no group), then a member joins
// and posts an ad: the feed brings the join, the bot's welcome, the ad, the same ad again marked
// deleted, the deletion and the warning, without being asked. Reconnecting with `after` gets only
// what came later.
//   node sandbox_live.test.mjs /path/to/qunzhu
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { reportFailure, scratch, startQunzhu, waitFor, writeTestPlaybook } from './lib.mjs';

const binary = process.argv[2];
assert.ok(binary, 'usage: node sandbox_live.test.mjs QUNZHU_BINARY');

const GROUP = 'live-1';
const dir = scratch('qz-e2e-sandbox-live-');
const config = path.join(dir, 'qunzhu.toml');
fs.writeFileSync(config, '[platforms.sandbox]\n');
const playbook = writeTestPlaybook(dir, { slug: 'live', name: '实时测试社群', platform: 'sandbox', group: GROUP });
const qz = await startQunzhu(binary, dir, { config, playbook });
const wsBase = qz.url.replace('http:', 'ws:');

// Opens the feed; resolves with the socket and the entries it brought so far (by seq, the
// latest copy of each), or rejects with the HTTP status of a refused upgrade.
function follow(query, headers = { Authorization: `Bearer ${qz.token}` }) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${wsBase}/api/v1/sandbox/live${query}`, { headers });
    const feed = { ws, frames: [], entries: new Map() };
    ws.on('unexpected-response', (_req, res) => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode })));
    ws.on('error', reject);
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      feed.frames.push(frame);
      for (const e of frame.messages) feed.entries.set(e.seq, e);
    });
    ws.on('open', () => resolve(feed));
  });
}
const refusal = (promise) => promise.then(() => 0, (e) => e.status);

async function post(kind, body) {
  const r = await fetch(`${qz.url}/api/v1/sandbox/groups/${GROUP}/${kind}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${qz.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(r.status, 200, await r.text());
}
const ofKind = (feed, kind) => [...feed.entries.values()].filter((e) => e.kind === kind);

let feed;
try {
  assert.equal(await refusal(follow(`?group=${GROUP}`, {})), 401, 'no credentials');
  assert.equal(await refusal(follow(`?group=${GROUP}`, { Authorization: `Bearer ${qz.token}`, Origin: 'http://evil.example' })),
    403, 'another site');
  assert.equal(await refusal(follow('')), 400, 'no group');

  feed = await follow(`?group=${GROUP}&after=0`, { Authorization: `Bearer ${qz.token}`, Origin: qz.url });
  await waitFor('the first frame', () => feed.frames.length >= 1);
  assert.deepEqual(feed.frames[0], { group: GROUP, messages: [] });

  await post('join', { member: 'u1', name: '小明' });
  await waitFor('the join and the welcome', () => ofKind(feed, 'join').length === 1 && ofKind(feed, 'bot').length >= 1);
  assert.match(ofKind(feed, 'bot')[0].text, /小明/);

  const ad = '加我微信 vx20240101 免费领取资料 https://spam.example.com/get';
  await post('messages', { member: 'u1', name: '小明', text: ad });
  await waitFor('the ad deleted and its deletion', () => {
    const [message] = ofKind(feed, 'message');
    return message?.deleted && ofKind(feed, 'delete').length === 1 ? message : null;
  });
  const [message] = ofKind(feed, 'message');
  assert.equal(message.text, ad, 'the member\'s words, as typed');
  assert.equal(ofKind(feed, 'delete')[0].message_id, message.message_id);
  // The ad came twice on the feed: as posted, then marked deleted (the same seq).
  const copies = feed.frames.flatMap((f) => f.messages).filter((e) => e.seq === message.seq);
  assert.deepEqual(copies.map((e) => e.deleted), [false, true]);

  // Another group's conversation never comes on this feed.
  const other = await fetch(`${qz.url}/api/v1/sandbox/groups/elsewhere/messages`, {
    method: 'POST', headers: { Authorization: `Bearer ${qz.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ member: 'u9', text: 'hello' }) });
  assert.equal(other.status, 200, await other.text());

  // Reconnecting after the last entry seen: only what comes later.
  const last = Math.max(...feed.entries.keys());
  feed.ws.close();
  feed = await follow(`?group=${GROUP}&after=${last}`);
  await waitFor('the first frame after reconnecting', () => feed.frames.length >= 1);
  assert.deepEqual(feed.frames[0].messages, []);
  await post('messages', { member: 'u1', name: '小明', text: '大家好' });
  await waitFor('the new message', () => ofKind(feed, 'message').length === 1);
  assert.ok([...feed.entries.values()].every((e) => e.seq > last));
  assert.ok(feed.frames.every((f) => f.group === GROUP && f.messages.every((e) => e.member !== 'u9')));
  feed.ws.close();
  const stopped = await qz.stop();
  assert.equal(stopped.code, 0, `qunzhu exit ${JSON.stringify(stopped)}`);
  console.log('sandbox live feed: ok');
} catch (e) {
  reportFailure(e, qz, { frames: feed?.frames });
  await qz.stop();
}
