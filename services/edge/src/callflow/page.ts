import type { ServerResponse } from 'node:http';
import type { HttpRoute } from '@sipedge/net';

/**
 * The call-flow page (issue 18): recent and live calls of the whole fleet, searchable by Call-ID,
 * From, To and final status, each drawn as a SIP ladder (one column per party: caller, edges,
 * callee; one arrow per message with its time offset; a click shows the whole message).
 *
 * The page carries no data: it is static HTML, CSS and a script, served without authentication;
 * everything it shows comes from the admin API (`GET /admin/capture/calls`,
 * `GET /admin/capture/calls/<Call-ID>`), which the script calls with the admin token as a bearer
 * token. The script asks for the token once (a password field), keeps it in `sessionStorage` (this
 * tab only) and asks again when the API answers 401.
 *
 * Message text (SIP headers are attacker-controlled) only ever reaches the DOM through
 * `textContent` and `setAttribute`, never as markup; the Content-Security-Policy allows only this
 * origin's script and style (no inline script, no inline style, no eval), so even markup that got
 * through could not run script.
 *
 * The page is embedded here as string constants, not read from .html/.js files: the build
 * (`tsc -b`) emits only compiled .ts into dist/, and the container image ships dist/ without
 * src/, so files next to this module would be missing at run time. No build step, no framework,
 * nothing fetched from elsewhere: it works offline. The script is plain ES2020 without template
 * literals (it lives inside one); the unit test compiles it.
 */

/** What the page may load: this origin only, and no inline script or style. */
export const CALL_FLOW_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const CALL_FLOW_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>sipedge · call flows</title>
<link rel="stylesheet" href="/calls.css">
<script src="/calls.js" defer></script>
</head>
<body>
<header class="bar">
  <h1>sipedge <span>call flows</span></h1>
  <form id="search" role="search" autocomplete="off">
    <label>Call-ID, From or To
      <input id="match" name="match" type="search" placeholder="e.g. bob, or a Call-ID" data-testid="search-match">
    </label>
    <label>Final status
      <input id="status" name="status" type="number" min="100" max="699" step="1" placeholder="any" data-testid="search-status">
    </label>
    <button type="submit" data-testid="search-submit">Search</button>
  </form>
  <span id="state" class="state" role="status" aria-live="polite" data-testid="page-state"></span>
  <button id="forget" type="button" class="link" title="Forget the admin token of this tab">Forget token</button>
</header>
<main>
  <section class="calls" aria-label="Calls">
    <table>
      <thead>
        <tr><th>Started</th><th>From</th><th>To</th><th>Method</th><th>Status</th><th class="num">Messages</th></tr>
      </thead>
      <tbody id="calls" data-testid="call-table"></tbody>
    </table>
    <p id="empty" class="empty" hidden>No captured call matches.</p>
  </section>
  <section id="flow" class="flow" aria-label="Call flow" hidden>
    <h2 id="flow-title" data-testid="flow-title"></h2>
    <div id="ladder" class="ladder" data-testid="ladder"></div>
    <div id="message" class="message">
      <div id="message-meta" class="meta" data-testid="message-meta">Click an arrow to see its message.</div>
      <pre id="message-text" data-testid="message-text"></pre>
    </div>
  </section>
</main>
<dialog id="login" data-testid="login">
  <form id="login-form">
    <h2>Admin token</h2>
    <p>The calls come from the admin API of this edge. The token is kept in this tab only.</p>
    <p id="login-error" class="error" hidden></p>
    <input id="token" type="password" autocomplete="current-password" aria-label="Admin token" data-testid="token-input">
    <button type="submit" data-testid="token-submit">Open</button>
  </form>
</dialog>
<noscript>This page needs JavaScript.</noscript>
</body>
</html>
`;

export const CALL_FLOW_CSS = String.raw`:root {
  color-scheme: light;
  --fg: #1f2933;
  --muted: #616e7c;
  --line: #d9dee4;
  --bg: #f5f6f8;
  --panel: #fff;
  --accent: #1d4ed8;
  --request: #1d4ed8;
  --provisional: #6b7280;
  --success: #15803d;
  --redirect: #a16207;
  --failure: #b91c1c;
  --mono: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  font-size: 14px;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; color: var(--fg); background: var(--bg); }
.bar {
  display: flex; flex-wrap: wrap; align-items: flex-end; gap: 10px 24px;
  padding: 10px 20px; background: var(--panel); border-bottom: 1px solid var(--line);
}
h1 { font-size: 17px; margin: 0 0 5px; font-weight: 650; }
h1 span { color: var(--muted); font-weight: 400; }
#search { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-end; }
label { display: flex; flex-direction: column; gap: 3px; font-size: 12px; color: var(--muted); }
input {
  font: inherit; color: var(--fg); background: #fff;
  padding: 5px 8px; border: 1px solid #c3cad3; border-radius: 6px;
}
input:focus, button:focus-visible { outline: 2px solid #93b4f5; outline-offset: 0; }
#match { width: 22em; }
#status { width: 7em; }
button {
  font: inherit; padding: 5px 14px; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--accent); background: var(--accent); color: #fff;
}
button.link { background: none; border-color: transparent; color: var(--accent); padding: 5px 2px; }
.state { margin: 0 0 7px auto; font-size: 12px; color: var(--muted); }
.state.error { color: var(--failure); }
main { display: grid; gap: 16px; padding: 16px 20px; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; min-width: 0; }
.calls { max-height: 38vh; overflow: auto; }
table { border-collapse: collapse; width: 100%; }
th {
  position: sticky; top: 0; background: #eef1f5; color: var(--muted);
  font-size: 12px; font-weight: 600; text-align: left; padding: 6px 12px; border-bottom: 1px solid var(--line);
}
td { padding: 6px 12px; border-bottom: 1px solid #eef0f3; white-space: nowrap; }
td.uri { max-width: 26em; overflow: hidden; text-overflow: ellipsis; font-family: var(--mono); font-size: 12.5px; }
td.time { font-variant-numeric: tabular-nums; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr { cursor: pointer; }
tbody tr:hover { background: #f3f6fb; }
tbody tr[aria-selected="true"] { background: #e3ebfc; box-shadow: inset 3px 0 var(--accent); }
tbody tr:focus-visible { outline: 2px solid var(--accent); outline-offset: -2px; }
.status { font-weight: 600; font-variant-numeric: tabular-nums; }
.status.s1, .status.pending { color: var(--provisional); font-weight: 400; }
.status.s2 { color: var(--success); }
.status.s3 { color: var(--redirect); }
.status.s4, .status.s5, .status.s6 { color: var(--failure); }
.empty { margin: 0; padding: 16px; color: var(--muted); }
.flow { display: grid; grid-template-columns: minmax(0, 1fr) minmax(340px, 32%); }
.flow > h2 {
  grid-column: 1 / -1; margin: 0; padding: 10px 16px; border-bottom: 1px solid var(--line);
  font-size: 14px; font-weight: 600; overflow-wrap: anywhere;
}
.flow > h2 .id { font-family: var(--mono); font-weight: 500; }
.flow > h2 .sub { color: var(--muted); font-weight: 400; }
.ladder { overflow: auto; padding: 8px 0 12px; border-right: 1px solid var(--line); }
.ladder .empty { padding: 24px 16px; }
.message { position: sticky; top: 0; align-self: start; padding: 12px 16px; min-width: 0; }
.meta { font-size: 12px; color: var(--muted); line-height: 1.6; margin-bottom: 8px; }
.meta strong { color: var(--fg); font-size: 13px; margin-right: 6px; }
.meta .request { color: var(--request); }
.meta .provisional { color: var(--provisional); }
.meta .success { color: var(--success); }
.meta .redirect { color: var(--redirect); }
.meta .failure { color: var(--failure); }
pre {
  margin: 0; padding: 10px 12px; max-height: 70vh; overflow: auto;
  font: 12px/1.5 var(--mono); white-space: pre-wrap; overflow-wrap: anywhere;
  background: #f8fafc; border: 1px solid #e5e8ed; border-radius: 6px;
}
pre:empty { display: none; }
svg text { font-family: inherit; font-size: 12px; fill: var(--fg); }
.party .box { fill: #fff; stroke: #b8c2cc; }
.party.edge .box { fill: #edf2fd; stroke: #9fb6ea; }
.party.caller .box, .party.callee .box, .party.caller-callee .box { fill: #eff7f0; stroke: #9dc7a1; }
.party .name { font-weight: 650; }
.party .addr { font-family: var(--mono); font-size: 11px; fill: var(--muted); }
.lifeline { stroke: #c3cad3; stroke-dasharray: 4 4; }
.arrow { cursor: pointer; }
.arrow:focus { outline: none; }
.arrow .hit { fill: transparent; }
.arrow:hover .hit { fill: rgba(29, 78, 216, 0.05); }
.arrow.selected .hit { fill: rgba(29, 78, 216, 0.12); }
.arrow:focus-visible .hit { stroke: var(--accent); }
.arrow .shaft { fill: none; stroke-width: 1.6; }
.arrow .label { font-weight: 650; }
.arrow .offset { fill: var(--muted); font-size: 11px; font-variant-numeric: tabular-nums; }
.request .shaft { stroke: var(--request); }
.request .label, .head.request path { fill: var(--request); }
.provisional .shaft { stroke: var(--provisional); stroke-dasharray: 5 3; }
.provisional .label, .head.provisional path { fill: var(--provisional); }
.success .shaft { stroke: var(--success); }
.success .label, .head.success path { fill: var(--success); }
.redirect .shaft { stroke: var(--redirect); }
.redirect .label, .head.redirect path { fill: var(--redirect); }
.failure .shaft { stroke: var(--failure); }
.failure .label, .head.failure path { fill: var(--failure); }
dialog {
  width: min(420px, 92vw); padding: 20px 24px; color: var(--fg);
  border: 1px solid var(--line); border-radius: 10px; box-shadow: 0 12px 40px rgba(15, 23, 42, 0.25);
}
dialog::backdrop { background: rgba(30, 41, 59, 0.35); }
dialog form { display: flex; flex-direction: column; gap: 10px; }
dialog h2 { margin: 0; font-size: 16px; }
dialog p { margin: 0; color: var(--muted); font-size: 13px; }
.error { color: var(--failure); }
@media (max-width: 900px) {
  .flow { grid-template-columns: minmax(0, 1fr); }
  .ladder { border-right: 0; }
  .message { position: static; border-top: 1px solid var(--line); }
}
`;

export const CALL_FLOW_SCRIPT = String.raw`'use strict';
(function () {
  var TOKEN_KEY = 'sipedge.admin-token';
  var REFRESH_MS = 3000;
  var LIMIT = 200;
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var KINDS = ['request', 'provisional', 'success', 'redirect', 'failure'];
  // Ladder geometry (px).
  var COL = 200;
  var GUTTER = 84;
  var TOP = 66;
  var ROW = 34;

  function $(id) {
    return document.getElementById(id);
  }

  /** Thrown when the API cannot be called without (another) token: the dialog is open. */
  function AuthRequired() {}

  var state = {
    calls: [],
    callsJson: '',
    selected: null,
    flow: null,
    flowVersion: '',
    messageKey: '',
    listSeq: 0,
    flowSeq: 0,
    ticking: false,
  };

  // ---- the token: asked once, kept in sessionStorage (this tab), sent on every call

  var token = '';
  try {
    token = sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    token = '';
  }

  function setToken(value) {
    token = value;
    try {
      if (value) sessionStorage.setItem(TOKEN_KEY, value);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // Storage off: the token lives as long as the page.
    }
  }

  function askToken(reason) {
    var dialog = $('login');
    var error = $('login-error');
    error.textContent = reason || '';
    error.hidden = !reason;
    if (!dialog.open) {
      $('token').value = '';
      dialog.showModal();
    }
    $('token').focus();
  }

  function api(path) {
    if (!token) {
      askToken('');
      return Promise.reject(new AuthRequired());
    }
    var used = token;
    return fetch(path, {
      headers: { Authorization: 'Bearer ' + used, Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
    }).then(function (res) {
      if (res.status === 401) {
        // Unless another token was entered meanwhile.
        if (token === used) {
          setToken('');
          askToken('The admin API refused this token. Enter it again.');
        }
        throw new AuthRequired();
      }
      return res.json().then(
        function (body) {
          return { status: res.status, body: body };
        },
        function () {
          return { status: res.status, body: null };
        },
      );
    });
  }

  function failure(res, what) {
    var detail = res.body && typeof res.body.error === 'string' ? ': ' + res.body.error : '';
    return what + ' failed (HTTP ' + res.status + ')' + detail;
  }

  function setState(text, kind) {
    var node = $('state');
    node.textContent = text;
    node.className = 'state ' + (kind || '');
  }

  function report(error) {
    if (error instanceof AuthRequired) return;
    setState('The admin API cannot be reached: ' + (error && error.message ? error.message : String(error)), 'error');
  }

  // ---- formatting

  function pad(n, width) {
    return String(n).padStart(width || 2, '0');
  }

  function clock(date, ms) {
    var text = pad(date.getHours()) + ':' + pad(date.getMinutes()) + ':' + pad(date.getSeconds());
    return ms ? text + '.' + pad(date.getMilliseconds(), 3) : text;
  }

  function startedText(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return String(iso);
    if (date.toDateString() === new Date().toDateString()) return clock(date, false);
    return date.getFullYear() + '-' + pad(date.getMonth() + 1) + '-' + pad(date.getDate()) + ' ' + clock(date, false);
  }

  function hostPort(endpoint) {
    if (!endpoint) return '?';
    var address = String(endpoint.address);
    return (address.indexOf(':') >= 0 ? '[' + address + ']' : address) + ':' + endpoint.port;
  }

  function isResponse(firstLine) {
    return /^SIP\/2\.0\s/i.test(firstLine);
  }

  /** "INVITE" for a request, "180 Ringing" for a response. */
  function labelOf(firstLine) {
    var line = String(firstLine || '');
    if (isResponse(line)) return line.replace(/^SIP\/2\.0\s+/i, '');
    return line.split(' ')[0] || '?';
  }

  function kindOf(firstLine) {
    if (!isResponse(firstLine)) return 'request';
    var code = parseInt(labelOf(firstLine), 10);
    if (code < 200) return 'provisional';
    if (code < 300) return 'success';
    if (code < 400) return 'redirect';
    return 'failure';
  }

  function statusClass(status) {
    return status === null || status === undefined ? 'pending' : 's' + String(status).charAt(0);
  }

  function cseqOf(text) {
    var found = /^(?:CSeq)[ \t]*:[ \t]*(\d+)/im.exec(String(text || ''));
    return found ? found[1] : null;
  }

  /** A field as text: '' for null or undefined. */
  function asText(value) {
    return value === null || value === undefined ? '' : String(value);
  }

  function cseqMethodOf(text) {
    var found = /^(?:CSeq)[ \t]*:[ \t]*\d+[ \t]+(\S+)/im.exec(String(text || ''));
    return found ? found[1] : null;
  }

  function shorten(text, max) {
    return text.length > max ? text.slice(0, max - 1) + '\u2026' : text;
  }

  // ---- DOM helpers: text goes in as text (textContent), attributes through setAttribute

  function make(node, attributes, text) {
    var names = Object.keys(attributes || {});
    for (var i = 0; i < names.length; i++) {
      var value = attributes[names[i]];
      if (value !== undefined && value !== null) node.setAttribute(names[i], String(value));
    }
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function el(tag, attributes, text) {
    return make(document.createElement(tag), attributes, text);
  }

  function svg(tag, attributes, text) {
    return make(document.createElementNS(SVG_NS, tag), attributes, text);
  }

  // ---- the list of calls

  function readSearch() {
    var params = new URLSearchParams();
    var match = $('match').value.trim();
    var status = $('status').value.trim();
    if (match) params.set('match', match);
    if (status) params.set('status', status);
    params.set('limit', String(LIMIT));
    return params.toString();
  }

  function refreshCalls() {
    var seq = ++state.listSeq;
    return api('/admin/capture/calls?' + readSearch()).then(function (res) {
      if (seq !== state.listSeq) return undefined;
      if (res.status !== 200 || !res.body || !Array.isArray(res.body.calls)) {
        setState(
          res.status === 404
            ? 'No call capture on this edge (/admin/capture/calls: 404): is capture on?'
            : failure(res, 'Searching calls'),
          'error',
        );
        return undefined;
      }
      var json = JSON.stringify(res.body.calls);
      if (json !== state.callsJson) {
        state.callsJson = json;
        state.calls = res.body.calls;
        renderCalls();
      }
      var n = state.calls.length;
      setState(
        (n === LIMIT ? 'the latest ' : '') + n + (n === 1 ? ' call' : ' calls') + ' \u00b7 updated ' + clock(new Date()),
        'ok',
      );
      var version = versionOf(state.selected);
      if (state.selected !== null && version !== '' && version !== state.flowVersion) return loadFlow();
      return undefined;
    });
  }

  /** What changes while a call is live: a new version means its ladder is drawn again. */
  function versionOf(callId) {
    for (var i = 0; i < state.calls.length; i++) {
      var call = state.calls[i];
      if (call.callId === callId) return call.messages + '|' + call.lastAt + '|' + call.status;
    }
    return '';
  }

  function renderCalls() {
    var body = $('calls');
    var focused = document.activeElement && body.contains(document.activeElement);
    var focusedId = focused ? document.activeElement.getAttribute('data-call-id') : null;
    var rows = state.calls.map(function (call) {
      var pending = call.status === null || call.status === undefined;
      var row = el('tr', {
        'data-testid': 'call-row',
        'data-call-id': call.callId,
        'data-status': pending ? '' : call.status,
        'data-method': call.method,
        'aria-selected': String(call.callId === state.selected),
        tabindex: 0,
        title: 'Call-ID ' + call.callId,
      });
      row.append(
        el('td', { class: 'time', title: call.startedAt }, startedText(call.startedAt)),
        el('td', { class: 'uri', title: call.from }, asText(call.from)),
        el('td', { class: 'uri', title: call.to }, asText(call.to)),
        el('td', {}, asText(call.method)),
        el(
          'td',
          { class: 'status ' + statusClass(call.status), title: pending ? 'no final response yet' : null },
          pending ? '\u2026' : call.status,
        ),
        el('td', { class: 'num' }, call.messages),
      );
      return row;
    });
    body.replaceChildren.apply(body, rows);
    $('empty').hidden = rows.length > 0;
    if (focusedId !== null) {
      for (var i = 0; i < rows.length; i++) if (rows[i].getAttribute('data-call-id') === focusedId) rows[i].focus();
    }
  }

  function select(callId) {
    if (state.selected !== callId) {
      state.selected = callId;
      state.flow = null;
      state.flowVersion = '';
      state.messageKey = '';
      $('ladder').replaceChildren(el('p', { class: 'empty' }, 'Loading\u2026'));
      showMessage(-1);
    }
    var rows = $('calls').children;
    for (var i = 0; i < rows.length; i++) {
      rows[i].setAttribute('aria-selected', String(rows[i].getAttribute('data-call-id') === callId));
    }
    history.replaceState(null, '', '#call=' + encodeURIComponent(callId));
    $('flow').hidden = false;
    renderTitle();
    loadFlow().catch(report);
  }

  // ---- one call's ladder

  function loadFlow() {
    var callId = state.selected;
    if (callId === null) return Promise.resolve();
    var seq = ++state.flowSeq;
    var version = versionOf(callId);
    return api('/admin/capture/calls/' + encodeURIComponent(callId)).then(function (res) {
      if (seq !== state.flowSeq || callId !== state.selected) return;
      state.flowVersion = version;
      if (res.status === 404) {
        state.flow = null;
        $('ladder').replaceChildren(el('p', { class: 'empty' }, 'This call is not in the capture (any more).'));
        showMessage(-1);
        return;
      }
      if (res.status !== 200 || !res.body || !Array.isArray(res.body.messages)) {
        setState(failure(res, 'Loading the call'), 'error');
        return;
      }
      var messages = res.body.messages;
      // Recording is under way elsewhere: fewer messages than listed are read again next time.
      if (version !== '' && messages.length < Number(version.split('|')[0])) state.flowVersion = '';
      var json = JSON.stringify(messages);
      if (state.flow && state.flow.callId === callId && state.flow.json === json) {
        renderTitle();
        return;
      }
      state.flow = { callId: callId, messages: messages, json: json, model: ladderModel(messages) };
      renderTitle();
      drawLadder();
    });
  }

  function renderTitle() {
    var title = $('flow-title');
    var callId = state.selected;
    var call = null;
    for (var i = 0; i < state.calls.length; i++) if (state.calls[i].callId === callId) call = state.calls[i];
    var parts = [document.createTextNode('Call-ID '), el('span', { class: 'id' }, callId)];
    if (call) {
      var status = call.status === null || call.status === undefined ? 'no final response yet' : call.status;
      parts.push(el('span', { class: 'sub' }, ' \u00b7 ' + asText(call.method) + ' ' + asText(call.from) + ' \u2192 ' + asText(call.to) + ' \u00b7 ' + status));
    }
    if (state.flow) {
      var n = state.flow.messages.length;
      parts.push(el('span', { class: 'sub' }, ' \u00b7 ' + n + (n === 1 ? ' message' : ' messages')));
    }
    title.replaceChildren.apply(title, parts);
  }

  /**
   * Parties and arrows. An edge's own endpoint (the destination of what it received, the source of
   * what it sent) is a party of that edge; any other endpoint is a party of its own, unless exactly
   * one edge of this call listens there. Columns: the caller, the edges, any other party, the
   * callee; each group in order of first appearance.
   */
  function ladderModel(messages) {
    var edgesAt = new Map();
    messages.forEach(function (m) {
      var at = hostPort(m.direction === 'in' ? m.destination : m.source);
      if (!edgesAt.has(at)) edgesAt.set(at, new Set());
      edgesAt.get(at).add(String(m.edgeId));
    });
    var parties = [];
    var index = new Map();
    function partyOf(m, side) {
      var endpoint = hostPort(m[side]);
      var own = (m.direction === 'in') === (side === 'destination');
      var edgeId = own ? String(m.edgeId) : undefined;
      if (!own && edgesAt.has(endpoint) && edgesAt.get(endpoint).size === 1) {
        edgeId = edgesAt.get(endpoint).values().next().value;
      }
      var key = (edgeId === undefined ? 'peer\n' : 'edge\n' + edgeId + '\n') + endpoint;
      if (!index.has(key)) {
        index.set(key, parties.length);
        parties.push({ edgeId: edgeId, endpoint: endpoint, role: '' });
      }
      return index.get(key);
    }
    var arrows = messages.map(function (m, i) {
      return { index: i, from: partyOf(m, 'source'), to: partyOf(m, 'destination'), label: labelOf(m.firstLine), kind: kindOf(m.firstLine) };
    });
    // The caller sent the first request; the callee got the last copy the edges forwarded of it
    // (the same method and CSeq; a challenged first INVITE is never forwarded: then any of that method).
    var first = arrows.filter(function (a) {
      return a.kind === 'request';
    })[0];
    if (first) {
      if (messages[first.index].direction === 'in') parties[first.from].role = 'caller';
      var cseq = cseqOf(messages[first.index].text);
      var copies = arrows.filter(function (a) {
        return a.kind === 'request' && a.label === first.label && messages[a.index].direction === 'out' && parties[a.to].edgeId === undefined;
      });
      var same = copies.filter(function (a) {
        return cseq !== null && cseqOf(messages[a.index].text) === cseq;
      });
      var last = (same.length > 0 ? same : copies).pop();
      if (last) parties[last.to].role = parties[last.to].role === 'caller' ? 'caller/callee' : 'callee';
    }
    parties.forEach(function (p, i) {
      p.name = p.edgeId !== undefined ? 'edge ' + p.edgeId : p.role;
      p.label = p.name ? p.name + ' ' + p.endpoint : p.endpoint;
      p.first = i;
    });
    var rank = function (p) {
      if (p.role === 'caller' || p.role === 'caller/callee') return 0;
      if (p.edgeId !== undefined) return 1;
      return p.role === 'callee' ? 3 : 2;
    };
    var ordered = parties.slice().sort(function (a, b) {
      return rank(a) - rank(b) || a.first - b.first;
    });
    var column = [];
    ordered.forEach(function (p, i) {
      column[p.first] = i;
    });
    var method = first ? first.label : '';
    arrows.forEach(function (a) {
      a.from = column[a.from];
      a.to = column[a.to];
      // A response to another request than the call's first (a BYE's 200) says which.
      var answered = a.kind === 'request' ? null : cseqMethodOf(messages[a.index].text);
      a.text = answered && answered !== method ? a.label + ' (' + answered + ')' : a.label;
    });
    parties = ordered;
    var t0 = messages.length > 0 ? Date.parse(messages[0].at) : 0;
    arrows.forEach(function (a) {
      var offset = Date.parse(messages[a.index].at) - t0;
      a.offset = isFinite(offset) ? Math.round(offset) : 0;
    });
    return { parties: parties, arrows: arrows };
  }

  function drawLadder() {
    var flow = state.flow;
    var parties = flow.model.parties;
    var arrows = flow.model.arrows;
    var width = GUTTER + COL * Math.max(parties.length, 1) + 16;
    var height = TOP + ROW * arrows.length + 16;
    var x = function (i) {
      return GUTTER + COL * i + COL / 2;
    };
    var root = svg('svg', {
      width: width,
      height: height,
      viewBox: '0 0 ' + width + ' ' + height,
      'data-testid': 'ladder-svg',
      'aria-label': 'SIP ladder of Call-ID ' + flow.callId,
    });
    var defs = svg('defs');
    KINDS.forEach(function (kind) {
      var marker = svg('marker', {
        id: 'head-' + kind,
        class: 'head ' + kind,
        viewBox: '0 0 10 10',
        refX: 10,
        refY: 5,
        markerWidth: 9,
        markerHeight: 9,
        markerUnits: 'userSpaceOnUse',
        orient: 'auto-start-reverse',
      });
      marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z' }));
      defs.append(marker);
    });
    root.append(defs);

    parties.forEach(function (p, i) {
      var kind = p.edgeId !== undefined ? 'edge' : (p.role || 'peer').replace('/', '-');
      var group = svg('g', { class: 'party ' + kind, 'data-testid': 'ladder-party', 'data-label': p.label });
      group.append(
        svg('title', {}, p.label),
        svg('line', { class: 'lifeline', x1: x(i), x2: x(i), y1: 54, y2: height - 6 }),
        svg('rect', { class: 'box', x: x(i) - COL / 2 + 10, y: 8, width: COL - 20, height: 44, rx: 6 }),
      );
      if (p.name) {
        group.append(svg('text', { class: 'name', x: x(i), y: 26, 'text-anchor': 'middle' }, shorten(p.name, 28)));
      }
      group.append(svg('text', { class: 'addr', x: x(i), y: p.name ? 43 : 35, 'text-anchor': 'middle' }, shorten(p.endpoint, 26)));
      root.append(group);
    });

    arrows.forEach(function (a, k) {
      var m = flow.messages[a.index];
      var top = TOP + ROW * k;
      var y = top + 22;
      var x1 = x(a.from);
      var x2 = x(a.to);
      var group = svg('g', {
        class: 'arrow ' + a.kind,
        'data-testid': 'ladder-arrow',
        'data-index': k,
        'data-label': a.label,
        'data-from': parties[a.from].label,
        'data-to': parties[a.to].label,
        'data-kind': a.kind,
        'data-offset-ms': a.offset,
        tabindex: 0,
        role: 'button',
        'aria-label': a.label + ' from ' + parties[a.from].label + ' to ' + parties[a.to].label + ', +' + a.offset + ' ms',
      });
      group.append(
        svg('title', {}, String(m.firstLine)),
        svg('rect', { class: 'hit', x: 0, y: top, width: width, height: ROW }),
        svg('text', { class: 'offset', x: GUTTER - 14, y: y + 4, 'text-anchor': 'end' }, '+' + a.offset + ' ms'),
      );
      if (x1 === x2) {
        group.append(
          svg('path', { class: 'shaft', d: 'M' + x1 + ',' + (y - 9) + ' h34 v18 h-33', 'marker-end': 'url(#head-' + a.kind + ')' }),
          svg('text', { class: 'label', x: x1 + 42, y: y + 4 }, shorten(a.text, 40)),
        );
      } else {
        var end = x2 + (x2 > x1 ? -2 : 2);
        group.append(
          svg('line', { class: 'shaft', x1: x1, x2: end, y1: y, y2: y, 'marker-end': 'url(#head-' + a.kind + ')' }),
          svg('text', { class: 'label', x: (x1 + x2) / 2, y: y - 6, 'text-anchor': 'middle' }, shorten(a.text, 32)),
        );
      }
      root.append(group);
    });

    $('ladder').replaceChildren(root);
    var keep = -1;
    for (var i = 0; i < flow.messages.length; i++) if (messageKey(flow.messages[i]) === state.messageKey) keep = i;
    showMessage(keep);
  }

  function messageKey(m) {
    return [m.at, m.edgeId, m.direction, m.firstLine].join('\n');
  }

  /** Shows message k (-1: none) in the panel, as text. */
  function showMessage(k) {
    var flow = state.flow;
    var m = flow && k >= 0 ? flow.messages[k] : undefined;
    var arrows = $('ladder').querySelectorAll('[data-testid="ladder-arrow"]');
    for (var i = 0; i < arrows.length; i++) {
      arrows[i].classList.toggle('selected', Number(arrows[i].getAttribute('data-index')) === k);
    }
    var meta = $('message-meta');
    var text = $('message-text');
    if (!m) {
      state.messageKey = '';
      meta.replaceChildren(document.createTextNode(flow ? 'Click an arrow to see its message.' : ''));
      text.textContent = '';
      return;
    }
    state.messageKey = messageKey(m);
    var a = flow.model.arrows[k];
    var at = new Date(m.at);
    meta.replaceChildren(
      el('strong', { class: a.kind }, a.label),
      document.createTextNode(
        (m.direction === 'in' ? 'received by ' : 'sent by ') + m.edgeId + ' \u00b7 ' + String(m.transport).toUpperCase() + ' ' +
          hostPort(m.source) + ' \u2192 ' + hostPort(m.destination),
      ),
      el('br'),
      document.createTextNode(
        (isNaN(at.getTime()) ? String(m.at) : clock(at, true)) + ' (+' + a.offset + ' ms) \u00b7 ' +
          partyName(flow, a.from) + ' \u2192 ' + partyName(flow, a.to),
      ),
    );
    text.textContent = String(m.text);
  }

  function partyName(flow, i) {
    var party = flow.model.parties[i];
    return party.name || party.endpoint;
  }

  function arrowIndex(target) {
    var group = target && target.closest ? target.closest('[data-testid="ladder-arrow"]') : null;
    return group ? Number(group.getAttribute('data-index')) : -1;
  }

  function focusArrow(k) {
    var group = $('ladder').querySelector('[data-testid="ladder-arrow"][data-index="' + k + '"]');
    if (group) {
      group.focus();
      showMessage(k);
    }
  }

  // ---- wiring

  function tick() {
    if (document.visibilityState !== 'visible' || !token || state.ticking || $('login').open) return;
    state.ticking = true;
    refreshCalls()
      .catch(report)
      .then(function () {
        state.ticking = false;
      });
  }

  function start() {
    refreshCalls()
      .then(function () {
        if (state.selected !== null && state.flow === null) select(state.selected);
      })
      .catch(report);
  }

  var debounce = 0;
  function searchSoon() {
    clearTimeout(debounce);
    debounce = setTimeout(function () {
      refreshCalls().catch(report);
    }, 300);
  }

  $('login-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var value = $('token').value.trim();
    if (!value) return;
    setToken(value);
    $('login').close();
    start();
  });
  $('login').addEventListener('cancel', function (event) {
    event.preventDefault();
  });
  $('search').addEventListener('submit', function (event) {
    event.preventDefault();
    clearTimeout(debounce);
    refreshCalls().catch(report);
  });
  $('match').addEventListener('input', searchSoon);
  $('status').addEventListener('input', searchSoon);
  $('forget').addEventListener('click', function () {
    setToken('');
    state.calls = [];
    state.callsJson = '';
    state.selected = null;
    state.flow = null;
    renderCalls();
    $('flow').hidden = true;
    $('empty').hidden = true;
    setState('', '');
    history.replaceState(null, '', location.pathname);
    askToken('');
  });
  $('calls').addEventListener('click', function (event) {
    var row = event.target.closest('tr[data-call-id]');
    if (row) select(row.getAttribute('data-call-id'));
  });
  $('calls').addEventListener('keydown', function (event) {
    var row = event.target.closest('tr[data-call-id]');
    if (!row) return;
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      select(row.getAttribute('data-call-id'));
    } else if (event.key === 'ArrowDown' && row.nextElementSibling) {
      event.preventDefault();
      row.nextElementSibling.focus();
    } else if (event.key === 'ArrowUp' && row.previousElementSibling) {
      event.preventDefault();
      row.previousElementSibling.focus();
    }
  });
  $('ladder').addEventListener('click', function (event) {
    var k = arrowIndex(event.target);
    if (k >= 0) showMessage(k);
  });
  $('ladder').addEventListener('keydown', function (event) {
    var k = arrowIndex(event.target);
    if (k < 0) return;
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      showMessage(k);
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      focusArrow(k + (event.key === 'ArrowDown' ? 1 : -1));
    }
  });
  document.addEventListener('visibilitychange', tick);
  setInterval(tick, REFRESH_MS);

  var linked = /^#call=(.+)$/.exec(location.hash);
  if (linked) {
    try {
      state.selected = decodeURIComponent(linked[1]);
    } catch {
      state.selected = null;
    }
  }
  if (token) start();
  else askToken('');
})();
`;

const HEADERS = {
  'Cache-Control': 'no-store',
  'Content-Security-Policy': CALL_FLOW_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

function serve(contentType: string, body: string) {
  const bytes = Buffer.from(body, 'utf8');
  return (res: ServerResponse): void => {
    res.writeHead(200, { ...HEADERS, 'Content-Type': contentType, 'Content-Length': bytes.length });
    res.end(bytes);
  };
}

/**
 * The call-flow page's routes for the ops server: `GET /calls` (the page), `/calls.js` and
 * `/calls.css` (its script and style), all static, uncached and under {@link CALL_FLOW_CSP}. They
 * need no token (they carry no data): the admin API the page calls does. Mount them with the admin
 * routes, i.e. only when an admin token is configured.
 */
export function callFlowPageRoute(): Record<string, HttpRoute> {
  return {
    '/calls': serve('text/html; charset=utf-8', CALL_FLOW_HTML),
    '/calls.js': serve('text/javascript; charset=utf-8', CALL_FLOW_SCRIPT),
    '/calls.css': serve('text/css; charset=utf-8', CALL_FLOW_CSS),
  };
}
