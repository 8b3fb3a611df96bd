/* global window, navigator, RTCPeerConnection, TextDecoder, JsSIP */
/**
 * The page side of test/support/browser-phone.ts: one JsSIP user agent speaking SIP over a
 * WebSocket (RFC 7118) to the proxy. UA and session events and each SIP message sent or received
 * go to the test through the `phoneEvent` binding the harness exposes (a JSON string per event);
 * JsSIP's debug lines go to the console, which the harness records too. The test drives the phone
 * through `window.sipPhone`. Sessions are named by a number of the page's own.
 */

const MEDIA = { audio: true, video: false };
/** No STUN or TURN server: only host candidates, and nothing is sent off the machine. */
const PC_CONFIG = { iceServers: [] };

function report(event) {
  window.phoneEvent(JSON.stringify(event));
}

function errorText(error) {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** A value for a `%o`/`%j` placeholder of a log line: JSON if it can be (it may be cyclic), else its type. */
function loggable(value) {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value)?.slice(0, 1000) ?? String(value);
  } catch {
    return `[${value?.constructor?.name ?? typeof value}]`;
  }
}

/**
 * Formats JsSIP's debug lines (the `debug` module) as one plain string each, placeholders filled,
 * no colours: each JsSIP logger prints to console.info, warn or error, which the harness records.
 */
function plainDebugLines() {
  JsSIP.debug.formatArgs = function formatArgs(args) {
    const values = args.slice(1);
    const text = String(args[0]).replace(/%([sdifoOj%])/g, (placeholder, kind) => {
      if (kind === '%') return '%';
      return values.length === 0 ? placeholder : loggable(values.shift());
    });
    args.splice(0, args.length, [this.namespace, text, ...values.map(loggable)].join(' '));
  };
  // JsSIP:Transport logs each SIP message in full, which the socket below reports already.
  JsSIP.debug.enable('JsSIP:*,-JsSIP:Transport');
}

/** JsSIP's WebSocket transport, reporting each SIP message it sends and receives. */
class TracingSocket extends JsSIP.WebSocketInterface {
  send(message) {
    const sent = super.send(message);
    report({ type: 'sip-sent', text: message, sent });
    return sent;
  }

  _onMessage(event) {
    const text = typeof event.data === 'string' ? event.data : new TextDecoder().decode(event.data);
    report({ type: 'sip-received', text });
    super._onMessage(event);
  }
}

let ua;
let sessionCount = 0;
const sessions = new Map();
const sessionIds = new WeakMap();

/** Numbers a new session and reports its events (and its ICE state) under that number. */
function track(session) {
  const id = ++sessionCount;
  sessions.set(id, session);
  sessionIds.set(session, id);
  const on = (name, describe) => session.on(name, (e) => report({ type: name, session: id, ...describe(e) }));
  on('progress', (e) => ({ originator: e.originator, status: e.response?.status_code }));
  on('accepted', (e) => ({ originator: e.originator, status: e.response?.status_code }));
  on('confirmed', (e) => ({ originator: e.originator }));
  on('failed', (e) => ({ originator: e.originator, cause: e.cause, status: e.message?.status_code }));
  on('ended', (e) => ({ originator: e.originator, cause: e.cause }));
  const problem = (name) => on(name, (error) => ({ error: errorText(error) }));
  problem('getusermediafailed');
  problem('peerconnection:createofferfailed');
  problem('peerconnection:createanswerfailed');
  problem('peerconnection:setlocaldescriptionfailed');
  problem('peerconnection:setremotedescriptionfailed');
  session.on('peerconnection', ({ peerconnection }) => {
    peerconnection.addEventListener('iceconnectionstatechange', () =>
      report({ type: 'ice', session: id, state: peerconnection.iceConnectionState }),
    );
  });
  return id;
}

function sessionById(id) {
  const found = sessions.get(id);
  if (found === undefined) throw new Error(`no session ${id}`);
  return found;
}

/** Creates and starts the UA: it connects and registers (`register: true`). */
function start({ wsUrl, uri, authorizationUser, password, displayName }) {
  plainDebugLines();
  ua = new JsSIP.UA({
    sockets: [new TracingSocket(wsUrl)],
    uri,
    authorization_user: authorizationUser,
    password,
    display_name: displayName,
    register: true,
    session_timers: false,
  });
  ua.on('connected', () => report({ type: 'connected' }));
  ua.on('disconnected', (e) => report({ type: 'disconnected', code: e.code, reason: e.reason }));
  ua.on('registered', (e) => report({ type: 'registered', status: e.response?.status_code }));
  ua.on('unregistered', (e) => report({ type: 'unregistered', status: e.response?.status_code }));
  ua.on('registrationFailed', (e) =>
    report({ type: 'registrationFailed', cause: e.cause, status: e.response?.status_code }),
  );
  ua.on('newRTCSession', ({ originator, session: newSession, request }) => {
    const id = track(newSession);
    report({
      type: 'newRTCSession',
      session: id,
      originator,
      from: request.getHeader('From'),
      requestUri: request.ruri.toString(),
      callId: request.call_id,
    });
  });
  ua.start();
}

/** Starts a call to `target` (audio only); the session's number. */
function call(target) {
  const outgoing = ua.call(target, { mediaConstraints: MEDIA, pcConfig: PC_CONFIG });
  return sessionIds.get(outgoing);
}

function answer(id) {
  sessionById(id).answer({ mediaConstraints: MEDIA, pcConfig: PC_CONFIG });
}

function hangup(id) {
  sessionById(id).terminate();
}

/** Stops the UA: it unregisters, ends its sessions and closes the WebSocket. */
function stop() {
  ua?.stop();
}

async function withPeerConnection(use) {
  const stream = await navigator.mediaDevices.getUserMedia(MEDIA);
  const pc = new RTCPeerConnection(PC_CONFIG);
  try {
    for (const mediaTrack of stream.getTracks()) pc.addTrack(mediaTrack, stream);
    return await use(pc);
  } finally {
    pc.close();
    for (const mediaTrack of stream.getTracks()) mediaTrack.stop();
  }
}

/** Makes an offer with a (fake) microphone and applies `answer` to it; throws when Chromium refuses it. */
function checkAnswer(answerSdp) {
  return withPeerConnection(async (pc) => {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
    return { offer: offer.sdp, signalingState: pc.signalingState };
  });
}

/** Applies `offer` and answers it with a (fake) microphone; throws when Chromium refuses it. */
function checkOffer(offerSdp) {
  return withPeerConnection(async (pc) => {
    await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    const answerDescription = await pc.createAnswer();
    await pc.setLocalDescription(answerDescription);
    return { answer: answerDescription.sdp, signalingState: pc.signalingState };
  });
}

window.sipPhone = { start, call, answer, hangup, stop, checkAnswer, checkOffer };
