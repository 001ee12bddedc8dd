// e2e.mjs - end-to-end test of the web UI (web/) in headless Chromium.
//
// Usage: FRUGAL_BIN=/abs/path/to/frugal node tests/browser/e2e.mjs
// Starts `frugal serve` on a free 127.0.0.1 port (--port 0; the port is read from its
// "listening on" line) with a fresh database and an admin key, drives Debian's
// /usr/bin/chromium through playwright-core (never a downloaded browser): enter the key, upload
// a document through the file input that drag and drop also feeds, ask about it, see a cited
// answer, open the citation and see the passage highlighted, search, look at the dashboard (its
// cards show numbers from /metrics after the ask), delete the document, ask again and see that
// it is no longer found. Saves screenshots to build/browser/ (SCREENSHOT_DIR). Prints
// "ok N - what" / "not ok N - what" and ends with "N passed, M failed"; exit 1 on any failure.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const BIN = process.env.FRUGAL_BIN;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = resolve(process.env.SCREENSHOT_DIR || 'build/browser');
if (!BIN) {
  console.error('e2e.mjs: set FRUGAL_BIN to the absolute path of the frugal binary');
  process.exit(2);
}

let n = 0;
let passed = 0;
let failed = 0;
function check(what, cond, detail) {
  n += 1;
  if (cond) { passed += 1; console.log(`ok ${n} - ${what}`); }
  else { failed += 1; console.log(`not ok ${n} - ${what}${detail !== undefined ? `\n#   ${detail}` : ''}`); }
}

const T = mkdtempSync(join(tmpdir(), 'frugal-browser.'));
const DB = join(T, 'test.db');
mkdirSync(SHOTS, { recursive: true });
const ADMIN = execFileSync(BIN, ['--db', DB, 'keys', 'create', '--role', 'admin']).toString().trim();

const server = spawn(BIN, ['--db', DB, 'serve', '--port', '0', '--threads', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
let serverErr = '';
server.stderr.on('data', (d) => { serverErr += d; });
const port = await new Promise((res, rej) => {
  let out = '';
  const timer = setTimeout(() => rej(new Error('the server did not start')), 10000);
  server.stdout.on('data', (d) => {
    out += d;
    const m = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
    if (m) { clearTimeout(timer); res(Number(m[1])); }
  });
  server.on('exit', (code) => rej(new Error(`the server exited with ${code}: ${serverErr}`)));
});
const URL = `http://127.0.0.1:${port}`;

// A fresh profile folder (--user-data-dir) for each run, removed with T.
const context = await chromium.launchPersistentContext(join(T, 'profile'), {
  executablePath: CHROMIUM,
  headless: true,
  viewport: { width: 1200, height: 860 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run'],
});

const DOC = 'lighthouse.md';
writeFileSync(join(T, DOC), [
  '# The Zorblat lighthouse', '',
  'The harbour town keeps a small museum of old fishing boats and nets.', '',
  'The Zorblat lighthouse was built in 1887 by the engineer Mara Quillfeather on the northern cliffs.',
  'Its lamp burned whale oil until 1921, when it was changed to electric light.', '',
  'Visitors climb 212 steps to reach the gallery at the top.', '',
].join('\n'));

async function ask(page, question) {
  await page.fill('#ask-input', question);
  const reply = page.waitForResponse((r) => r.url().endsWith('/v1/ask') && r.request().method() === 'POST' && r.status() !== 501);
  await page.click('#ask-button');
  await reply;
  await page.waitForFunction(() => !document.querySelector('#ask-button').disabled);
}

try {
  const page = context.pages()[0] || await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('dialog', (d) => d.accept());

  const index = await page.goto(`${URL}/`);
  check('GET / serves the page as text/html', index.status() === 200 && index.headers()['content-type'].startsWith('text/html'));
  check('the page has its title and the key field', (await page.title()) === 'frugal' && await page.isVisible('#key-input'));
  check('without a key the page asks for one', (await page.textContent('#status')).includes('API key'));

  await page.fill('#key-input', ADMIN);
  await page.click('#key-save');
  await page.waitForFunction(() => document.querySelector('#collection-select').options.length > 0);
  check('with the key the collections load', (await page.inputValue('#collection-select')) === 'default');
  check('the key is kept in sessionStorage', (await page.evaluate(() => sessionStorage.getItem('frugal.key'))) === ADMIN);

  await page.click('#tab-documents');
  const upload = page.waitForResponse((r) => r.url().includes('/documents') && r.request().method() === 'POST');
  await page.setInputFiles('#file-input', join(T, DOC));
  const up = await upload;
  check('the upload is a multipart POST answered 201', up.status() === 201 && (up.request().headers()['content-type'] || '').startsWith('multipart/form-data'));
  await page.waitForSelector('#upload-report .report-entry');
  check('the ingestion report shows the added document', (await page.textContent('#upload-report')).includes(`${DOC}: added`));
  await page.waitForSelector(`#documents-body tr[data-id] >> text=${DOC}`);
  check('the document is listed', (await page.locator('#documents-body tr[data-id]').count()) === 1);

  await page.click('#tab-ask');
  await ask(page, 'Who built the Zorblat lighthouse?');
  const answer = await page.textContent('#answer-text');
  check('the answer names the builder', /Quillfeather/.test(answer), answer);
  check('the answer shows its route', (await page.locator('#answer-route').count()) === 1 && (await page.textContent('#answer-route')).length > 0);
  const facts = await page.textContent('#answer-facts');
  check('the answer shows confidence, timings, tokens and cost', ['Confidence', 'Timings', 'Tokens', 'Cost'].every((f) => facts.includes(f)), facts);
  const citations = page.locator('#citations button.citation');
  check('the answer has a citation of the document', (await citations.count()) > 0 && (await citations.first().textContent()).includes('lighthouse'));
  await page.screenshot({ path: join(SHOTS, 'answer.png'), fullPage: true });

  await citations.first().click();
  await page.waitForSelector('#passage-mark');
  const marked = await page.textContent('#passage-mark');
  check('the citation opens the document with the cited passage highlighted', /Quillfeather/.test(marked), marked);
  check('the passage sits inside the whole document text', (await page.textContent('#passage-text')).includes('212 steps'));
  await page.screenshot({ path: join(SHOTS, 'passage.png') });
  await page.click('#passage-close');

  await page.click('#tab-search');
  await page.fill('#search-input', 'whale oil lamp');
  await page.click('#search-form button[type=submit]');
  await page.waitForSelector('#hits li');
  check('search shows ranked chunks', (await page.textContent('#hits')).includes(DOC) && (await page.textContent('#search-summary')).includes('result'));

  await page.click('#tab-dashboard');
  await page.waitForSelector('#metrics-body tr');
  const dash = await page.textContent('#metrics-body');
  check('the dashboard lists requests by route from /metrics', dash.includes('/v1/ask') && dash.includes('/v1/search'));
  await page.waitForSelector('#card-cpu-share .value');
  const cpuShare = await page.textContent('#card-cpu-share .value');
  check('after an ask the dashboard shows the share answered on the CPU as a number', /^\d+%$/.test(cpuShare), cpuShare);
  const answers = await page.textContent('#card-answers .value');
  check('the dashboard counts the answers', Number(answers) >= 1, answers);
  const tokensCard = await page.textContent('#card-tokens .value');
  const costCard = await page.textContent('#card-cost .value');
  check('the dashboard shows tokens and cost as numbers', /^\d+$/.test(tokensCard) && /^\d+\.\d+$/.test(costCard), `${tokensCard} ${costCard}`);
  await page.screenshot({ path: join(SHOTS, 'dashboard.png'), fullPage: true });

  await page.click('#tab-documents');
  await page.waitForSelector('#documents-body tr[data-id]');
  const del = page.waitForResponse((r) => r.request().method() === 'DELETE');
  await page.click(`button[aria-label="Delete ${DOC}"]`);
  check('delete answers 200', (await del).status() === 200);
  await page.waitForSelector('#documents-body >> text=No documents in this collection.');
  check('the document is gone from the list', (await page.locator('#documents-body tr[data-id]').count()) === 0);

  await page.click('#tab-ask');
  await ask(page, 'Who built the Zorblat lighthouse?');
  const after = await page.textContent('#answer-text');
  check('asking again no longer finds it', !/Quillfeather/.test(after) && (await page.locator('#citations button.citation').count()) === 0, after);
  await page.screenshot({ path: join(SHOTS, 'after-delete.png'), fullPage: true });

  const css = await page.request.get(`${URL}/web/style.css`);
  const etag = css.headers().etag;
  check('assets have their content type, no-cache and an ETag',
    css.headers()['content-type'].startsWith('text/css') && css.headers()['cache-control'] === 'no-cache' && !!etag);
  const again = await page.request.get(`${URL}/web/style.css`, { headers: { 'If-None-Match': etag } });
  check('a matching If-None-Match gets 304', again.status() === 304);
  check('the page raised no script errors', pageErrors.length === 0, pageErrors.join('; '));
} catch (e) {
  check(`the run finished (${e.message.split('\n')[0]})`, false, e.stack);
} finally {
  await context.close();
  server.kill('SIGTERM');
  await new Promise((res) => server.once('exit', res));
}

console.log(`screenshots: ${SHOTS}`);
console.log(`${passed} passed, ${failed} failed`);
if (failed === 0) rmSync(T, { recursive: true, force: true });
else console.log(`# kept ${T}; server log:\n${serverErr.split('\n').slice(-20).join('\n')}`);
process.exit(failed === 0 ? 0 : 1);
