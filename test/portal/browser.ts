// Debian's Chromium driven by playwright-core: one launch per test file, a fresh profile,
// no downloads, no network beyond 127.0.0.1. Screenshots go to artifacts/portal/.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import type { TestApp } from '../helpers/app.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.resolve('artifacts/portal');

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'tidings-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: DESKTOP,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The page as it is now, at desktop and at phone width: artifacts/portal/<name>-{desktop,phone}.png. */
export async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  for (const [label, size] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    await page.setViewportSize(size);
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(DESKTOP);
}

/** A fresh sign-in link for the tenant, made with the operator token. */
export async function portalLink(app: TestApp, tenant: string): Promise<string> {
  const r = await app.api<{ url: string }>('POST', `/v1/tenants/${tenant}/portal-links`);
  expect(r.status).toBe(201);
  return r.body.url;
}

/** Opens a sign-in link and continues: the page lands on the endpoint list. */
export async function signIn(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(/\/portal$/);
}

/** The CSRF token the current page carries for its scripts. */
export async function csrfOf(page: Page): Promise<string> {
  return (await page.locator('meta[name="csrf-token"]').getAttribute('content')) ?? '';
}

/** fetch() from inside the page: the browser adds the session cookie by itself. */
export async function pageFetch(
  page: Page,
  method: string,
  url: string,
  opts: { csrf?: string; body?: unknown } = {},
): Promise<{ status: number; body: unknown }> {
  return page.evaluate(
    async ([m, u, csrf, body]) => {
      const headers: Record<string, string> = {};
      if (csrf) headers['x-csrf-token'] = csrf;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(u, {
        method: m,
        headers,
        credentials: 'same-origin',
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // HTML or empty
      }
      return { status: res.status, body: parsed };
    },
    [method, url, opts.csrf ?? '', opts.body] as const,
  );
}

/**
 * What a page does wrong for people and for "no external assets": form controls without a
 * label, and styles, scripts or images from another origin. Empty when all is well.
 */
export async function pageProblems(page: Page): Promise<string[]> {
  return page.evaluate(`(() => {
    const problems = [];
    for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
      if (!(el.labels && el.labels.length > 0) && !el.getAttribute('aria-label')) {
        problems.push('no label: ' + (el.name || el.id || el.outerHTML.slice(0, 60)));
      }
    }
    for (const el of document.querySelectorAll('link[href], script[src], img[src], iframe[src]')) {
      const u = new URL(el.getAttribute('href') || el.getAttribute('src'), location.href);
      if (u.origin !== location.origin) problems.push('external: ' + u.href);
    }
    return problems;
  })()`);
}
