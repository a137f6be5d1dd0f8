// Every shell script regbook can send to a host parses with the hosts' /bin/sh (`sh -n`, dash on
// Debian) and passes shellcheck in the POSIX sh dialect at severity warning and above.
//
// The scripts are found from two sides, so none can be missed. Each is declared through
// src/core/shell-script.ts when its module loads, and this test imports every module under src/
// (listed from the file system, so a new module is covered without being named here). Then a scan
// of the source finds every `sh -c` argv and fails unless the script it runs is such a declaration.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  declaredShellScriptNames,
  declaredShellScripts,
  type DeclaredShellScript,
} from '../../../src/core/shell-script.js';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');
const HELPER = 'core/shell-script.ts';

// Modules that act when imported: the CLI's entry point runs a command. What it imports is
// imported on its own; its source is still scanned.
const ENTRY_POINTS = new Set(['cli/main.ts']);

// `sh -c` sites whose script is not a declared one, each with why that is right. An entry that no
// longer matches fails the test, so the list cannot outlive the code.
const NOT_SCRIPTS: readonly { file: string; script: string; why: string }[] = [
  {
    file: 'transport/local.ts',
    script: 'line',
    why: 'the local transport runs the line renderCmd made of a Cmd: quoted words, no script of its own',
  },
];

// Modules known to send scripts; each must have declared at least one.
const KNOWN = [
  'facts/os',
  'facts/files',
  'facts/dirs',
  'facts/batch',
  'facts/trust',
  'facts/registry-reach',
  'lock/holder',
  'tasks/trust/record',
  'tasks/trust/restart',
  'tasks/trust/insecure',
  'tasks/trust/containerd',
  'transport/writeFileScript',
];

// Reads live in src/facts/, as commands with their parsers. The scripts elsewhere are steps that
// change a host, each kept beside the one step that runs it, and each listed here with why it
// needs a shell. A script declared anywhere else fails the test.
const STEP_SCRIPTS: Readonly<Record<string, string>> = {
  'lock/holder: acquire':
    'mkdir is the atomic test-and-set, and the record is written in the same round trip',
  'lock/holder: status': 'read with the lock it belongs to, whose layout acquire and release share',
  'lock/holder: release': 'removes the lock only if this run still holds it, in one round trip',
  'tasks/trust/record: remove a stale file':
    'removes a file, then its directory only if empty and regbook made it',
  'tasks/trust/record: remove OS store files':
    'removes the files, then rebuilds the store only if that worked',
  'tasks/trust/restart: restart docker': 'systemctl where systemd runs, else service',
  'tasks/trust/insecure: reload dockerd': "SIGHUP to dockerd's pid, read from its pid file",
  'tasks/trust/containerd: restart containerd':
    'whichever service manager the host has, then waits for its socket',
  'transport/writeFileScript: write a file': 'the atomic write: a temporary file, its mode, then a rename',
};

const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'zsh', 'ksh']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const p = join(dir, e.name);
      if (e.isDirectory()) return sourceFiles(p);
      return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
    })
    .sort();
}

interface SourceFile {
  rel: string;
  text: string;
}

const files: SourceFile[] = sourceFiles(SRC).map((path) => ({
  rel: relative(SRC, path),
  text: readFileSync(path, 'utf8'),
}));

const lineOf = (text: string, index: number) => text.slice(0, index).split('\n').length;

/** `declareShellScript('…', NAME)` or `declareShellScriptBuilder('…', NAME, …)` in the file. */
function declares(text: string, name: string): 'script' | 'builder' | undefined {
  if (new RegExp(`\\bdeclareShellScript\\(\\s*'[^']*'\\s*,\\s*${name}\\s*,?\\s*\\)`).test(text))
    return 'script';
  if (new RegExp(`\\bdeclareShellScriptBuilder\\(\\s*'[^']*'\\s*,\\s*${name}\\s*,`).test(text))
    return 'builder';
  return undefined;
}

/** Where an imported or re-exported name comes from: its module under src/ and its name there. */
function importedFrom(rel: string, text: string, name: string): { rel: string; name: string } | undefined {
  for (const m of text.matchAll(/(?:import|export)\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'([^']+)'/g)) {
    for (const part of m[1]!.split(',')) {
      const [orig, local = orig] = part
        .trim()
        .split(/\s+as\s+/)
        .map((s) => s.trim());
      if (local !== name || !orig || !m[2]!.startsWith('.')) continue;
      const target = join(dirname(rel), m[2]!).replace(/\.js$/, '.ts');
      return { rel: target, name: orig };
    }
  }
  return undefined;
}

/** Follows imports and re-exports to the declaration of `name` as seen from `rel`. */
function resolveDeclaration(
  byRel: ReadonlyMap<string, string>,
  rel: string,
  name: string,
  seen = 0,
): 'script' | 'builder' | undefined {
  const text = byRel.get(rel);
  if (text === undefined || seen > 5) return undefined;
  const here = declares(text, name);
  if (here) return here;
  const from = importedFrom(rel, text, name);
  return from ? resolveDeclaration(byRel, from.rel, from.name, seen + 1) : undefined;
}

interface ShellSite {
  file: string;
  line: number;
  /** The argv word after the -c flag, as written in the source. */
  script: string;
}

/**
 * Every argv in src/ that hands a script to a shell: a shell's name as a string, then a flag
 * word ending in c (`-c`, `-ec`, `-euc`), with only commas, brackets and blanks between.
 */
function shellSites(files: readonly SourceFile[]): ShellSite[] {
  const sites: ShellSite[] = [];
  const flag = /(['"`])(?:\/(?:usr\/)?bin\/)?([\w-]+)\1[\s,[(]*(['"`])-[A-Za-z]*c\3\s*,\s*/g;
  for (const { rel, text } of files) {
    const told = new Set<number>();
    for (const m of text.matchAll(flag)) {
      told.add(m.index + m[0].search(/['"`]-[A-Za-z]*c['"`]/));
      if (!SHELLS.has(m[2]!)) continue;
      const after = text.slice(m.index + m[0].length);
      const word = /^([A-Za-z_$][\w$]*)(\s*\()?/.exec(after);
      sites.push({
        file: rel,
        line: lineOf(text, m.index),
        script: word ? word[1]! + (word[2] ? '(…)' : '') : after.slice(0, 40).split('\n')[0]!,
      });
    }
    // A -c flag whose command is not a string just before it (a variable, a spread) could be a
    // shell's: it is reported, so the scan cannot be walked around.
    for (const m of text.matchAll(/['"`]-[A-Za-z]*c['"`]/g)) {
      if (!told.has(m.index)) sites.push({ file: rel, line: lineOf(text, m.index), script: '?' });
    }
  }
  return sites;
}

function siteProblem(site: ShellSite, byRel: ReadonlyMap<string, string>): string | undefined {
  if (site.script === '?') return 'a -c flag whose command is not a string literal just before it';
  if (NOT_SCRIPTS.some((n) => n.file === site.file && n.script === site.script)) return undefined;
  const call = site.script.endsWith('(…)');
  const name = site.script.replace(/\(…\)$/, '');
  if (!/^[A-Za-z_$][\w$]*$/.test(name)) return 'an inline script: make it a constant and declare it';
  const kind = resolveDeclaration(byRel, site.file, name);
  if (kind === undefined)
    return `${name} is not declared with declareShellScript or declareShellScriptBuilder`;
  if (call && kind !== 'builder') return `${name} is called but is not declared as a builder`;
  if (!call && kind !== 'script') return `${name} is a builder: call it (its examples are what is checked)`;
  return undefined;
}

/** Each sh -c site of `files` that does not run a declared script, as `src/FILE:LINE: …`. */
function undeclaredSites(files: readonly SourceFile[]): { sites: ShellSite[]; problems: string[] } {
  const byRel = new Map(files.map((f) => [f.rel, f.text]));
  const sites = shellSites(files);
  const problems = sites.flatMap((s) => {
    const p = siteProblem(s, byRel);
    return p ? [`src/${s.file}:${s.line}: ${s.script}: ${p}`] : [];
  });
  return { sites, problems };
}

function run(command: string, args: string[], input: string) {
  const r = spawnSync(command, args, { input, encoding: 'utf8' });
  if (r.error) throw r.error;
  return r;
}

const shellcheckFound = !spawnSync('shellcheck', ['--version']).error;
const onCI = !['', 'false', '0'].includes(process.env.CI ?? '');

describe('shell scripts sent to hosts', () => {
  let scripts: DeclaredShellScript[] = [];

  before(async () => {
    for (const { rel } of files) {
      if (ENTRY_POINTS.has(rel)) continue;
      await import(pathToFileURL(join(SRC, rel)).href);
    }
    scripts = declaredShellScripts();
  });

  it('every module that sends scripts has declared them', () => {
    const names = declaredShellScriptNames();
    assert.ok(scripts.length > 0, 'no shell scripts declared');
    for (const module of KNOWN) {
      assert.ok(
        names.some((n) => n.startsWith(`${module}: `)),
        `no script declared for src/${module}.ts`,
      );
    }
    // Each declaration in the source was run by the imports above, under its module's name.
    for (const { rel, text } of files) {
      if (rel === HELPER) continue;
      const module = rel.replace(/\.ts$/, '');
      for (const m of text.matchAll(/\bdeclareShellScript(?:Builder)?\(\s*'([^']*)'/g)) {
        assert.ok(
          m[1]!.startsWith(`${module}: `),
          `src/${rel}:${lineOf(text, m.index)}: "${m[1]}" must start "${module}: "`,
        );
        assert.ok(
          names.includes(m[1]!),
          `src/${rel}:${lineOf(text, m.index)}: "${m[1]}" was not declared on import`,
        );
      }
    }
  });

  it('every script outside src/facts/ is a listed step', () => {
    const names = declaredShellScriptNames();
    const elsewhere = [...new Set(names.filter((n) => !n.startsWith('facts/')))];
    assert.deepEqual(elsewhere.sort(), Object.keys(STEP_SCRIPTS).sort());
  });

  it('every sh -c in src/ runs a declared script', () => {
    const { sites, problems } = undeclaredSites(files);
    assert.ok(sites.length >= KNOWN.length, `found only ${sites.length} sh -c sites: the scan is broken`);
    assert.deepEqual(problems, []);
    for (const n of NOT_SCRIPTS) {
      assert.ok(
        sites.some((s) => s.file === n.file && s.script === n.script),
        `NOT_SCRIPTS lists ${n.file} (${n.script}), which no longer runs sh -c`,
      );
    }
  });

  it('the scan reports scripts that are not declared, with file and line', () => {
    const decl = "import { declareShellScript, declareShellScriptBuilder } from '../core/shell-script.js';";
    const { problems } = undeclaredSites([
      {
        rel: 'facts/a.ts',
        text: [
          decl,
          "export const OK = 'true';",
          "declareShellScript('facts/a: ok', OK);",
          'export const build = (n: string) => n;',
          "declareShellScriptBuilder('facts/a: b', build, () => [['true']]);",
          "const plain = 'true';",
          "export const good = () => ['sh', '-c', OK, 'sh'];",
          "export const good2 = () => ['sh', '-c', build('x')];",
          'export const inline = () => [',
          "  'bash',",
          "  '-ec',",
          '  `echo "$1"`,',
          '];',
          "export const bare = () => ['/bin/sh', '-c', plain];",
          "export const hidden = (sh: string) => [sh, '-c', OK];",
          "export const stat = () => ['stat', '-c', '%a', 'x'];",
        ].join('\n'),
      },
      {
        rel: 'tasks/b.ts',
        text: [
          "import { OK as Fine, build } from '../facts/a.js';",
          "export const c = () => ['sh', '-c', Fine];",
          "export const d = () => ['sh', '-c', build];",
        ].join('\n'),
      },
    ]);
    assert.deepEqual(problems, [
      'src/facts/a.ts:10: `echo "$1"`,: an inline script: make it a constant and declare it',
      'src/facts/a.ts:14: plain: plain is not declared with declareShellScript or declareShellScriptBuilder',
      'src/facts/a.ts:15: ?: a -c flag whose command is not a string literal just before it',
      'src/tasks/b.ts:3: build: build is a builder: call it (its examples are what is checked)',
    ]);
  });

  it('every script parses with sh -n', () => {
    const failures = scripts.flatMap((s) => {
      const r = run('sh', ['-n'], s.text);
      return r.status === 0 ? [] : [`${s.name}: ${r.stderr.trim()}`];
    });
    assert.deepEqual(failures, []);
  });

  it('the check catches a script that does not parse', () => {
    assert.notEqual(run('sh', ['-n'], 'if true; then echo x\n').status, 0);
  });

  it('every script passes shellcheck -s sh -S warning', (t) => {
    if (!shellcheckFound) {
      // `npm run lab:tools` installs it before the unit tests; on CI its absence is a failure.
      assert.ok(!onCI, 'shellcheck is not installed (npm run lab:tools installs it)');
      t.skip('shellcheck is not installed: run npm run lab:tools');
      return;
    }
    const failures = scripts.flatMap((s) => {
      const r = run('shellcheck', ['-s', 'sh', '-S', 'warning', '-f', 'gcc', '-'], s.text);
      return r.status === 0 ? [] : [`${s.name}:\n${(r.stdout + r.stderr).trim()}`];
    });
    assert.deepEqual(failures, []);
  });

  it('shellcheck flags what the check is meant to catch', (t) => {
    if (!shellcheckFound) {
      assert.ok(!onCI, 'shellcheck is not installed (npm run lab:tools installs it)');
      t.skip('shellcheck is not installed: run npm run lab:tools');
      return;
    }
    const r = run(
      'shellcheck',
      ['-s', 'sh', '-S', 'warning', '-f', 'gcc', '-'],
      'set -- $(ls)\n[[ -n "$1" ]]\n',
    );
    assert.notEqual(r.status, 0);
    assert.match(r.stdout, /SC2046/);
    assert.match(r.stdout, /SC3010/);
  });
});
