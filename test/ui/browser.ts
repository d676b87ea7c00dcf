/**
 * One headless Chromium (Debian's /usr/bin/chromium through playwright-core) for a UI suite:
 * records every console error and page error with the step it happened in, saves full-page
 * screenshots under test-artifacts/ui/ (ignored by git), and checks a page never scrolls
 * sideways. Without the browser a suite reports itself as skipped, never as passed.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

// Functions passed to page.evaluate run in the browser (the page's CSP forbids string eval);
// the project's tsconfig has no DOM lib, so the browser globals they use are declared here.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts', 'ui');
export const hasChromium = existsSync(CHROMIUM);

/** `describe`, or `describe.skip` with a title that says why. */
export function browserSuite(title: string): [string, jest.Describe] {
  return hasChromium ? [`${title} (Chromium)`, describe] : [`${title} — SKIPPED: ${CHROMIUM} is not installed (apt-get install -y chromium)`, describe.skip];
}

/**
 * Retries `read` until `check` passes (playwright-core has no expect.poll): for values the
 * page fills in asynchronously — a debounced live size, an error from a request.
 */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => void, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check(await read());
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export interface Problem {
  step: string;
  text: string;
}

export interface UiBrowser {
  page: Page;
  /** Console errors and page errors so far, tagged with their step. */
  problems: Problem[];
  step(name: string): void;
  shot(name: string): Promise<void>;
  /** No horizontal scrolling: the document is not wider than the window. */
  noHorizontalOverflow(): Promise<void>;
  /** Waits until no part of the page is loading (`aria-busy`). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export async function openBrowser(viewport = { width: 1280, height: 800 }): Promise<UiBrowser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const userDataDir = mkdtempSync(join(tmpdir(), 'cdp-ui-chromium-'));
  const context: BrowserContext = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  const problems: Problem[] = [];
  let step = 'start';
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push({ step, text: message.text() });
  });
  page.on('pageerror', (error) => problems.push({ step, text: `pageerror: ${error.message}` }));
  return {
    page,
    problems,
    step: (name) => (step = name),
    shot: async (name) => {
      await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
    },
    noHorizontalOverflow: async () => {
      const [scroll, inner] = await page.evaluate(() => [document.scrollingElement.scrollWidth, window.innerWidth]);
      expect(scroll).toBeLessThanOrEqual(inner);
    },
    settled: async () => {
      await page.waitForFunction(() => !document.querySelector('[aria-busy]'));
    },
    close: async () => {
      // Leave the app first (no request in flight), then close the browser.
      await page.goto('about:blank').catch(() => undefined);
      await context.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
