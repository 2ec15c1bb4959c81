/** The three report formats: JSON, one self-contained HTML page, JUnit XML. [SPEC Annex C.3] */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CaseReport } from './case.js';
import type { RunReport } from './runner.js';

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** XML 1.0 allows no control characters but tab, LF and CR. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters XML 1.0 forbids in text
const xmlText = (s: string): string => esc(s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '?'));

export function junitXml(r: RunReport): string {
  const groups = new Map<string, CaseReport[]>();
  for (const c of r.cases) groups.set(c.group, [...(groups.get(c.group) ?? []), c]);
  const suites = [...groups].map(([g, cs]) => {
    const failures = cs.filter((c) => c.outcome === 'fail').length;
    const skipped = cs.filter((c) => c.outcome === 'informational').length;
    const time = cs.reduce((t, c) => t + c.durationMs, 0) / 1000;
    const body = cs
      .map((c) => {
        const name = xmlText(`${c.id} ${c.title}`);
        const inner =
          c.outcome === 'fail'
            ? `<failure message="${xmlText(c.reason)}" type="fail">${xmlText(`${c.clause}: ${c.reason}`)}</failure>`
            : c.outcome === 'informational'
              ? `<skipped message="${xmlText(c.reason)}"/>`
              : c.outcome === 'non-strict'
                ? `<system-out>${xmlText(`non-strict: ${c.reason}`)}</system-out>`
                : '';
        return `    <testcase classname="${xmlText(`conformance.${g}`)}" name="${name}" time="${(c.durationMs / 1000).toFixed(3)}">${inner}</testcase>`;
      })
      .join('\n');
    return `  <testsuite name="${xmlText(g)}" tests="${cs.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}">\n${body}\n  </testsuite>`;
  });
  const s = r.summary;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="hopsafe conformance: ${xmlText(r.iut)}" tests="${r.cases.length}" failures="${s.fail}" errors="0" skipped="${s.informational}" time="${(r.durationMs / 1000).toFixed(3)}">\n${suites.join('\n')}\n</testsuites>\n`;
}

const COLOURS: Record<CaseReport['outcome'], string> = {
  pass: '#2e7d32',
  fail: '#c62828',
  'non-strict': '#ef6c00',
  informational: '#1565c0',
};

export function html(r: RunReport): string {
  const groups = new Map<string, CaseReport[]>();
  for (const c of r.cases) groups.set(c.group, [...(groups.get(c.group) ?? []), c]);
  const badge = (o: CaseReport['outcome']): string => `<span class="b" style="background:${COLOURS[o]}">${o}</span>`;
  const sections = [...groups]
    .map(([g, cs]) => {
      const rows = cs
        .map((c) => {
          const frames = c.transcript
            .map(
              (f) =>
                `<tr><td>${f.atMs}</td><td>${f.dir}</td><td>${esc(f.from)} → ${esc(f.to)}</td><td>${esc(f.type)}</td><td>${f.length}</td><td class="hex">${esc(f.hex.slice(0, 96))}${f.hex.length > 96 ? '…' : ''}</td></tr>`,
            )
            .join('');
          return `<details class="case"><summary>${badge(c.outcome)} <b>${esc(c.id)}</b> ${esc(c.title)} <i>${esc(c.clause)}</i> <small>${c.durationMs} ms</small></summary>
<p>${esc(c.reason)}</p><table class="t"><tr><th>ms</th><th>dir</th><th>route</th><th>type</th><th>bytes</th><th>frame (hex, start)</th></tr>${frames}</table></details>`;
        })
        .join('\n');
      const worst = cs.some((c) => c.outcome === 'fail') ? 'fail' : cs.some((c) => c.outcome === 'non-strict') ? 'non-strict' : 'pass';
      return `<details class="group" ${worst !== 'pass' ? 'open' : ''}><summary>${badge(worst)} <b>${esc(g)}</b> (${cs.length})</summary>\n${rows}\n</details>`;
    })
    .join('\n');
  const s = r.summary;
  return `<!doctype html><html><head><meta charset="utf-8"><title>hopsafe conformance: ${esc(r.iut)}</title><style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}.b{color:#fff;border-radius:3px;padding:1px 6px;font-size:12px}
details{margin:4px 0}.group>summary{font-size:16px}.case{margin-left:1.5em}.t{border-collapse:collapse;font-size:12px}
.t td,.t th{border:1px solid #ddd;padding:2px 6px}.hex{font-family:monospace}i{color:#666}small{color:#888}</style></head><body>
<h1>hopsafe conformance report</h1><p>IUT <b>${esc(r.iut)}</b> · broker ${esc(r.brokerUrl)} · ${esc(r.started)} · ${(r.durationMs / 1000).toFixed(1)} s</p>
<p>${badge('pass')} ${s.pass} ${badge('fail')} ${s.fail} ${badge('non-strict')} ${s.nonStrict} ${badge('informational')} ${s.informational}</p>
${sections}</body></html>\n`;
}

/** Writes report.json, report.html and junit.xml into `dir`; returns their paths. */
export async function writeReports(dir: string, r: RunReport): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    ['report.json', `${JSON.stringify(r, null, 2)}\n`],
    ['report.html', html(r)],
    ['junit.xml', junitXml(r)],
  ];
  for (const [name, text] of files) await writeFile(join(dir, name), text);
  return files.map(([n]) => join(dir, n));
}
