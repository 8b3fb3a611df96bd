/**
 * The call-flow page's routes (callflow/page.ts) on an ops server: static HTML, script and style
 * with no data in them, never cached, under a CSP that allows this origin's script and style only
 * (no inline script or style). What the page draws is tested in a browser: test/e2e/callflow.test.ts.
 */
import { startTestOpsServer } from './support/ops.js';
import { Script } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_FLOW_CSS, CALL_FLOW_HTML, CALL_FLOW_SCRIPT, callFlowPageRoute } from '../src/callflow/page.js';
import type { OpsServer } from '../src/http.js';

describe('call-flow page routes', () => {
  let server: OpsServer;
  let base: string;
  beforeAll(async () => {
    ({ server, base } = await startTestOpsServer(callFlowPageRoute()));
  });
  afterAll(() => server.close());

  const expectStaticHeaders = (res: Response, type: string) => {
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(type);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:|data:/);
  };

  it('serves the page at GET /calls, with no token: HTML without data, script or style of its own', async () => {
    const res = await fetch(`${base}/calls`);
    expectStaticHeaders(res, 'text/html; charset=utf-8');
    const html = await res.text();
    expect(html).toBe(CALL_FLOW_HTML);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<script src="/calls.js" defer></script>');
    expect(html).toContain('<link rel="stylesheet" href="/calls.css">');
    // No inline script, style or event handler (the CSP would refuse them), nothing from elsewhere.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(html).not.toMatch(/https?:|\/\//);
    // No data: the table and the ladder are empty until the script fills them from the admin API.
    expect(html).toMatch(/<tbody id="calls" data-testid="call-table"><\/tbody>/);
    expect(html).not.toMatch(/sip:|Call-ID:|Bearer/);
  });

  it('serves its script and style, the same bytes to everyone', async () => {
    const script = await fetch(`${base}/calls.js`);
    expectStaticHeaders(script, 'text/javascript; charset=utf-8');
    expect(await script.text()).toBe(CALL_FLOW_SCRIPT);
    const style = await fetch(`${base}/calls.css`);
    expectStaticHeaders(style, 'text/css; charset=utf-8');
    expect(await style.text()).toBe(CALL_FLOW_CSS);
    const withToken = await fetch(`${base}/calls`, { headers: { authorization: `Bearer ${'x'.repeat(40)}` } });
    expect(await withToken.text()).toBe(CALL_FLOW_HTML);
  });

  it('answers HEAD without a body, and 405 to other methods', async () => {
    const head = await fetch(`${base}/calls`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(Buffer.byteLength(CALL_FLOW_HTML));
    expect(await head.text()).toBe('');
    expect((await fetch(`${base}/calls`, { method: 'POST' })).status).toBe(405);
  });

  it('ships a script that parses, talks only to the capture API, and never writes markup', () => {
    expect(() => new Script(CALL_FLOW_SCRIPT, { filename: 'calls.js' })).not.toThrow();
    // Message text reaches the DOM through textContent and setAttribute only.
    expect(CALL_FLOW_SCRIPT).not.toMatch(
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/,
    );
    expect(CALL_FLOW_SCRIPT).toContain('.textContent = String(m.text)');
    const paths = [...CALL_FLOW_SCRIPT.matchAll(/api\('([^']*)'/g)].map((m) => m[1]);
    expect(paths).toEqual(['/admin/capture/calls?', '/admin/capture/calls/']);
    expect(CALL_FLOW_SCRIPT).toContain("'/admin/capture/calls/' + encodeURIComponent(callId)");
    // The token is sent as a bearer token and kept in sessionStorage (this tab), never localStorage.
    expect(CALL_FLOW_SCRIPT).toContain("Authorization: 'Bearer ' + used");
    expect(CALL_FLOW_SCRIPT).toContain('sessionStorage');
    expect(CALL_FLOW_SCRIPT).not.toContain('localStorage');
    expect(CALL_FLOW_CSS).not.toMatch(/url\(|@import|https?:/);
  });
});
