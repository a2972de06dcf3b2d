// The web page (GET /) in a real browser: headless Chromium driven by
// playwright-core (pinned in package.json). Chat streams and stops, the KV
// dashboard's block map moves and shows shared blocks, and with --api-key
// the page asks for the key while the snapshot refuses without it.
// SCREENSHOT_DIR=dir also saves desktop and phone screenshots there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startServer, http, metric, waitFor, MODEL_ID } from './lib.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  throw new Error(`no Chromium at ${CHROMIUM}: install the Debian package chromium (make deps does) ` +
                  'or set CHROMIUM to a Chromium binary');
}

// A system prompt of about 11 KV blocks of 16 tokens.
const LONG_SYSTEM = 'You are a storyteller. ' +
  Array.from({ length: 8 }, (_, i) => `Rule ${i}: the cat and the dog play in the park.`).join(' ');

let server, browser;
before(async () => {
  server = await startServer(['--max-running', '64']);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
after(async () => {
  await browser?.close();
  assert.equal((await server.stop()).code, 0);
});

// A page with its own storage, collecting console errors and page errors.
async function openPage(url, { width = 1280, height = 860 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  return { page, errors, close: () => context.close() };
}

// Keeps n streams generating until stop() so that the page's replies take
// long enough to watch and to stop (stories260K alone writes 480 tokens in
// about a tenth of a second).
function backgroundLoad(n) {
  let running = true;
  const loops = Array.from({ length: n }, async (_, i) => {
    while (running) {
      const res = await fetch(server.url + '/v1/completions', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ model: MODEL_ID, prompt: `Load ${i} once upon a time`, max_tokens: 400,
                               temperature: 1, stream: true }),
      });
      await res.text();
    }
  });
  return async () => { running = false; await Promise.all(loops); };
}

async function sendMessage(page, text, { system = '', maxTokens = 64 } = {}) {
  if (system || maxTokens !== 64) {
    await page.evaluate(() => { document.querySelector('details.settings').open = true; });
    await page.fill('#system-prompt', system);
    await page.fill('#max-tokens', String(maxTokens));
  }
  await page.fill('#prompt', text);
  await page.press('#prompt', 'Enter');
}

test('the page loads with no console errors and shows the model', async () => {
  const { page, errors, close } = await openPage(server.url + '/');
  await page.waitForFunction(() => document.querySelector('#model-info').textContent.includes('context'));
  assert.match(await page.textContent('#model-info'), /stories260K · context 512/);
  await page.waitForFunction(() => document.querySelector('#blockmap').dataset.sequence !== undefined);
  assert.deepEqual(errors, []);
  await close();
});

test('a chat message streams a reply with TTFT and tokens/s; it survives a reload', async () => {
  const { page, errors, close } = await openPage(server.url + '/');
  await sendMessage(page, 'Once upon a time');
  await page.waitForFunction(() => /tok\/s/.test(document.querySelector('.msg.assistant .meta')?.textContent));
  const reply = await page.textContent('.msg.assistant .body');
  assert.ok(reply.trim().length > 0, 'a reply');
  assert.match(await page.textContent('.msg.assistant .meta'), /TTFT \d+ ms · [\d.]+ tok\/s · \d+ tokens/);
  // The dashboard's latency histograms count it (from /metrics, every 2 s).
  await page.waitForFunction(() => Number(document.querySelector('#ttft-hist').dataset.count) >= 1 &&
                                   Number(document.querySelector('#itl-hist').dataset.count) >= 1);
  await page.reload();
  assert.equal((await page.textContent('.msg.assistant .body')).trim(), reply.trim());
  assert.deepEqual(errors, []);
  await close();
});

test('model text is shown as text, never as HTML', async () => {
  const { page, close } = await openPage(server.url + '/');
  await page.evaluate(() => localStorage.setItem('kvserve.chat', JSON.stringify([
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: '<img src=x onerror="window.pwned=1"> **bold** `code`\n\n```js\n<b>x</b>\n```' },
  ])));
  await page.reload();
  assert.equal(await page.locator('.msg.assistant img').count(), 0);
  assert.equal(await page.textContent('.msg.assistant strong'), 'bold');
  assert.equal(await page.textContent('.msg.assistant p code'), 'code');
  assert.equal(await page.textContent('.msg.assistant pre code'), '<b>x</b>\n');
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  await close();
});

test('the stop button aborts the reply and the server counts the abort', async () => {
  const stopLoad = backgroundLoad(24);
  try {
    const aborts = async () => metric(server, 'kvserve_requests_total{finish_reason="abort"}');
    const before = await aborts();
    const { page, errors, close } = await openPage(server.url + '/');
    await sendMessage(page, 'Once upon a time', { maxTokens: 450 });
    await page.waitForFunction(() => document.querySelector('.msg.assistant .body')?.textContent.length > 0);
    assert.equal(await page.isEnabled('#stop'), true);
    await page.click('#stop');
    await page.waitForFunction(() => /stopped/.test(document.querySelector('.msg.assistant .meta').textContent));
    assert.equal(await page.isEnabled('#send'), true);
    await waitFor(async () => (await aborts()) > before, { what: 'the abort counter to rise' });
    assert.deepEqual(errors, []);
    await close();
  } finally {
    await stopLoad();
  }
});

test('the block map changes while requests run and shows blocks two chats share', async () => {
  const a = await openPage(server.url + '/');
  const b = await openPage(server.url + '/');
  const counts = (p) => p.evaluate(() => ({ ...document.querySelector('#blockmap').dataset }));
  await a.page.waitForFunction(() => document.querySelector('#blockmap').dataset.sequence !== undefined);
  const idle = await counts(a.page);
  const stopLoad = backgroundLoad(24);
  try {
    // The keyboard walks the map.
    await a.page.focus('#blockmap');
    await a.page.keyboard.press('Home');
    await a.page.keyboard.press('ArrowRight');
    assert.match(await a.page.textContent('#block-info'), /^block 1: /);
    // Both chats run with the same long system prompt: the map shows shared
    // blocks, and hovering one (found by its colour on the canvas) names its
    // tenant. The replies may end between two polls: then another round.
    let text = '', busy = null;
    for (let round = 0; round < 5 && !/shared · tenant [0-9a-f]{8}/.test(text); round++) {
      for (const p of [a.page, b.page]) await p.click('#new-chat');
      await sendMessage(a.page, 'Tell me a story.', { system: LONG_SYSTEM, maxTokens: 250 });
      await sendMessage(b.page, 'Tell me another story.', { system: LONG_SYSTEM, maxTokens: 250 });
      await a.page.waitForFunction(() => Number(document.querySelector('#blockmap').dataset.shared) >= 6,
                                   null, { timeout: 20000 });
      busy = await counts(a.page);
      const at = await a.page.evaluate(() => {
        const c = document.querySelector('#blockmap');
        const { cell, cols } = c.dataset;
        const dpr = window.devicePixelRatio || 1;
        const img = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < 100000; i++) {
          const x = (i % cols + 0.5) * cell, y = (Math.floor(i / cols) + 0.5) * cell;
          if (y * dpr >= c.height) return null;
          const k = (Math.floor(y * dpr) * c.width + Math.floor(x * dpr)) * 4;
          if (img[k] === 0xc2 && img[k + 1] === 0x37 && img[k + 2] === 0x8a) return { x, y };
        }
        return null;
      });
      if (!at) continue;
      const box = await a.page.locator('#blockmap').boundingBox();
      await a.page.mouse.move(box.x + at.x, box.y + at.y);
      text = await a.page.textContent('#block-info');
    }
    assert.notEqual(busy.sequence, idle.sequence);
    assert.ok(Number(busy.inuse) + Number(busy.shared) > Number(idle.inuse) + Number(idle.shared));
    if (process.env.SCREENSHOT_DIR) {
      await a.page.screenshot({ path: `${process.env.SCREENSHOT_DIR}/web-desktop.png`, fullPage: true });
      await a.page.waitForFunction(() => /tokens/.test(document.querySelector('.msg.assistant .meta').textContent),
                                   null, { timeout: 30000 });
      const phone = await openPage(server.url + '/', { width: 390, height: 844 });
      await phone.page.evaluate((chat) => localStorage.setItem('kvserve.chat', chat),
                                await a.page.evaluate(() => localStorage.getItem('kvserve.chat')));
      await phone.page.reload();
      await phone.page.waitForFunction(() => document.querySelector('#blockmap').dataset.sequence !== undefined);
      await phone.page.screenshot({ path: `${process.env.SCREENSHOT_DIR}/web-phone.png`, fullPage: true });
      await phone.close();
    }
    assert.match(text, /shared · tenant [0-9a-f]{8}/);
    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
  } finally {
    await stopLoad();
    await a.close();
    await b.close();
  }
});

test('with --api-key the page asks for the key and the snapshot refuses without it', async () => {
  const secured = await startServer(['--api-key', 'sk-web-test']);
  try {
    const noKey = await http(secured, 'GET', '/v1/kv/snapshot');
    assert.equal(noKey.status, 401);
    assert.ok(!noKey.text.includes('states'), 'no snapshot in the refusal');
    const wrong = await http(secured, 'GET', '/v1/kv/snapshot', undefined,
                             { Authorization: 'Bearer sk-wrong' });
    assert.equal(wrong.status, 401);
    const ok = await http(secured, 'GET', '/v1/kv/snapshot', undefined,
                          { Authorization: 'Bearer sk-web-test' });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.object, 'kv.snapshot');

    const { page, close } = await openPage(secured.url + '/');
    await page.waitForSelector('#key-panel:not([hidden])');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'api-key');
    assert.equal(await page.evaluate(() => document.querySelector('#blockmap').dataset.sequence), undefined);
    // Hold one keyless poll until the key is in: its late 401 answers a key no
    // longer in use and must not ask for the key again (a slow server's race).
    let heldRoute, holding;
    const held = new Promise((resolve) => { holding = resolve; });
    await page.route('**/v1/kv/snapshot', (route) => {
      if (!heldRoute && !route.request().headers().authorization) {
        heldRoute = route;
        holding();
      } else {
        route.continue();
      }
    });
    await held;
    await page.fill('#api-key', 'sk-web-test');
    await page.press('#api-key', 'Enter');
    // The model's line loads with the key while the snapshot poll is held.
    await page.waitForFunction(() => document.querySelector('#model-info').textContent.includes('context'));
    const refused = page.waitForResponse((r) => r.url().endsWith('/v1/kv/snapshot') && r.status() === 401);
    await heldRoute.continue();
    await refused;
    await page.waitForTimeout(100);
    assert.equal(await page.isHidden('#key-panel'), true, 'a stale 401 reopened the key panel');
    await page.waitForFunction(() => document.querySelector('#blockmap').dataset.sequence !== undefined);
    await sendMessage(page, 'Once upon a time');
    await page.waitForFunction(() => /tokens/.test(document.querySelector('.msg.assistant .meta')?.textContent));
    assert.equal(await page.isHidden('#key-panel'), true);
    // The key is kept for the session only.
    assert.equal(await page.evaluate(() => JSON.stringify(localStorage).includes('sk-web-test')), false);
    await close();
  } finally {
    assert.equal((await secured.stop()).code, 0);
  }
});

test('a long unbroken message and a wide code block do not widen the page at a phone\'s width', async () => {
  const { page, close } = await openPage(server.url + '/', { width: 390, height: 844 });
  await page.evaluate(() => localStorage.setItem('kvserve.chat', JSON.stringify([
    { role: 'user', content: 'x'.repeat(3000) },
    { role: 'assistant', content: 'y'.repeat(3000) + '\n\n```\n' + 'z'.repeat(500) + '\n```' },
  ])));
  await page.reload();
  await page.waitForSelector('.msg.assistant pre');
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  assert.ok(scroll <= client, `page ${scroll} px wide in a ${client} px viewport`);
  await close();
});
