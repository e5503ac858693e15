// End-to-end: qunzhu against a fake OneBot v11 implementation that connects over the reverse
// WebSocket (what NapCat's "WebSocket client" network setting does): events come in as frames,
// actions go out on the same socket with an `echo` the implementation answers with. Covers the
// handshake's access token, garbage frames, and dropped sockets: events after reconnecting are
// taken in, an action that was in flight and is safe to repeat (delete) is sent again, and one
// that is not (a message members may already have seen) is not sent twice.
//   node onebot_ws.test.mjs /path/to/qunzhu
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { reportFailure, scratch, sleep, startQunzhu, waitFor, writeTestPlaybook } from './lib.mjs';

const binary = process.argv[2];
assert.ok(binary, 'usage: node onebot_ws.test.mjs QUNZHU_BINARY');

const SELF = 10001;
const GROUP = 600001;
const ACCESS = 'onebot-ws-e2e-access';

const dir = scratch('qz-e2e-onebot-ws-');
const config = path.join(dir, 'qunzhu.toml');
// No api_url: the socket is the only way to act.
fs.writeFileSync(config, `
[platforms.qq]
self_id = "${SELF}"
access_token = { env = "QZ_E2E_ONEBOT_ACCESS" }
`);
const playbook = writeTestPlaybook(dir, { slug: 'qq', name: 'QQ 测试社群', platform: 'qq', group: GROUP });
const qz = await startQunzhu(binary, dir, { config, playbook, env: { QZ_E2E_ONEBOT_ACCESS: ACCESS } });
const wsUrl = qz.url.replace('http:', 'ws:') + '/webhooks/qq';

// Every action frame received, on any socket, in order.
const calls = [];
let nextMessage = 5000;

// Connects as the implementation; `answer(call)` decides whether a call gets its answer.
function connect({ token = ACCESS, answer = () => true } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, {
      headers: { Authorization: `Bearer ${token}`, 'X-Self-ID': String(SELF), 'X-Client-Role': 'Universal' },
    });
    ws.on('unexpected-response', (_req, res) => reject(Object.assign(new Error('refused'), { status: res.statusCode })));
    ws.on('error', reject);
    ws.on('open', () => resolve(ws));
    ws.on('message', (data) => {
      const call = JSON.parse(data.toString());
      calls.push(call);
      if (!answer(call)) return;
      const result = call.action.startsWith('send_') ? { message_id: nextMessage++ } : null;
      ws.send(JSON.stringify({ status: 'ok', retcode: 0, data: result, echo: call.echo }));
    });
  });
}
const closed = (ws) => new Promise((r) => { if (ws.readyState === WebSocket.CLOSED) r(); else ws.on('close', r); });

const now = () => Math.floor(Date.now() / 1000);
const groupMessage = (id, message) => ({
  time: now(), self_id: SELF, post_type: 'message', message_type: 'group', sub_type: 'normal',
  message_id: id, group_id: GROUP, user_id: 7001, message, raw_message: '', font: 0,
  sender: { user_id: 7001, nickname: '小明', card: '', role: 'member' },
});
const join = { time: now(), self_id: SELF, post_type: 'notice', notice_type: 'group_increase',
  sub_type: 'approve', group_id: GROUP, user_id: 7001, operator_id: 0 };
const textOf = (c) => (c.params.message ?? []).filter((s) => s.type === 'text').map((s) => s.data.text).join('');
const sends = (pred) => calls.filter((c) => c.action === 'send_group_msg' && c.params.group_id === GROUP && pred(c));
const isWarning = (c) => c.params.message[0]?.type === 'reply' && String(c.params.message[0].data.id) === '102';
const platforms = async () => (await (await fetch(`${qz.url}/api/v1/platforms`, {
  headers: { Authorization: `Bearer ${qz.token}` },
})).json()).platforms.find((p) => p.platform === 'qq');

try {
  // Refused: a wrong token gets 401 and no socket; a plain GET (no upgrade) gets 400.
  await assert.rejects(connect({ token: 'wrong' }), (e) => e.status === 401);
  const plain = await fetch(`${qz.url}/webhooks/qq`, { headers: { Authorization: `Bearer ${ACCESS}`, 'X-Self-ID': String(SELF) } });
  assert.equal(plain.status, 400);
  assert.match(await plain.text(), /WebSocket upgrade/);

  // 1. Connected: a join over the socket is welcomed over the socket.
  let swallow = false;
  const first = await connect({ answer: () => !swallow });
  await waitFor('the connection', async () => (await platforms()).connections[0].state === 'connected');
  first.send('this is not JSON');  // skipped and counted, never a crash
  first.send(JSON.stringify(join));
  await waitFor('the welcome', () => sends((c) => textOf(c).includes('欢迎')).length === 1);

  // 2. An ad: its delete goes out (the warning waits behind it: one chat's actions keep their
  // order), the implementation does not answer, and the socket drops.
  swallow = true;
  first.send(JSON.stringify(groupMessage(102, '加微信 abc12345 低价出售游戏金币[CQ:face,id=14]，私聊有优惠')));
  await waitFor('the delete', () => calls.some((c) => c.action === 'delete_msg' && c.params.message_id === 102));
  first.terminate();
  await closed(first);
  await waitFor('the socket to be seen gone', async () => (await platforms()).connections[0].state !== 'connected');

  // 3. The implementation connects again: the delete is sent again (repeating it is harmless),
  // then the warning.
  let swallowAnswer = false;
  const second = await connect({ answer: (c) => !(swallowAnswer && textOf(c).includes('每天在群里发')) });
  await waitFor('the delete again, then the warning', () =>
    calls.filter((c) => c.action === 'delete_msg' && c.params.message_id === 102).length === 2 &&
    sends(isWarning).length === 1, 30000);

  // 4. A question the FAQ answers: the answer goes out, is not answered, and the socket drops.
  swallowAnswer = true;
  second.send(JSON.stringify(groupMessage(103, [{ type: 'text', data: { text: '请问怎么打卡？' } }])));
  await waitFor('the FAQ answer', () => sends((c) => textOf(c).includes('每天在群里发')).length === 1);
  second.terminate();
  await closed(second);

  // 5. Connected again: events are taken in (a second member is welcomed), and the answer that
  // may have been shown is not sent twice.
  const third = await connect();
  await waitFor('the connection', async () => (await platforms()).connections[0].state === 'connected');
  third.send(JSON.stringify({ ...join, user_id: 7002 }));
  await waitFor('the second welcome', () => sends((c) => textOf(c).includes('欢迎 7002')).length === 1);
  await sleep(1000);
  assert.equal(sends((c) => textOf(c).includes('每天在群里发')).length, 1, 'the answer is not sent twice');
  assert.equal(sends(isWarning).length, 1, 'one warning');
  assert.equal(sends((c) => textOf(c).includes('欢迎 7001')).length, 1, 'one welcome');

  const qq = await platforms();
  assert.equal(qq.connections[0].state, 'connected');
  assert.ok(qq.connections[0].errors >= 2, 'the refused handshake and the garbage frame count');
  assert.ok(qq.connections[0].events >= 3, 'events came in over the socket');
  assert.ok(!qz.log().includes(ACCESS), 'the access token is not logged');
  third.close();

  // A peer that takes the socket and then says nothing more (not even to the close) does not
  // hold up a stop: qunzhu cuts it after a short grace and exits cleanly.
  const silent = net.connect(Number(new URL(qz.url).port), '127.0.0.1');
  silent.write(['GET /webhooks/qq HTTP/1.1', 'Host: 127.0.0.1', 'Upgrade: websocket', 'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', `Authorization: Bearer ${ACCESS}`,
    `X-Self-ID: ${SELF}`, '', ''].join('\r\n'));
  let handshake = '';
  silent.on('data', (d) => { handshake += d.toString('latin1'); });
  await waitFor('the silent peer\'s handshake', () => handshake.startsWith('HTTP/1.1 101'));
  const exit = await qz.stop();
  assert.equal(exit.code, 0, `qunzhu exits cleanly: ${JSON.stringify(exit)}`);
  silent.destroy();
  console.log('onebot websocket e2e: ok');
} catch (e) {
  reportFailure(e, qz, { calls });
} finally {
  await qz.stop();
}
