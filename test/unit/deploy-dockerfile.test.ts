/**
 * Dockerfile.arm64, checked without a Docker engine: a small parser (continuations, comments,
 * exec-form JSON, stages) and two kinds of assertions:
 *   - what the image must be: multi-stage, Debian bookworm-slim for linux/arm64 at run time,
 *     Debian's ffmpeg, tini as PID 1, a non-root user, volumes for recordings and state, a health
 *     check that asks the agent, and the documented buildx command;
 *   - lint rules in the spirit of hadolint (whose rule ids are given), since neither hadolint nor an
 *     npm Dockerfile linter is installed here.
 * If the `dockerfile-utils` package (the linter of the VS Code Docker language server) is
 * installed, its validator must also report nothing; otherwise that one check is skipped.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';

const FILE = path.join(REPO, 'Dockerfile.arm64');
const TEXT = readFileSync(FILE, 'utf8');

const KEYWORDS = new Set([
  'FROM',
  'RUN',
  'CMD',
  'LABEL',
  'EXPOSE',
  'ENV',
  'ADD',
  'COPY',
  'ENTRYPOINT',
  'VOLUME',
  'USER',
  'WORKDIR',
  'ARG',
  'ONBUILD',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'SHELL',
]);

interface Instruction {
  keyword: string;
  /** Everything after the keyword, continuations joined with a space. */
  args: string;
  line: number;
}

interface Stage {
  image: string;
  name?: string;
  platform?: string;
  body: Instruction[];
}

/** Instructions in order; comments and blank lines dropped, `\` continuations joined. */
function parse(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (/^\s*(#.*)?$/.test(raw)) continue;
    const start = i;
    let joined = raw.trimEnd();
    while (joined.endsWith('\\') && i + 1 < lines.length) {
      joined = joined.slice(0, -1);
      i++;
      const next = lines[i]!;
      if (/^\s*#/.test(next)) continue; // a comment inside a continuation is dropped
      joined += ' ' + next.trim();
    }
    const m = /^\s*(\S+)\s*(.*)$/.exec(joined)!;
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start + 1 });
  }
  return out;
}

/** `--flag=value` options at the start of an instruction's arguments, and the rest. */
function flags(args: string): { flags: Record<string, string>; rest: string } {
  const f: Record<string, string> = {};
  let rest = args;
  for (;;) {
    const m = /^--([\w-]+)(?:=(\S+))?\s*/.exec(rest);
    if (!m) break;
    f[m[1]!] = m[2] ?? 'true';
    rest = rest.slice(m[0].length);
  }
  return { flags: f, rest };
}

function execForm(args: string): string[] {
  const v = JSON.parse(args) as unknown;
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string'))
    throw new Error(`not an exec form: ${args}`);
  return v;
}

const INSTRUCTIONS = parse(TEXT);
const STAGES: Stage[] = [];
for (const ins of INSTRUCTIONS) {
  if (ins.keyword === 'FROM') {
    const { flags: f, rest } = flags(ins.args);
    const [image = '', as, name] = rest.split(/\s+/);
    STAGES.push({
      image,
      ...(as?.toUpperCase() === 'AS' && name ? { name } : {}),
      ...(f['platform'] ? { platform: f['platform'] } : {}),
      body: [],
    });
  } else {
    STAGES.at(-1)?.body.push(ins);
  }
}
const RUNTIME = STAGES.at(-1)!;
const only = (stage: Stage, keyword: string) => stage.body.filter((i) => i.keyword === keyword);

describe('Dockerfile.arm64: what the image is', () => {
  it('is multi-stage: a build stage, and a Debian bookworm-slim runtime pinned to linux/arm64', () => {
    expect(STAGES.length).toBeGreaterThanOrEqual(2);
    expect(RUNTIME.image).toBe('debian:bookworm-slim');
    expect(RUNTIME.platform).toBe('linux/arm64');
    // The runtime takes the program from the build stage, nothing is built in it.
    const fromBuild = only(RUNTIME, 'COPY').filter((c) => flags(c.args).flags['from'] === STAGES[0]!.name);
    expect(fromBuild.length).toBeGreaterThan(0);
  });

  it('the build stage makes the arm64 single executable with the project script', () => {
    const build = STAGES[0]!;
    const runs = only(build, 'RUN').map((r) => r.args);
    expect(runs.some((r) => /node scripts\/build-binary\.mjs --arch arm64/.test(r))).toBe(true);
    expect(runs.some((r) => r.includes('dist-bin/camconnect-linux-arm64'))).toBe(true);
    // The script it runs must exist, and so must every folder it copies in.
    for (const c of only(build, 'COPY')) {
      const parts = flags(c.args).rest.split(/\s+/);
      for (const src of parts.slice(0, -1))
        expect(existsSync(path.join(REPO, src)), `COPY ${src}`).toBe(true);
    }
    expect(existsSync(path.join(REPO, 'scripts/build-binary.mjs'))).toBe(true);
  });

  it("installs Debian's ffmpeg and tini, and runs under tini as PID 1", () => {
    const install = only(RUNTIME, 'RUN').find((r) => r.args.includes('apt-get install'));
    expect(install?.args).toMatch(/\bffmpeg\b/);
    expect(install?.args).toMatch(/\btini\b/);
    const entry = execForm(only(RUNTIME, 'ENTRYPOINT').at(-1)!.args);
    expect(entry.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
    // tini starts the binary copied from the build stage.
    const copied = only(RUNTIME, 'COPY').map((c) => flags(c.args).rest.split(/\s+/).at(-1));
    expect(copied).toContain(entry[2]);
    expect(execForm(only(RUNTIME, 'CMD').at(-1)!.args)).toEqual(['agent', 'run']);
  });

  it('runs as a non-root user that the image creates', () => {
    const user = only(RUNTIME, 'USER').at(-1)?.args ?? '';
    const args = Object.fromEntries(
      only(RUNTIME, 'ARG').map((a) => {
        const [k = '', v = ''] = a.args.split('=');
        return [k, v];
      }),
    );
    const resolved = user.replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? '');
    const [uid = '', gid = ''] = resolved.split(':');
    expect(uid).toMatch(/^[1-9]\d*$/); // numeric, so Kubernetes' runAsNonRoot can check it
    expect(gid).toMatch(/^[1-9]\d*$/);
    const run = only(RUNTIME, 'RUN')
      .map((r) => r.args)
      .join(' ');
    expect(run).toMatch(/useradd --system --uid "\$\{UID\}"/);
    expect(run).toMatch(/--shell \/usr\/sbin\/nologin/);
  });

  it('keeps recordings and state on volumes that the environment points the agent at', () => {
    const volumes = only(RUNTIME, 'VOLUME').flatMap((v) => execForm(v.args));
    expect(volumes).toEqual(['/var/lib/camconnect/recordings', '/var/lib/camconnect/state']);
    const env = only(RUNTIME, 'ENV')
      .map((e) => e.args)
      .join(' ');
    expect(env).toContain('CAMCONNECT_RECORDINGS_DIR=/var/lib/camconnect/recordings');
    expect(env).toContain('CAMCONNECT_STATE_DIR=/var/lib/camconnect/state');
    // The folders exist, belong to the agent's user and are not world-readable.
    const run = only(RUNTIME, 'RUN')
      .map((r) => r.args)
      .join(' ');
    expect(run).toMatch(
      /install -d -m 0750 -o camconnect -g camconnect \S+ \/var\/lib\/camconnect\/recordings/,
    );
    expect(run).toMatch(/install -d -m 0700 -o camconnect -g camconnect \/var\/lib\/camconnect\/state/);
  });

  it('has a health check that asks the agent (not a PID), with interval, timeout and retries', () => {
    const hc = only(RUNTIME, 'HEALTHCHECK');
    expect(hc).toHaveLength(1);
    const { flags: f, rest } = flags(hc[0]!.args);
    expect(Object.keys(f).sort()).toEqual(['interval', 'retries', 'start-period', 'timeout']);
    expect(rest.startsWith('CMD ')).toBe(true);
    expect(execForm(rest.slice(4))).toEqual(['/usr/local/bin/camconnect', 'agent', 'health']);
  });

  it('documents the buildx command for linux/arm64', () => {
    expect(TEXT).toMatch(/^# .*docker buildx build --platform linux\/arm64 -f Dockerfile\.arm64 /m);
  });
});

describe('Dockerfile.arm64: lint', () => {
  it('uses only known instructions, with a syntax directive first', () => {
    expect(TEXT.split('\n')[0]).toBe('# syntax=docker/dockerfile:1');
    for (const i of INSTRUCTIONS) expect(KEYWORDS.has(i.keyword), `line ${i.line}: ${i.keyword}`).toBe(true);
  });

  it('DL3006/DL3007: every base image has an explicit tag that is not latest', () => {
    for (const s of STAGES) {
      const tag = /:([^/@]+)$/.exec(s.image)?.[1];
      expect(tag, s.image).toBeDefined();
      expect(tag).not.toBe('latest');
    }
  });

  it('DL3024/DL3022: stage names are unique and COPY --from names an earlier stage', () => {
    const names = STAGES.map((s) => s.name).filter(Boolean);
    expect(new Set(names).size).toBe(names.length);
    STAGES.forEach((s, idx) => {
      for (const c of only(s, 'COPY')) {
        const from = flags(c.args).flags['from'];
        if (from) expect(STAGES.slice(0, idx).map((x) => x.name)).toContain(from);
      }
    });
  });

  it('DL3009/DL3015/DL3014: apt-get update and install together, -y, no recommends, lists removed', () => {
    for (const r of INSTRUCTIONS.filter((i) => i.keyword === 'RUN' && i.args.includes('apt-get'))) {
      expect(r.args).toContain('apt-get update');
      expect(r.args).toMatch(/apt-get install -y --no-install-recommends /);
      expect(r.args).toContain('rm -rf /var/lib/apt/lists/*');
    }
  });

  it('DL3004/DL3003/DL3020/DL4006: no sudo, no cd, no ADD, no unguarded pipes', () => {
    const hasPipefail = INSTRUCTIONS.some((i) => i.keyword === 'SHELL' && i.args.includes('pipefail'));
    for (const i of INSTRUCTIONS) {
      expect(i.keyword, `line ${i.line}`).not.toBe('ADD');
      if (i.keyword !== 'RUN') continue;
      expect(i.args, `line ${i.line}`).not.toMatch(/\bsudo\b/);
      expect(i.args, `line ${i.line}`).not.toMatch(/(^|&&|;)\s*cd\s/);
      if (/[^|]\|[^|]/.test(i.args.replace(/--mount=\S+/g, '')))
        expect(hasPipefail, `line ${i.line}`).toBe(true);
    }
  });

  it('DL3000/DL3025/DL4003/DL4004: absolute WORKDIRs, JSON CMD/ENTRYPOINT, one of each per stage', () => {
    for (const s of STAGES) {
      for (const w of only(s, 'WORKDIR')) expect(w.args.startsWith('/')).toBe(true);
      for (const k of ['CMD', 'ENTRYPOINT', 'HEALTHCHECK']) {
        const list = only(s, k);
        expect(list.length, `${k} in stage ${s.name ?? s.image}`).toBeLessThanOrEqual(1);
        if (k !== 'HEALTHCHECK') for (const x of list) expect(() => execForm(x.args)).not.toThrow();
      }
    }
  });

  // Runs when the linter package is installed (see the file comment).
  const require = createRequire(import.meta.url);
  let validate: ((content: string) => { message: string; range: { start: { line: number } } }[]) | undefined;
  try {
    validate = (require('dockerfile-utils') as { validate: typeof validate }).validate;
  } catch {
    validate = undefined;
  }
  it.skipIf(!validate)('dockerfile-utils reports no problems', () => {
    const problems = validate!(TEXT).map((p) => `line ${p.range.start.line + 1}: ${p.message}`);
    expect(problems).toEqual([]);
  });
});
