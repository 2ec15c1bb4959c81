/**
 * Builds `hopsafe/browser` (dist/browser/index.js): src/browser/index.ts and everything it imports as one minified
 * ES module for the browser, with esbuild. No Node built-in may reach the bundle: the plugin below maps the few Node
 * pieces hopsafe's shared modules use to the browser stand-ins in src/browser/platform/ (named one by one in
 * SUBSTITUTES) and fails the build on any other `node:*` or built-in import, from hopsafe or from a dependency.
 * Node globals (Buffer, process, setImmediate, timers' unref) in hopsafe's own files get an import of
 * src/browser/platform/globals.ts added; dependencies are not touched (they must already be browser-clean).
 *
 *   node scripts/build-browser.mjs [--out FILE] [--entry FILE] [--quiet]     (npm run build runs it after tsc)
 */
import { builtinModules } from 'node:module';
import { readFile, mkdir } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SRC = join(ROOT, 'src');
const PLATFORM = join(SRC, 'browser', 'platform');

/** Module (absolute path, or `node:` specifier) → its browser stand-in. Nothing else Node-only is allowed. */
export const SUBSTITUTES = {
  [join(SRC, 'crypto', 'node.ts')]: join(PLATFORM, 'node-provider.ts'),
  [join(SRC, 'endpoint', 'metrics.ts')]: join(PLATFORM, 'no-metrics.ts'),
  'node:crypto': join(PLATFORM, 'node-crypto.ts'),
  'node:events': join(PLATFORM, 'events.ts'),
};
const GLOBALS_MODULE = join(PLATFORM, 'globals.ts');
const NODE_GLOBALS = ['Buffer', 'process', 'setImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'];
const BUILTIN = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** The esbuild plugin: substitutes, refuses Node built-ins, and binds Node globals in src/ files to the stand-ins. */
export function browserPlatformPlugin() {
  return {
    name: 'hopsafe-browser-platform',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        const spec = args.path;
        if (BUILTIN.has(spec) || spec.startsWith('node:')) {
          const key = spec.startsWith('node:') ? spec : `node:${spec}`;
          const sub = SUBSTITUTES[key];
          if (sub && args.importer.startsWith(SRC + sep)) return { path: sub };
          return {
            errors: [{ text: `Node built-in "${spec}" imported by ${relative(ROOT, args.importer)} would reach the browser bundle` }],
          };
        }
        // zod's namespace re-exports every locale (≈ 260 KiB): only English, zod's default, goes into the bundle.
        if (spec === '../locales/index.js' && /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer))
          return { path: join(dirname(args.importer), '..', 'locales', 'en.js'), namespace: 'zod-locales' };
        if (spec.startsWith('.') && args.importer.startsWith(SRC + sep)) {
          const abs = resolve(dirname(args.importer), spec).replace(/\.js$/, '.ts');
          const sub = SUBSTITUTES[abs];
          if (sub) return { path: sub };
        }
        return undefined;
      });
      build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
        contents: `export { default as en } from ${JSON.stringify(args.path)};`,
        resolveDir: dirname(args.path),
        loader: 'js',
      }));
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (!args.path.startsWith(SRC + sep) || args.path === GLOBALS_MODULE) return undefined;
        const text = await readFile(args.path, 'utf8');
        const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
        const used = NODE_GLOBALS.filter((g) => new RegExp(`(?<![\\w$.])${g}(?![\\w$])`).test(code));
        if (used.length === 0) return { contents: text, loader: 'ts' };
        const rel = relative(dirname(args.path), GLOBALS_MODULE).split(sep).join('/').replace(/\.ts$/, '.js');
        return { contents: `import { ${used.join(', ')} } from '${rel.startsWith('.') ? rel : `./${rel}`}';\n${text}`, loader: 'ts' };
      });
    },
  };
}

/** Builds the bundle; returns esbuild's result (with metafile) and the sizes of the output. */
export async function buildBrowser({
  entry = join(SRC, 'browser', 'index.ts'),
  outfile = join(ROOT, 'dist', 'browser', 'index.js'),
  write = true,
  minify = true,
} = {}) {
  if (write) await mkdir(dirname(outfile), { recursive: true });
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: ['es2022', 'chrome109', 'firefox115'],
    minify,
    sourcemap: false,
    legalComments: 'eof',
    metafile: true,
    write,
    logLevel: 'silent',
    plugins: [browserPlatformPlugin()],
  });
  const out = write ? await readFile(outfile) : result.outputFiles[0].contents;
  return { result, bytes: out.byteLength, gzip: gzipSync(out, { level: 9 }).byteLength, code: Buffer.from(out).toString('utf8') };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const { bytes, gzip } = await buildBrowser({
    ...(arg('--out') ? { outfile: resolve(arg('--out')) } : {}),
    ...(arg('--entry') ? { entry: resolve(arg('--entry')) } : {}),
  });
  if (!process.argv.includes('--quiet'))
    console.log(`hopsafe/browser: ${(bytes / 1024).toFixed(1)} KiB minified, ${(gzip / 1024).toFixed(1)} KiB gzip`);
}
