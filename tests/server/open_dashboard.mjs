// Opens kvserve's page in headless Chromium and keeps it open (the dashboard
// polling /v1/kv/snapshot) for a number of seconds: the "dashboard open"
// side of bench/web_dashboard_cost.sh. Usage: node open_dashboard.mjs URL SECONDS
import { chromium } from 'playwright-core';

const [url, seconds] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
                                        args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
await page.goto(url);
await page.waitForFunction(() => document.querySelector('#blockmap').dataset.sequence !== undefined);
const first = Number(await page.evaluate(() => document.querySelector('#blockmap').dataset.sequence));
await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
const last = Number(await page.evaluate(() => document.querySelector('#blockmap').dataset.sequence));
console.log(`dashboard saw snapshots ${first}..${last}`);
await browser.close();
