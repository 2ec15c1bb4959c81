// The web demo's page: a control-center endpoint (hopsafe/browser) and the two views. No build step: this file and
// /hopsafe.js (the bundle) are served as they are by `hopsafe demo --web`.
import { createEndpoint, importNonExtractableKey, mqttWsTransport, webCryptoSigner } from '/hopsafe.js';

const $ = (id) => document.getElementById(id);
const enc = new TextEncoder();
const dec = new TextDecoder();
const MAX_LINES = 300;
/** What the tests (and a curious reader, in the console) can inspect. */
const state = {
  ready: false,
  keyStorage: undefined,
  sessions: {},
  messages: [],
  rejects: [],
  keyUpdates: [],
  derEvents: [],
  frames: 0,
  sent: 0,
  error: undefined,
  // [SPEC 13] the DERs' telemetry groups: what this page's endpoint read, the groups it joined, the group frames the
  // broker carried and the samples each DER published (both per DER), and the historian's count of samples read
  groupMessages: [],
  joined: [],
  groupFrames: {},
  groupPublished: {},
  historian: {},
};
window.hopsafeDemo = state;

function line(logId, cls, text, kind) {
  const log = $(logId);
  const d = document.createElement('div');
  d.className = cls;
  if (kind) d.dataset.kind = kind;
  d.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  d.title = text;
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.appendChild(d);
  while (log.childElementCount > MAX_LINES) log.firstElementChild.remove();
  if (atBottom) log.scrollTop = log.scrollHeight;
}

// Per-second buckets for the chart: verified messages and rejects, last 60 s.
const series = { msg: new Array(60).fill(0), rej: new Array(60).fill(0) };
let bucketAt = Math.floor(Date.now() / 1000);
function bucket() {
  const now = Math.floor(Date.now() / 1000);
  while (bucketAt < now) {
    series.msg.push(0);
    series.rej.push(0);
    series.msg.shift();
    series.rej.shift();
    bucketAt++;
  }
}
function drawChart() {
  bucket();
  const svg = $('chart');
  const max = Math.max(4, ...series.msg, ...series.rej);
  const path = (vals) => vals.map((v, i) => `${i === 0 ? 'M' : 'L'}${(i * 600) / 59},${86 - (v / max) * 80}`).join(' ');
  svg.innerHTML =
    `<line x1="0" y1="86" x2="600" y2="86" stroke="#26313d"/>` +
    `<text x="2" y="10" fill="#7d8a97" font-size="10">${max}/s</text>` +
    `<path d="${path(series.msg)}" fill="none" stroke="#5fd38d" stroke-width="1.5"/>` +
    `<path d="${path(series.rej)}" fill="none" stroke="#ff6b6b" stroke-width="1.5"/>`;
}

function renderSessions(cc) {
  const rows = cc.sessions().map((s) => {
    state.sessions[s.peer] = s;
    return `<tr data-peer="${s.peer}"><td>${s.peer}</td><td>${s.protection}</td><td>${s.suite}</td><td>${s.sendEpoch}/${s.receiveEpoch}</td><td>${s.roles.join(', ')}</td></tr>`;
  });
  $('sessions').innerHTML = rows.join('');
}

function counters() {
  $('n-msg').textContent = state.messages.length;
  $('n-group').textContent = state.groupMessages.length;
  $('n-rej').textContent = state.rejects.length;
  $('n-key').textContent = state.keyUpdates.length;
  $('n-sent').textContent = state.sent;
}

// Broker view: frames streamed by the demo server from the broker's tap.
const recent = [];
function brokerFrame(f) {
  state.frames++;
  recent.push({ t: Date.now(), size: f.size });
  if (f.group) {
    // [SPEC 13.9] one message on the group topic, whatever the number of readers
    state.groupFrames[f.from] = (state.groupFrames[f.from] ?? 0) + 1;
    const text = f.readable ? `  «${f.readable}»` : '';
    line('broker-log', 'group-frame', `${f.topic}  ${f.type} ${f.size} B  one message for 2 readers${text}  ${f.hex}${f.size > 48 ? '…' : ''}`, 'group-frame');
    $('b-frames').textContent = state.frames;
    return;
  }
  const text = f.readable ? `  «${f.readable}»` : '';
  const mark = f.tampered ? '  !! TAMPERED BY THE BROKER' : '';
  line('broker-log', f.tampered ? 'tampered' : f.readable ? 'readable' : 'hex', `${f.topic}  ${f.type} ${f.size} B${mark}${text}  ${f.hex}${f.size > 48 ? '…' : ''}`, f.tampered ? 'tampered' : 'frame');
  $('b-frames').textContent = state.frames;
}
setInterval(() => {
  const cut = Date.now() - 5000;
  while (recent.length && recent[0].t < cut) recent.shift();
  $('b-rate').textContent = (recent.length / 5).toFixed(1);
  $('b-bytes').textContent = Math.round(recent.reduce((a, f) => a + f.size, 0) / 5);
  drawChart();
}, 500);

async function main() {
  const [config, pki] = await Promise.all([fetch('/config.json').then((r) => r.json()), fetch('/pki.json').then((r) => r.json())]);
  for (const d of config.ders) $('der').add(new Option(`${d.id} (${d.protection})`, d.id));
  const events = new EventSource('/events');
  events.onmessage = (e) => {
    const o = JSON.parse(e.data);
    if (o.kind === 'frame') brokerFrame(o);
    else if (o.kind === 'group-published') state.groupPublished[o.der] = o.k;
    else if (o.kind === 'historian') {
      state.historian = o.read;
      $('n-hist').textContent = Object.values(o.read).reduce((a, b) => a + b, 0);
    } else if (o.kind === 'der') {
      state.derEvents.push(o);
      if (o.event === 'reject') line('endpoint-log', 'reject', `${o.der} refused a frame from ${o.from ?? '?'}: ${o.code}`, 'der-reject');
      else if (o.event === 'key-update') line('endpoint-log', 'key-update', `${o.der}: key update (${o.direction}) with ${o.peer}, epoch ${o.epoch}`, 'der-key-update');
      else if (o.event === 'message') line('endpoint-log', 'message', `${o.der} verified from ${o.from} [${o.roles.join(', ')}]: ${o.text}`, 'der-message');
    }
  };
  // The control center: a hopsafe endpoint in this page. The key (from the demo's throw-away PKI) stays here: imported
  // as a non-extractable WebCrypto key, which the page's script can sign with but not read back (SPEC 10.6). Without
  // WebCrypto (the page opened from another host than 127.0.0.1 over http: not a secure context) the PKCS#8 is used.
  const key = globalThis.crypto?.subtle ? await importNonExtractableKey(pki.privateKey) : undefined;
  state.keyStorage = key ? 'non-extractable WebCrypto key' : 'PKCS#8 in page memory';
  const cc = await createEndpoint({
    id: config.id,
    identity: key ? { certificate: pki.certificate, signer: webCryptoSigner(key) } : { certificate: pki.certificate, privateKey: pki.privateKey },
    trust: { roots: pki.roots },
    transport: mqttWsTransport({ url: config.wsUrl, prefix: config.prefix }),
    protection: 'confidentiality',
    acceptProtection: ['integrity', 'confidentiality'],
  });
  window.hopsafeEndpoint = cc;
  // [SPEC 13] Once the session with a DER is up, join its telemetry group (the key comes over that session).
  const joining = new Set();
  const join = (der) => {
    if (joining.has(der) || !config.ders.some((d) => d.id === der)) return;
    joining.add(der);
    cc.join(der, config.group).then(
      () => {
        state.joined.push(der);
        line('endpoint-log', 'session', `joined ${der}'s group ${config.group} (members: ${config.id}, ${config.historian})`, 'group-joined');
      },
      (e) => {
        joining.delete(der);
        line('endpoint-log', 'reject', `joining ${der}'s group failed: ${e.code ?? e.message}`, 'group-join-failed');
      },
    );
  };
  cc.on('session', (s) => {
    line('endpoint-log', 'session', `session with ${s.peer}: ${s.protection}, ${s.suite} (${s.role})`, 'session');
    renderSessions(cc);
    join(s.peer);
  });
  cc.on('message', (m) => {
    bucket();
    series.msg[59]++;
    const text = dec.decode(m.data);
    if (m.group !== undefined) {
      state.groupMessages.push({ from: m.from, group: m.group, roles: m.roles, text });
      line('endpoint-log', 'group', `group ${m.group} from ${m.from} [${m.roles.join(', ')}]: ${text}`, 'group-message');
      counters();
      return;
    }
    state.messages.push({ from: m.from, roles: m.roles, text });
    line('endpoint-log', 'message', `verified from ${m.from} [${m.roles.join(', ')}]: ${text}`, 'message');
    counters();
  });
  cc.on('reject', (r) => {
    bucket();
    series.rej[59]++;
    state.rejects.push({ code: r.code, from: r.from });
    line('endpoint-log', 'reject', `REFUSED frame from ${r.from ?? '?'}: ${r.code}${r.message ? ` — ${r.message}` : ''}`, 'reject');
    counters();
  });
  cc.on('key-update', (k) => {
    state.keyUpdates.push(k);
    line('endpoint-log', 'key-update', `key update (${k.direction}) with ${k.peer}: epoch ${k.epoch}`, 'key-update');
    renderSessions(cc);
    counters();
  });
  cc.on('session-closed', (s) => line('endpoint-log', 'reject', `session with ${s.peer} closed`, 'session-closed'));

  const der = () => $('der').value;
  let sp = 0;
  $('setpoint').onclick = async () => {
    const body = { type: 'setpoint', P_MW: +(3 + (sp++ % 4) * 0.5).toFixed(1) };
    try {
      await cc.send(der(), enc.encode(JSON.stringify(body)));
      state.sent++;
      line('endpoint-log', 'session', `sent to ${der()}: ${JSON.stringify(body)}`, 'sent');
    } catch (e) {
      line('endpoint-log', 'reject', `send to ${der()} failed: ${e.code ?? e.message}`, 'send-failed');
    }
    counters();
  };
  $('rekey').onclick = async () => {
    try {
      await cc.rekey(der());
    } catch (e) {
      line('endpoint-log', 'reject', `rekey ${der()} failed: ${e.code ?? e.message}`, 'rekey-failed');
    }
  };
  $('tamper').onclick = async () => {
    await fetch('/tamper', { method: 'POST' });
    line('broker-log', 'tampered', 'armed: the broker will flip one bit in the next DATA frame to control-center', 'armed');
  };
  $('replay').onclick = async () => {
    const r = await fetch('/replay', { method: 'POST' }).then((x) => x.json());
    line('broker-log', 'tampered', r.replayed ? `the broker re-sends the last frame from ${r.from} (${r.size} B) to control-center` : 'nothing to replay yet', 'replayed');
  };
  await fetch('/ready', { method: 'POST' }); // the DERs start their telemetry now
  state.ready = true;
  $('status').textContent = `control center connected to ${config.wsUrl} (MQTT over WebSocket)`;
  setInterval(() => renderSessions(cc), 2000);
}

main().catch((e) => {
  state.error = String(e?.code ? `${e.code}: ${e.message}` : e);
  $('status').textContent = `error: ${state.error}`;
});
