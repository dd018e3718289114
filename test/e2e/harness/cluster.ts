// An envtest-style control plane: Debian's etcd plus kube-apiserver v1.20.2 (built from
// Debian's `kubernetes` source package by test/e2e/kube/build-apiserver.sh and cached under
// ~/.cache/backoff-guard), on free loopback ports, driven with the real kubectl.
// No controller-manager, scheduler or kubelet: pods stay Pending, and the admission verdict
// is all there is to observe.
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeClusterCerts, kubeconfigYaml } from './certs.js';
import type { ClusterCerts } from './certs.js';
import { httpGet, httpsGet } from './https-get.js';
import { kubectl } from './kubectl.js';
import type { KubectlOptions, KubectlResult } from './kubectl.js';
import { freePorts } from './ports.js';
import { ManagedProcess, waitFor } from './proc.js';

export const KUBE_VERSION = 'v1.20.2';
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BUILD_SCRIPT = join(REPO_ROOT, 'test/e2e/kube/build-apiserver.sh');

export function cacheDir(): string {
  return process.env.BACKOFF_GUARD_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'backoff-guard');
}

/** Where the cached binary lives (or BACKOFF_GUARD_KUBE_APISERVER to use another one). */
export function apiserverBinaryPath(): string {
  return process.env.BACKOFF_GUARD_KUBE_APISERVER ?? join(cacheDir(), `kube-apiserver-${KUBE_VERSION}`);
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The kube-apiserver binary, building it first (several minutes, once per machine) when the
 * cache is empty. Throws a message naming the build log when it cannot.
 */
export async function ensureApiserverBinary(log: (line: string) => void = () => {}): Promise<string> {
  const bin = apiserverBinaryPath();
  if (isExecutable(bin)) return bin;
  if (process.env.BACKOFF_GUARD_KUBE_APISERVER) {
    throw new Error(`BACKOFF_GUARD_KUBE_APISERVER=${bin} is not an executable file`);
  }
  mkdirSync(cacheDir(), { recursive: true });
  const logFile = join(cacheDir(), `build-${KUBE_VERSION}.log`);
  writeFileSync(logFile, '');
  log(`kube-apiserver ${KUBE_VERSION} is not cached at ${bin}: running ${BUILD_SCRIPT} (about 5 minutes; log: ${logFile})`);
  const proc = new ManagedProcess({ name: 'build-apiserver.sh', command: 'bash', args: [BUILD_SCRIPT], logFile, cwd: REPO_ROOT });
  await proc.exited;
  if (proc.describeExit() !== 'exited with code 0' || !isExecutable(bin)) {
    throw new Error(
      `cannot run the e2e tests: kube-apiserver ${KUBE_VERSION} is not at ${bin} and ${BUILD_SCRIPT} ${proc.describeExit()}.\n` +
        `Last lines of ${logFile}:\n${proc.tail(25)}`,
    );
  }
  return bin;
}

export function requireCommand(cmd: string, hint: string): void {
  const dirs = (process.env.PATH ?? '').split(':');
  if (!dirs.some((d) => d && isExecutable(join(d, cmd)))) throw new Error(`the e2e tests need \`${cmd}\` on PATH: ${hint}`);
}

export interface NamespaceOptions {
  labels?: Record<string, string>;
  /** Pull secrets listed on the namespace's `default` ServiceAccount. */
  imagePullSecrets?: string[];
}

export interface Cluster {
  /** https://127.0.0.1:<port> */
  url: string;
  kubeconfig: string;
  dir: string;
  certs: ClusterCerts;
  etcd: ManagedProcess;
  apiserver: ManagedProcess;
  kubectl(args: string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** kubectl, throwing when the exit code is not 0. */
  kubectlOk(args: string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** `kubectl apply -f -` of objects given as JS values (JSON is YAML). */
  apply(objects: object | object[], args?: string[]): Promise<KubectlResult>;
  /** The API server's log so far. */
  apiserverLog(): string;
  /**
   * The AdmissionReviews the API server sent and the responses it received, from its own log
   * (client-go logs request and response bodies at -v=8; the cluster runs with
   * --vmodule=request=8 unless logAdmissionBodies is false). Bodies are cut at 1024 characters
   * by client-go, so only the leading fields are reliable: uid comes first in both.
   */
  admissionExchanges(): AdmissionExchanges;
  /**
   * Creates (or updates) a namespace with a `default` ServiceAccount that the ServiceAccount
   * admission plugin accepts: 1.20 without a controller-manager needs the token Secret too.
   */
  ensureNamespace(name: string, opts?: NamespaceOptions): Promise<void>;
  /** Stops the API server and etcd by PID; removes the working folder unless `keep`. */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

export interface AdmissionExchanges {
  /** request.uid of every AdmissionReview the API server sent, in order. */
  requestUids: string[];
  /** response.uid of every AdmissionReview response the API server received, in order. */
  responseUids: string[];
}

const REQUEST_BODY = /Request Body: \{"kind":"AdmissionReview","apiVersion":"admission\.k8s\.io\/v1","request":\{"uid":"([^"]+)"/;
const RESPONSE_BODY = /Response Body: (\{.*)$/;

export function parseAdmissionExchanges(log: string): AdmissionExchanges {
  const requestUids: string[] = [];
  const responseUids: string[] = [];
  for (const line of log.split('\n')) {
    const req = REQUEST_BODY.exec(line);
    if (req) {
      requestUids.push(req[1] as string);
      continue;
    }
    const res = RESPONSE_BODY.exec(line);
    if (res && res[1]?.includes('"AdmissionReview"')) {
      let uid: string | undefined;
      try {
        const v = JSON.parse(res[1]) as { response?: { uid?: unknown } };
        if (typeof v.response?.uid === 'string') uid = v.response.uid;
      } catch {
        // cut at 1024 characters: fall back to the leading fields
        uid = /"response":\{(?:[^{}]*?,)?"uid":"([^"]+)"/.exec(res[1])?.[1];
      }
      if (uid !== undefined) responseUids.push(uid);
    }
  }
  return { requestUids, responseUids };
}

export interface ClusterOptions {
  /** Working folder (certs, etcd data, logs); a fresh temp folder by default. */
  dir?: string;
  /** Extra kube-apiserver flags. */
  apiserverArgs?: string[];
  /** Log AdmissionReview request/response bodies (--vmodule=request=8); default true. */
  logAdmissionBodies?: boolean;
  /** Never remove the working folder (BACKOFF_GUARD_E2E_KEEP=1 does the same). */
  keepDir?: boolean;
  log?: (line: string) => void;
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  requireCommand('etcd', 'apt-get install -y etcd-server');
  requireCommand('openssl', 'apt-get install -y openssl');
  const bin = await ensureApiserverBinary(opts.log);
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'bg-e2e-'));
  mkdirSync(dir, { recursive: true });
  const certs = await makeClusterCerts(join(dir, 'pki'));
  const [etcdClient, etcdPeer, apiPort] = await freePorts(3) as [number, number, number];

  const procs: ManagedProcess[] = [];
  let stopped = false;
  const stop = async (o: { keep?: boolean } = {}) => {
    if (stopped) return;
    stopped = true;
    for (const p of [...procs].reverse()) await p.stop();
    if (!o.keep && !opts.keepDir && !process.env.BACKOFF_GUARD_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
  };

  try {
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const etcd = new ManagedProcess({
      name: 'etcd',
      command: 'etcd',
      args: [
        '--name', 'default',
        '--data-dir', join(dir, 'etcd'),
        '--listen-client-urls', etcdUrl,
        '--advertise-client-urls', etcdUrl,
        '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
        '--initial-cluster', `default=http://127.0.0.1:${etcdPeer}`,
        '--log-level', 'warn',
      ],
      logFile: join(dir, 'etcd.log'),
    });
    procs.push(etcd);
    await waitFor('etcd /health', async () => (await httpGet(`${etcdUrl}/health`)).body.includes('true'), { timeoutMs: 30_000, proc: etcd });

    const url = `https://127.0.0.1:${apiPort}`;
    const apiserver = new ManagedProcess({
      name: 'kube-apiserver',
      command: bin,
      args: [
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        '--insecure-port=0',
        `--etcd-servers=${etcdUrl}`,
        `--cert-dir=${join(dir, 'apiserver-certs')}`,
        `--tls-cert-file=${certs.servingCertFile}`,
        `--tls-private-key-file=${certs.servingKeyFile}`,
        `--client-ca-file=${certs.caFile}`,
        `--service-account-key-file=${certs.serviceAccountKeyFile}`,
        `--service-account-signing-key-file=${certs.serviceAccountKeyFile}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--authorization-mode=RBAC',
        '--endpoint-reconciler-type=none',
        '--allow-privileged=true',
        '--profiling=false',
        ...(opts.logAdmissionBodies === false ? [] : ['--vmodule=request=8']),
        ...(opts.apiserverArgs ?? []),
      ],
      logFile: join(dir, 'kube-apiserver.log'),
    });
    procs.push(apiserver);
    const tls = { ca: certs.caPem, cert: certs.adminCertPem, key: certs.adminKeyPem };
    await waitFor('kube-apiserver /readyz', async () => (await httpsGet(`${url}/readyz`, tls)).status === 200, {
      timeoutMs: 90_000,
      intervalMs: 250,
      proc: apiserver,
    });

    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(url, certs), { mode: 0o600 });

    const run = (args: string[], o?: KubectlOptions) => kubectl(kubeconfig, args, o);
    const runOk = async (args: string[], o?: KubectlOptions) => {
      const r = await run(args, o);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited with ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      return r;
    };
    const apply = (objects: object | object[], args: string[] = []) =>
      run(['apply', '-f', '-', ...args], {
        input: JSON.stringify(Array.isArray(objects) ? { apiVersion: 'v1', kind: 'List', items: objects } : objects),
      });

    const ensureNamespace = async (name: string, o: NamespaceOptions = {}) => {
      const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: o.labels ?? {} } };
      const token = {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/service-account-token',
        metadata: { name: 'default-token-e2e', namespace: name, annotations: { 'kubernetes.io/service-account.name': 'default' } },
      };
      const sa = {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'default', namespace: name },
        secrets: [{ name: 'default-token-e2e' }],
        imagePullSecrets: (o.imagePullSecrets ?? []).map((n) => ({ name: n })),
      };
      let last: KubectlResult | undefined;
      // The API server creates default/kube-system a moment after /readyz: retry briefly.
      await waitFor(`namespace ${name} with its default ServiceAccount`, async () => {
        last = await run(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [ns, token, sa] }) });
        return last.code === 0;
      }, { timeoutMs: 30_000, intervalMs: 500, proc: apiserver }).catch((err: Error) => {
        throw new Error(`${err.message}\nkubectl: ${last?.stderr ?? ''}`);
      });
    };

    // The system namespaces appear shortly after /readyz.
    await waitFor('namespaces default and kube-system', async () => {
      const r = await run(['get', 'namespace', 'default', 'kube-system', '-o', 'name']);
      return r.code === 0;
    }, { timeoutMs: 30_000, intervalMs: 250, proc: apiserver });
    await ensureNamespace('default');
    await ensureNamespace('kube-system');

    return {
      url,
      kubeconfig,
      dir,
      certs,
      etcd,
      apiserver,
      kubectl: run,
      kubectlOk: runOk,
      apply,
      apiserverLog: () => apiserver.log(),
      admissionExchanges: () => parseAdmissionExchanges(apiserver.log()),
      ensureNamespace,
      stop,
    };
  } catch (err) {
    const keep = existsSync(dir) ? ` (logs kept in ${dir})` : '';
    await stop({ keep: true });
    if (err instanceof Error) err.message += keep;
    throw err;
  }
}

