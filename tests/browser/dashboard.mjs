// The dashboard in headless Chromium, on a running seed app (examples/chained_transforms.rs);
// run by tests/dashboard.rs:
//
//   node tests/browser/dashboard.mjs <app base URL> <screenshot.png>
//
// Environment: MOOSE_BROWSER_MODULES (the node_modules holding playwright-core, installed by
// scripts/setup.sh --tests), MOOSE_CHROMIUM (the browser, default /usr/bin/chromium).
//
// It opens /dashboard, checks every stream and table of the seed is drawn, posts records to
// /ingest/raw_data and waits for the page's counts to rise by as many, clicks the
// final_stream table and waits for the posted records in the records panel, then writes a
// screenshot while records flow. Exit status 0 when all of that held; otherwise 1 with what
// was missing.

import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [base, screenshot] = process.argv.slice(2);
if (!base || !screenshot) {
  console.error('usage: node dashboard.mjs <app base URL> <screenshot.png>');
  process.exit(2);
}
const modules = process.env.MOOSE_BROWSER_MODULES;
const executablePath = process.env.MOOSE_CHROMIUM || '/usr/bin/chromium';
const require = createRequire(join(modules, 'noop.js'));
const { chromium } = require('playwright-core');

/** How long the page may take to show what the app has done; generous for a loaded CI box. */
const PATIENCE_MS = 60_000;
/** Records posted before checking the counts. */
const POSTED = 40;

const SEED = [
  ['route', '/ingest/raw_data'],
  ['stream', 'raw_data'],
  ['transform', 'raw_data->intermediate_stream'],
  ['stream', 'intermediate_stream'],
  ['transform', 'intermediate_stream->final_stream'],
  ['stream', 'final_stream'],
  ['table', 'final_stream'],
];

const node = (kind, name) => `#graph g.node[data-kind="${kind}"][data-name="${name}"]`;

async function post(records) {
  const res = await fetch(new URL('ingest/raw_data', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(records),
  });
  if (res.status !== 200) throw new Error(`POST /ingest/raw_data answered ${res.status}: ${await res.text()}`);
}

/** The number at the start of a node's counts line, as the page shows it ("1,234 rows"). */
async function shownCount(page, kind, name) {
  const text = await page.locator(`${node(kind, name)} .count`).textContent();
  const match = /^([\d,]+)/.exec(text.trim());
  return match ? Number(match[1].replaceAll(',', '')) : NaN;
}

async function waitForCount(page, kind, name, atLeast, what) {
  const deadline = Date.now() + PATIENCE_MS;
  let last;
  while (Date.now() < deadline) {
    last = await shownCount(page, kind, name);
    if (last >= atLeast) return last;
    await page.waitForTimeout(250);
  }
  throw new Error(`${what}: the ${kind} ${name} shows ${last}, expected at least ${atLeast}`);
}

const userDataDir = mkdtempSync(join(tmpdir(), 'moose-dashboard-chromium-'));
const problems = [];
let context;
let closing = false;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(PATIENCE_MS);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('requestfailed', (r) => closing || problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));

  await page.goto(new URL('dashboard', base).href);
  for (const [kind, name] of SEED) {
    await page.locator(node(kind, name)).waitFor({ state: 'visible' });
  }
  await page.locator('#status[data-state="live"]').waitFor();
  const before = {
    raw: await shownCount(page, 'stream', 'raw_data'),
    final: await shownCount(page, 'stream', 'final_stream'),
    table: await shownCount(page, 'table', 'final_stream'),
    transform: await shownCount(page, 'transform', 'intermediate_stream->final_stream'),
  };
  console.log(`shown before posting: raw_data ${before.raw}, final_stream ${before.final} records, table ${before.table} rows`);

  const run = Date.now().toString(36);
  const ids = Array.from({ length: POSTED }, (_, i) => `dash-${run}-${String(i).padStart(3, '0')}`);
  await post(ids.map((id, i) => ({ id, value: i })));
  const raw = await waitForCount(page, 'stream', 'raw_data', before.raw + POSTED, 'after posting');
  const final = await waitForCount(page, 'stream', 'final_stream', before.final + POSTED, 'after the transforms');
  const rows = await waitForCount(page, 'table', 'final_stream', before.table + POSTED, 'after the sync');
  // A transform's count is the records it read ("40 in · 40 out").
  await waitForCount(page, 'transform', 'intermediate_stream->final_stream', before.transform + POSTED, 'through the second transform');
  const ingested = Number((await page.locator('#total-ingested .value').textContent()).replaceAll(',', ''));
  if (!(ingested >= before.raw + POSTED)) problems.push(`the ingested total shows ${ingested}`);
  console.log(`shown after posting ${POSTED}: raw_data ${raw}, final_stream ${final} records, table ${rows} rows`);

  await page.locator(node('table', 'final_stream')).click();
  await page.locator('#records-title', { hasText: 'final_stream' }).waitFor();
  const records = page.locator('table.records[data-name="final_stream"][data-kind="table"]');
  await records.locator('th', { hasText: 'anotherTransformedValue' }).waitFor();
  await records.locator('td', { hasText: /^dash-/ }).first().waitFor();
  const headers = await records.locator('thead th').allTextContents();
  const idColumn = headers.indexOf('id');
  if (idColumn < 0) throw new Error(`the records panel has no id column: ${headers.join(', ')}`);
  const shownIds = await records.locator(`tbody tr td:nth-child(${idColumn + 1})`).allTextContents();
  const ours = shownIds.filter((id) => ids.includes(id));
  if (ours.length === 0) problems.push(`the records panel shows none of the posted ids: ${shownIds.join(', ')}`);
  console.log(`records panel: ${shownIds.length} rows, ${ours.length} of them posted by this test`);

  // A few seconds of steady traffic, so the screenshot shows rates on the edges.
  let sent = 0;
  const trickle = setInterval(() => {
    const batch = Array.from({ length: 8 }, (_, i) => ({ id: `dash-${run}-live-${sent + i}`, value: sent + i }));
    sent += batch.length;
    post(batch).catch((e) => problems.push(e.message));
  }, 200);
  await page.locator('#graph g.edge.flowing').first().waitFor({ state: 'attached' });
  await page.waitForTimeout(2500);
  await page.screenshot({ path: screenshot });
  clearInterval(trickle);
  console.log(`screenshot: ${screenshot}`);
} catch (e) {
  problems.push(e.stack || String(e));
} finally {
  closing = true;
  if (context) await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}

if (problems.length) {
  console.error('dashboard test failed:\n' + problems.map((p) => '  - ' + p).join('\n'));
  process.exit(1);
}
console.log('dashboard: ok');
