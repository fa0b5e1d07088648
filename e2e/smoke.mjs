// Browser smoke test of the web UI, run by browser_test.go against a real
// `messina serve`: sign in with a pasted token, open an order from the
// list, upload a file through the form, download it again. It needs no
// JavaScript in the pages; it only drives the browser.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';

const { BASE_URL, TOKEN, ORDER_NUMBER, CHROMIUM, UPLOAD_FILE } = process.env;
for (const [k, v] of Object.entries({ BASE_URL, TOKEN, ORDER_NUMBER, CHROMIUM, UPLOAD_FILE })) {
  assert.ok(v, `${k} is not set`);
}

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
try {
  const page = await browser.newPage({ acceptDownloads: true });
  // Anything the Content-Security-Policy blocks, or any script error,
  // shows up as a console error: there must be none.
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));

  await page.goto(BASE_URL + '/');
  assert.match(page.url(), /\/signin$/, 'the root sends a visitor to sign in');
  await page.fill('#token', TOKEN);
  await Promise.all([page.waitForURL('**/orders'), page.click('form[action="/signin"] button')]);
  assert.equal(await page.textContent('h1'), 'Orders');

  // The stylesheet applied: the top bar is dark, not the default white.
  const bar = await page.$eval('header.top', (e) => getComputedStyle(e).backgroundColor);
  assert.notEqual(bar, 'rgba(0, 0, 0, 0)', 'messina.css did not load');

  await Promise.all([page.waitForURL('**/orders/*'), page.click(`#orders a:text-is("${ORDER_NUMBER}")`)]);
  assert.ok((await page.textContent('h1')).includes(ORDER_NUMBER), 'the order page is for another order');
  assert.ok(await page.isVisible('#lines'), 'the order page has no lines table');

  await page.fill('#upload input[name=comment]', 'from the browser');
  await page.setInputFiles('#upload input[name=file]', UPLOAD_FILE);
  await Promise.all([page.waitForURL('**/attachments/*'), page.click('#upload button[type=submit]')]);
  const row = await page.textContent('#revisions tbody tr');
  assert.ok(row.includes('smoke.txt') && row.includes('from the browser'), `revision row: ${row}`);
  assert.ok((await page.textContent('.flash')).includes('The document was uploaded.'));

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#revisions a.download')]);
  assert.equal(download.suggestedFilename(), 'smoke.txt');
  const got = await readFile(await download.path());
  assert.deepEqual(got, await readFile(UPLOAD_FILE), 'the download differs from the upload');

  assert.deepEqual(problems, [], 'console errors');
  console.log(`smoke: signed in, opened ${ORDER_NUMBER}, uploaded and downloaded smoke.txt`);
} finally {
  await browser.close();
}
