// The corpus of issue 15: containers as people really run the images of debian-images.ts, from
// the Docker Official Images' documentation (docker-library/docs: busybox, python, nginx, node,
// debian), the Kubernetes docs' examples (busybox `sh -c` loops, `sleep 3600`, exec probes
// `cat /tmp/healthy`, init containers waiting with nslookup/until loops), and distroless usage
// (numeric USER, runAsNonRoot). Every entry must be allowed without a warning (`ok`), except the
// "could not verify" warnings documented in test/real-images/README.md; the `fails` entries are
// the true failures, each with the check that must catch it.
import type { RealImageName } from './debian-images.js';

type Obj = Record<string, unknown>;

export type WorkloadKind = 'Pod' | 'Deployment' | 'Job' | 'CronJob' | 'StatefulSet' | 'DaemonSet';

export interface CorpusEntry {
  /** Unique, says what it is. */
  name: string;
  image: RealImageName;
  kind: WorkloadKind;
  /** The main container (name and image are filled in). */
  container: Obj;
  /** Init containers (same image unless they name one: `image` is a RealImageName then). */
  init?: Obj[];
  /** Pod-level fields: securityContext, nodeSelector... */
  pod?: Obj;
  /** A known bug makes the engine get this one wrong: the assertion is a tap `todo` until fixed. */
  todo?: string;
}

export interface FailureEntry extends CorpusEntry {
  /** The check that must report it. */
  check: string;
  /** `certain` (the default): denied; `likely`: a warning, where the image cannot prove it (the dash version). */
  expect?: 'certain' | 'likely';
}

const long = (image: RealImageName, name: string, container: Obj, more: Partial<CorpusEntry> = {}): CorpusEntry => ({ name, image, kind: 'Deployment', container, ...more });
const job = (image: RealImageName, name: string, container: Obj, more: Partial<CorpusEntry> = {}): CorpusEntry => ({ name, image, kind: 'Job', container, ...more });
const pod = (image: RealImageName, name: string, container: Obj, more: Partial<CorpusEntry> = {}): CorpusEntry => ({ name, image, kind: 'Pod', container, ...more });


const sh = (script: string) => ({ command: ['sh', '-c', script] });
const nonRoot = (uid: number) => ({ securityContext: { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } });

// ---- busybox ----
// One-shot applets as Jobs (they end; that is what a Job is for).
const busyboxJobs: Array<[string, string[]]> = [
  ['echo', ['echo', 'hello from busybox']],
  ['date', ['date', '-u']],
  ['uname', ['uname', '-a']],
  ['env', ['env']],
  ['ls', ['ls', '-la', '/']],
  ['cat-hostname', ['cat', '/etc/hostname']],
  ['wget-spider', ['wget', '-q', '--spider', 'http://example.com/']],
  ['nslookup', ['nslookup', 'kubernetes.default.svc.cluster.local']],
  ['ping', ['ping', '-c', '3', '10.0.0.1']],
  ['df', ['df', '-h']],
  ['free', ['free', '-m']],
  ['id', ['id']],
  ['whoami', ['whoami']],
  ['md5sum', ['md5sum', '/bin/busybox']],
  ['sha256sum', ['sha256sum', '/bin/busybox']],
  ['tar-list', ['tar', '-tf', '/data/backup.tar']],
  ['gzip', ['gzip', '-k', '/data/dump.sql']],
  ['find', ['find', '/data', '-name', '*.tmp', '-delete']],
  ['du', ['du', '-sh', '/data']],
  ['hostname', ['hostname']],
  ['true', ['true']],
  ['busybox-list', ['busybox', '--list']],
  ['bin-busybox-echo', ['/bin/busybox', 'echo', 'hi']],
  ['sleep-10', ['sleep', '10']],
  ['test-bracket', ['[', '-d', '/tmp', ']']],
];

const busybox: CorpusEntry[] = [
  // the image's CMD ["sh"] kept with stdin+tty: `kubectl run -it --rm debug --image=busybox`
  pod('busybox', 'busybox: kubectl run -it (CMD sh with stdin and tty)', { stdin: true, tty: true }, { pod: { restartPolicy: 'Never' } }),
  { ...long('busybox', 'busybox: sleep 3600 (Kubernetes docs)', { command: ['sleep', '3600'] }) },
  long('busybox', 'busybox: sleep infinity', { command: ['sleep', 'infinity'] }),
  long('busybox', 'busybox: args only, CMD replaced', { args: ['sleep', '1000000'] }),
  { ...long('busybox', 'busybox: /bin/sleep by path', { command: ['/bin/sleep', '3600'] }) },
  long('busybox', 'busybox: tail -f /dev/null', { command: ['tail', '-f', '/dev/null'] }),
  long('busybox', 'busybox: counter loop (Kubernetes logging docs)', { args: ['/bin/sh', '-c', 'i=0; while true; do echo "$i: $(date)"; i=$((i+1)); sleep 1; done'] }),
  long('busybox', 'busybox: liveness exec probe (Kubernetes docs)', {
    args: ['/bin/sh', '-c', 'touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600'],
    livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, initialDelaySeconds: 5, periodSeconds: 5 },
  }),
  long('busybox', 'busybox: trap TERM loop', sh('trap "echo bye; exit 0" TERM INT; while :; do sleep 1 & wait $!; done')),
  long('busybox', 'busybox: httpd -f', { command: ['httpd', '-f', '-v', '-p', '8080', '-h', '/tmp'], ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { httpGet: { path: '/', port: 'http' } } }),
  long('busybox', 'busybox: nc echo server', { command: ['nc', '-lk', '-p', '9000', '-e', 'cat'], ports: [{ containerPort: 9000 }], livenessProbe: { tcpSocket: { port: 9000 } } }),
  long('busybox', 'busybox: syslogd in foreground', { command: ['syslogd', '-n', '-O', '-'] }),
  long('busybox', 'busybox: crond in foreground', { command: ['crond', '-f', '-l', '8'] }),
  long('busybox', 'busybox: watch date', { command: ['watch', '-n', '5', 'date'] }),
  long('busybox', 'busybox: top batch loop', sh('while true; do top -b -n 1 | head -n 15; sleep 10; done')),
  long('busybox', 'busybox: log shipper sidecar (tail -F)', { command: ['tail', '-n+1', '-F', '/var/log/app/app.log'] }),
  long('busybox', 'busybox: env PATH=/bin', { command: ['sleep', 'infinity'], env: [{ name: 'PATH', value: '/bin' }] }),
  { ...long('busybox', 'busybox: workingDir /bin, ./sleep', { command: ['./sleep', 'infinity'], workingDir: '/bin' }) },
  { ...long('busybox', 'busybox: runAsNonRoot with numeric user', { command: ['sleep', '3600'], ...nonRoot(1000) }) },
  { ...long('busybox', 'busybox: pod-level runAsUser 65534', { command: ['sleep', '3600'] }, { pod: { securityContext: { runAsNonRoot: true, runAsUser: 65534, fsGroup: 65534 } } }) },
  long('busybox', 'busybox: for loop over files', sh('for f in /etc/*; do echo "$f"; done; exec sleep infinity')),
  long('busybox', 'busybox: until loop waiting for a file', sh('until [ -f /tmp/ready ]; do echo waiting; sleep 2; done; exec tail -f /tmp/ready')),
  long('busybox', 'busybox: case on hostname', sh('case "$(hostname)" in *-0) echo leader;; *) echo follower;; esac; exec sleep infinity')),
  long('busybox', 'busybox: ash -c', { command: ['ash', '-c', 'while true; do date; sleep 60; done'] }),
  long('busybox', 'busybox: exec probe with sh -c', { command: ['sleep', 'infinity'], livenessProbe: { exec: { command: ['sh', '-c', 'test -d /tmp'] } } }),
  long('busybox', 'busybox: startup probe with ls', { command: ['sleep', 'infinity'], startupProbe: { exec: { command: ['ls', '/tmp'] }, failureThreshold: 30 } }),
  pod('busybox', 'busybox: init container waits for a service (Kubernetes docs)', { command: ['sh', '-c', 'echo The app is running! && sleep 3600'] }, {
    init: [
      { name: 'init-myservice', command: ['sh', '-c', "until nslookup myservice.$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace).svc.cluster.local; do echo waiting for myservice; sleep 2; done"] },
      { name: 'init-mydb', command: ['sh', '-c', 'until nslookup mydb; do echo waiting for mydb; sleep 2; done'] },
    ],
  }),
  pod('busybox', 'busybox: init container copies files', { command: ['sleep', 'infinity'] }, { init: [{ name: 'copy', command: ['cp', '-r', '/etc/.', '/work/'] }] }),
  long('busybox', 'busybox: dd to /dev/null loop', sh('while :; do dd if=/dev/zero of=/dev/null bs=1M count=10 2>/dev/null; sleep 5; done')),
  long('busybox', 'busybox: wget health loop', sh('while true; do wget -q -O- http://localhost:8080/healthz || echo down; sleep 15; done')),
  ...busyboxJobs.map(([n, argv]) => job('busybox', `busybox job: ${n}`, { command: argv })),
  job('busybox', 'busybox job: sh -c with && and ||', sh('mkdir -p /data/out && cp /etc/passwd /data/out/ || echo "copy failed"')),
  job('busybox', 'busybox job: args with image CMD replaced by sh -c', { args: ['sh', '-c', 'echo $((6*7))'] }),
  { ...job('busybox', 'busybox cronjob: date', { command: ['/bin/sh', '-c', 'date; echo Hello from the Kubernetes cluster'] }), kind: 'CronJob' },
];

// ---- busybox-app (busybox + a layer of scripts, WORKDIR /app) ----
const busyboxApp: CorpusEntry[] = [
  long('busyboxApp', 'busybox-app: image CMD (a #!/bin/sh script)', {}),
  long('busyboxApp', 'busybox-app: ./run.sh in the image WORKDIR', { command: ['./run.sh'] }),
  long('busyboxApp', 'busybox-app: run.sh with workingDir /app', { command: ['./run.sh'], workingDir: '/app' }),
  long('busyboxApp', 'busybox-app: start.sh through PATH', { command: ['start.sh'] }),
  long('busyboxApp', 'busybox-app: start.sh with PATH in env', { command: ['start.sh'], env: [{ name: 'PATH', value: '/usr/local/bin:/bin' }, { name: 'APP_MODE', value: 'production' }] }),
  long('busyboxApp', 'busybox-app: sh start.sh', { command: ['sh', '/usr/local/bin/start.sh'] }),
  long('busyboxApp', 'busybox-app: sh -c exec start.sh', { command: ['sh', '-c', 'exec /usr/local/bin/start.sh'] }),
  long('busyboxApp', 'busybox-app: relative ../usr/local/bin/start.sh from /app', { command: ['../usr/local/bin/start.sh'] }),
  long('busyboxApp', 'busybox-app: runAsNonRoot uid 10001', { ...nonRoot(10001) }),
];

// ---- debian minbase ----
const minbaseJobs: Array<[string, string[]]> = [
  ['bash --version', ['bash', '--version']],
  ['cat os-release', ['cat', '/etc/os-release']],
  ['dpkg -l', ['dpkg', '-l']],
  ['apt-get --version', ['apt-get', '--version']],
  ['find', ['find', '/usr/share', '-maxdepth', '1']],
  ['grep', ['grep', '-r', 'bookworm', '/etc/apt']],
  ['sed', ['sed', '-n', '1p', '/etc/passwd']],
  ['tar', ['tar', '-czf', '/backup/etc.tgz', '/etc']],
  ['gzip', ['gzip', '-9', '/data/big.log']],
  ['sha256sum', ['sha256sum', '/etc/passwd']],
  ['/usr/bin/env', ['/usr/bin/env']],
  ['/bin/ls (usrmerge)', ['/bin/ls', '-la']],
  ['/bin/bash -c', ['/bin/bash', '-c', 'echo ${BASH_VERSION}']],
  ['dash -c', ['dash', '-c', 'echo $0']],
  ['getent', ['getent', 'passwd', 'root']],
  ['perl-base', ['perl', '-e', 'print "ok\\n"']],
  ['awk (mawk)', ['awk', 'BEGIN { print 42 }']],
  ['install', ['install', '-d', '-m', '0755', '/data/out']],
  ['chown', ['chown', '-R', '1000:1000', '/data']],
  ['sort | uniq in sh', ['sh', '-c', 'sort /etc/passwd | uniq | wc -l']],
];
const minbase: CorpusEntry[] = [
  pod('minbase', 'minbase: kubectl run -it (CMD bash with stdin and tty)', { stdin: true, tty: true }, { pod: { restartPolicy: 'Never' } }),
  long('minbase', 'minbase: sleep infinity', { command: ['sleep', 'infinity'] }),
  long('minbase', 'minbase: /bin/sleep (bin -> usr/bin)', { command: ['/bin/sleep', 'infinity'] }),
  long('minbase', 'minbase: /usr/bin/sleep', { command: ['/usr/bin/sleep', 'infinity'] }),
  long('minbase', 'minbase: /bin/sh -c loop (dash)', { command: ['/bin/sh', '-c', 'while true; do echo tick; sleep 5; done'] }),
  long('minbase', 'minbase: bash -c with arrays and [[ ]]', { command: ['bash', '-c', 'a=(1 2 3); while [[ ${#a[@]} -gt 0 ]]; do sleep 60; done'] }),
  long('minbase', 'minbase: /bin/bash -c trap', { command: ['/bin/bash', '-c', 'trap "exit 0" SIGTERM; sleep infinity & wait'] }),
  long('minbase', 'minbase: sh -c with trap and wait', sh('trap "kill $child; exit 0" TERM; sleep infinity & child=$!; wait "$child"')),
  long('minbase', 'minbase: tail -f /dev/null', { command: ['tail', '-f', '/dev/null'] }),
  { ...long('minbase', 'minbase: workingDir /usr/bin, ./sleep', { command: ['./sleep', 'infinity'], workingDir: '/usr/bin' }) },
  { ...long('minbase', 'minbase: workingDir /bin (a symlink), ./sleep', { command: ['./sleep', 'infinity'], workingDir: '/bin' }) },
  long('minbase', 'minbase: PATH in env', { command: ['sleep', 'infinity'], env: [{ name: 'PATH', value: '/usr/bin:/bin' }] }),
  long('minbase', 'minbase: PATH in env with /usr/sbin first', { command: ['sleep', 'infinity'], env: [{ name: 'PATH', value: '/usr/sbin:/usr/bin' }, { name: 'TZ', value: 'UTC' }] }),
  long('minbase', 'minbase: runAsNonRoot with runAsUser 1000', { command: ['sleep', 'infinity'], ...nonRoot(1000) }),
  long('minbase', 'minbase: pod runAsUser 65534 (nobody)', { command: ['sleep', 'infinity'] }, { pod: { securityContext: { runAsNonRoot: true, runAsUser: 65534 } } }),
  long('minbase', 'minbase: exec probe with test', { command: ['sleep', 'infinity'], readinessProbe: { exec: { command: ['test', '-e', '/etc/os-release'] } } }),
  long('minbase', 'minbase: exec probe /bin/sh -c', { command: ['sleep', 'infinity'], livenessProbe: { exec: { command: ['/bin/sh', '-c', 'pgrep sleep >/dev/null || [ -e /proc/1 ]'] } } }),
  long('minbase', 'minbase: bash entry with exec', { command: ['bash', '-c', 'echo starting; exec sleep infinity'] }),
  long('minbase', 'minbase: sh -c for loop over seq', sh('for i in $(seq 1 1000000); do sleep 1; done')),
  long('minbase', 'minbase: sh -c while read', sh('while true; do ls /etc | while read -r f; do :; done; sleep 30; done')),
  long('minbase', 'minbase: timeout wrapper', { command: ['timeout', '--signal=TERM', '86400', 'sleep', 'infinity'] }),
  long('minbase', 'minbase: nice + sleep', { command: ['nice', '-n', '10', 'sleep', 'infinity'] }),
  long('minbase', 'minbase: env -i', { command: ['env', '-i', 'PATH=/usr/bin', 'sleep', 'infinity'] }),
  long('minbase', 'minbase: sidecar init container (restartPolicy Always)', { command: ['sleep', 'infinity'] }, { init: [{ name: 'log-tail', restartPolicy: 'Always', command: ['tail', '-F', '/var/log/app.log'] }] }),
  pod('minbase', 'minbase: init container with bash script', { command: ['sleep', 'infinity'] }, { init: [{ name: 'setup', command: ['bash', '-c', 'set -euo pipefail; mkdir -p /data && echo ok > /data/ready'] }] }),
  ...minbaseJobs.map(([n, argv]) => job('minbase', `minbase job: ${n}`, { command: argv })),
  { ...job('minbase', 'minbase statefulset: sh loop', sh('while true; do date >> /data/log; sleep 60; done')), kind: 'StatefulSet' },
  { ...long('minbase', 'minbase daemonset: node agent loop', sh('while true; do cat /proc/loadavg; sleep 30; done')), kind: 'DaemonSet' },
];

// ---- python ----
const pythonJobs: Array<[string, string[]]> = [
  ['python3 --version', ['python3', '--version']],
  ['python3 -c print', ['python3', '-c', 'print("hello")']],
  ['python3 -m json.tool', ['python3', '-m', 'json.tool', '/data/in.json']],
  ['python3 -m zipfile', ['python3', '-m', 'zipfile', '-l', '/data/a.zip']],
  ['python3.11 -c', ['python3.11', '-c', 'import sys; print(sys.version)']],
  ['/usr/bin/python3 -c', ['/usr/bin/python3', '-c', 'import os; print(os.getcwd())']],
  ['/usr/bin/env python3', ['/usr/bin/env', 'python3', '-c', 'import this']],
  ['python3 -m compileall', ['python3', '-m', 'compileall', '-q', '/app']],
  ['python3 -m sqlite3? (stdlib sqlite3)', ['python3', '-c', 'import sqlite3; print(sqlite3.sqlite_version)']],
  ['python3 -m base64', ['python3', '-m', 'base64', '-d', '/data/in.b64']],
];
const python: CorpusEntry[] = [
  pod('python', 'python: kubectl run -it (CMD python3 with stdin and tty)', { stdin: true, tty: true }, { pod: { restartPolicy: 'Never' } }),
  long('python', 'python: python3 -m http.server', { command: ['python3', '-m', 'http.server', '8000'], ports: [{ name: 'http', containerPort: 8000 }], readinessProbe: { httpGet: { path: '/', port: 'http' } } }),
  long('python', 'python: args python3 -m http.server --bind', { args: ['python3', '-m', 'http.server', '--bind', '0.0.0.0', '8080'] }),
  long('python', 'python: /usr/bin/python3 -u -m http.server', { command: ['/usr/bin/python3', '-u', '-m', 'http.server', '8080'] }),
  long('python', 'python: /bin/python3 (usrmerge)', { command: ['/bin/python3', '-m', 'http.server'] }),
  long('python', 'python: python3.11 versioned name', { command: ['python3.11', '-m', 'http.server', '9000'] }),
  long('python', 'python: http.server in workingDir', { command: ['python3', '-m', 'http.server', '8000', '--directory', '.'], workingDir: '/srv' }),
  long('python', 'python: inline server with -c', { command: ['python3', '-c', 'import http.server as h; h.HTTPServer(("", 8080), h.SimpleHTTPRequestHandler).serve_forever()'] }),
  long('python', 'python: sleep loop with -c', { command: ['python3', '-c', 'import time\nwhile True:\n    time.sleep(60)'] }),
  long('python', 'python: sh -c exec python3', sh('echo "starting on ${PORT:-8000}"; exec python3 -m http.server "${PORT:-8000}"')),
  long('python', 'python: bash -c exec python3', { command: ['bash', '-c', 'exec python3 -m http.server 8000'] }),
  long('python', 'python: env python3 with PATH in env', { command: ['python3', '-m', 'http.server'], env: [{ name: 'PATH', value: '/usr/bin' }, { name: 'PYTHONUNBUFFERED', value: '1' }] }),
  long('python', 'python: runAsNonRoot uid 1000', { command: ['python3', '-m', 'http.server', '8080'], ...nonRoot(1000) }),
  long('python', 'python: exec probe python3 -c', { command: ['python3', '-m', 'http.server', '8080'], livenessProbe: { exec: { command: ['python3', '-c', 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:8080/")'] } } }),
  { ...long('python', 'python: relative python3 via workingDir /usr/bin', { command: ['./python3', '-m', 'http.server'], workingDir: '/usr/bin' }) },
  long('python', 'python: trap in sh with python child', sh('trap "kill -TERM $pid" TERM; python3 -m http.server & pid=$!; wait $pid')),
  ...pythonJobs.map(([n, argv]) => job('python', `python job: ${n}`, { command: argv })),
  // pydoc's documentation server: a long-running #!/usr/bin/python3.11 script behind a symlink.
  long('python', 'python: pydoc3 -p server (script behind pydoc3 -> pydoc3.11)', { command: ['pydoc3', '-n', '0.0.0.0', '-p', '8080'] }),
  // Debian's own scripts, every #! form they use: "#! /bin/sh" (a space), "#!/bin/sh -e",
  // "#!/bin/sh -" , trailing blanks, "#! /usr/bin/env python3", perl with -w, bash.
  ...(
    [
      ['savelog (#! /bin/sh)', ['savelog', '-c', '7', '/var/log/app.log']],
      ['add-shell (#!/bin/sh -e)', ['add-shell', '/bin/dash']],
      ['bashbug (#!/bin/sh -)', ['bashbug', '--version']],
      ['invoke-rc.d (#!/bin/sh + blanks)', ['invoke-rc.d', '--query', 'nginx', 'start']],
      ['pygettext3.11 (#! /usr/bin/env python3)', ['pygettext3.11', '--help']],
      ['py3clean (#! /usr/bin/python3)', ['py3clean', '/app']],
      ['pydoc3.11 (#!/usr/bin/python3.11)', ['pydoc3.11', 'json']],
      ['adduser (#! /usr/bin/perl)', ['adduser', '--system', '--no-create-home', 'app']],
      ['debconf-apt-progress (#!/usr/bin/perl -w)', ['debconf-apt-progress', '--help']],
      ['ldd (#!/bin/bash)', ['ldd', '/usr/bin/python3']],
      ['/usr/sbin/adduser by path', ['/usr/sbin/adduser', '--help']],
    ] as Array<[string, string[]]>
  ).map(([n, argv]) => job('python', `python job: Debian script ${n}`, { command: argv })),
];

// ---- nginx ----
const nginx: CorpusEntry[] = [
  long('nginx', 'nginx: image defaults (/docker-entrypoint.sh nginx -g daemon off;)', { ports: [{ name: 'http', containerPort: 80 }] }),
  long('nginx', "nginx: args nginx -g 'daemon off;'", { args: ['nginx', '-g', 'daemon off;'] }),
  long('nginx', "nginx: command nginx -g 'daemon off;'", { command: ['nginx', '-g', 'daemon off;'] }),
  long('nginx', 'nginx: /usr/sbin/nginx by path', { command: ['/usr/sbin/nginx', '-g', 'daemon off;'] }),
  long('nginx', 'nginx: /docker-entrypoint.sh explicitly', { command: ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;'] }),
  long('nginx', 'nginx: probes on port 80', {
    ports: [{ name: 'http', containerPort: 80 }],
    livenessProbe: { httpGet: { path: '/', port: 'http' }, initialDelaySeconds: 3 },
    readinessProbe: { tcpSocket: { port: 80 } },
  }),
  long('nginx', 'nginx: sh -c config test then exec', sh("nginx -t && exec nginx -g 'daemon off;'")),
  long('nginx', 'nginx: sh -c envsubst-free template with sed', sh("sed -i 's/listen 80/listen 8080/' /etc/nginx/sites-enabled/default; exec nginx -g 'daemon off;'")),
  long('nginx', 'nginx: reload loop sidecar style', sh("nginx; while sleep 3600; do nginx -s reload; done")),
  long('nginx', 'nginx: exec probe nginx -t', { livenessProbe: { exec: { command: ['nginx', '-t'] } } }),
  long('nginx', 'nginx: PATH in env', { args: ['nginx', '-g', 'daemon off;'], env: [{ name: 'PATH', value: '/usr/sbin:/usr/bin' }] }),
  long('nginx', 'nginx: workingDir /etc/nginx', { workingDir: '/etc/nginx' }),
  long('nginx', 'nginx: -c config path', { args: ['nginx', '-c', '/etc/nginx/nginx.conf', '-g', 'daemon off;'] }),
  job('nginx', 'nginx job: nginx -t', { command: ['nginx', '-t'] }),
  job('nginx', 'nginx job: nginx -V', { command: ['nginx', '-V'] }),
  pod('nginx', 'nginx: init container writes index.html (busybox image)', { ports: [{ containerPort: 80 }] }, { init: [{ name: 'content', image: 'busybox', command: ['sh', '-c', 'echo hello > /work/index.html'] }] }),
];

// ---- node ----
const serve = "require('http').createServer((q, s) => s.end('ok')).listen(3000)";
const node: CorpusEntry[] = [
  pod('node', 'node: kubectl run -it (REPL with stdin and tty)', { stdin: true, tty: true }, { pod: { restartPolicy: 'Never' } }),
  long('node', 'node: args node -e server (through docker-entrypoint.sh)', { args: ['node', '-e', serve] }),
  long('node', 'node: args -e server (entrypoint prepends node)', { args: ['-e', serve] }),
  long('node', 'node: command node -e', { command: ['node', '-e', serve] }),
  long('node', 'node: /usr/bin/node', { command: ['/usr/bin/node', '-e', serve] }),
  long('node', 'node: nodejs alias', { command: ['nodejs', '-e', serve] }),
  long('node', 'node: docker-entrypoint.sh by path', { command: ['/usr/local/bin/docker-entrypoint.sh', 'node', '-e', serve] }),
  long('node', 'node: runs as user node (uid 1000)', { args: ['node', '-e', serve], ...nonRoot(1000) }),
  long('node', 'node: workingDir /home/node', { args: ['node', '-e', serve], workingDir: '/home/node' }),
  long('node', 'node: sh -c exec node', sh(`cd /home/node && exec node -e "${serve}"`)),
  long('node', 'node: PATH in env', { command: ['node', '-e', serve], env: [{ name: 'PATH', value: '/usr/local/bin:/usr/bin:/bin' }, { name: 'NODE_ENV', value: 'production' }] }),
  long('node', 'node: probes', { args: ['node', '-e', serve], ports: [{ name: 'web', containerPort: 3000 }], readinessProbe: { httpGet: { path: '/', port: 'web' } }, livenessProbe: { exec: { command: ['node', '-e', 'process.exit(0)'] } } }),
  job('node', 'node job: node --version', { command: ['node', '--version'] }),
  job('node', 'node job: args --version through the entrypoint', { args: ['--version'] }),
  job('node', 'node job: node -p', { command: ['node', '-p', 'process.versions'] }),
];

// ---- static-nonroot (distroless shape) ----
const staticNonroot: CorpusEntry[] = [
  long('staticNonroot', 'static-nonroot: image defaults (ENTRYPOINT /catatonit -P, USER 65532)', {}),
  long('staticNonroot', 'static-nonroot: runAsNonRoot from the numeric USER', { securityContext: { runAsNonRoot: true } }),
  long('staticNonroot', 'static-nonroot: pod runAsNonRoot, readOnlyRootFilesystem', { securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false } }, { pod: { securityContext: { runAsNonRoot: true } } }),
  long('staticNonroot', 'static-nonroot: runAsUser 65532 explicit', { ...nonRoot(65532) }),
  long('staticNonroot', 'static-nonroot: command /catatonit -P', { command: ['/catatonit', '-P'] }),
  long('staticNonroot', 'static-nonroot: args replace CMD only', { args: ['-P'] }),
  long('staticNonroot', 'static-nonroot: PATH=/ in env, bare name', { command: ['catatonit', '-P'], env: [{ name: 'PATH', value: '/' }] }),
  long('staticNonroot', 'static-nonroot: relative ../catatonit from WORKDIR /home/nonroot', { command: ['../../catatonit', '-P'] }),
  { ...long('staticNonroot', 'static-nonroot: workingDir / and ./catatonit', { command: ['./catatonit', '-P'], workingDir: '/' }) },
];

// ---- slimmed (a package removed in the second layer) ----
const slimmed: CorpusEntry[] = [
  long('slimmed', 'slimmed: sleep infinity', { command: ['sleep', 'infinity'] }),
  long('slimmed', 'slimmed: bash loop', { command: ['bash', '-c', 'while true; do date; sleep 60; done'] }),
  long('slimmed', 'slimmed: the new script in the opaque /opt/tools', { command: ['/opt/tools/report.sh'] }),
  { ...long('slimmed', 'slimmed: report.sh with workingDir /opt/tools', { command: ['./report.sh'], workingDir: '/opt/tools' }) },
  long('slimmed', 'slimmed: sh -c loop reading /proc without ps', sh('while :; do ls /proc | grep -c "^[0-9]"; sleep 60; done')),
  job('slimmed', 'slimmed job: dpkg -l', { command: ['dpkg', '-l'] }),
  job('slimmed', 'slimmed job: /usr/bin/env', { command: ['/usr/bin/env'] }),
];

// ---- how Helm charts and operators write commands ----
const downward = [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }];
const charts: CorpusEntry[] = [
  long('busybox', 'chart: command sh -c, script in args', { command: ['/bin/sh', '-c'], args: ['while true; do echo hello; sleep 10; done'] }),
  long('minbase', 'chart: sh -ec combined flags', { command: ['sh', '-ec', 'echo configuring; exec sleep infinity'] }),
  long('minbase', 'chart: sh -xc', { command: ['/bin/sh', '-xc', 'exec tail -f /dev/null'] }),
  long('minbase', 'chart: bash -c --', { command: ['/bin/bash', '-c', '--', 'while true; do sleep 30; done;'] }),
  long('minbase', 'chart: bash -lc', { command: ['bash', '-lc', 'exec sleep infinity'] }),
  long('minbase', 'chart: bash -euo pipefail -c', { command: ['bash', '-euo', 'pipefail', '-c', 'ls /etc | wc -l; exec sleep infinity'] }),
  long('busybox', 'chart: sh -c with $0 and positional args', { command: ['sh', '-c', 'echo "$0 started with $1"; exec sleep "$2"', 'worker', 'blue', 'infinity'] }),
  long('busybox', 'chart: kubelet $(VAR) expansion in the script', { command: ['sh', '-c', 'echo $(POD_NAME) starting; exec sleep infinity'], env: downward }),
  long('busybox', 'chart: kubelet $(VAR) expansion in args', { command: ['sleep'], args: ['$(DELAY)'], env: [{ name: 'DELAY', value: 'infinity' }] }),
  long('minbase', 'chart: heredoc config then exec', sh("cat > /tmp/app.conf <<'EOF'\nport=8080\nEOF\nexec sleep infinity")),
  long('minbase', 'chart: preStop hook and terminationGracePeriod', { command: ['sleep', 'infinity'], lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', 'sleep 5'] } } } }, { pod: { terminationGracePeriodSeconds: 30 } }),
  long('busybox', 'chart: stdin-attached shell (kubectl attach)', { command: ['sh'], stdin: true, tty: true }),
  long('python', 'chart: PYTHONPATH and -m module', { command: ['python3', '-m', 'http.server'], env: [{ name: 'PYTHONPATH', value: '/app' }], workingDir: '/app' }),
  long('nginx', 'chart: readiness exec with sh and test', { readinessProbe: { exec: { command: ['/bin/sh', '-c', 'test -e /run/nginx.pid'] } } }),
  long('busybox', 'chart: sidecar that waits for the main container with trap', sh('trap : TERM INT; sleep infinity & wait')),
  long('node', 'chart: node with --max-old-space-size and NODE_OPTIONS', { args: ['node', '--max-old-space-size=256', '-e', "setInterval(() => {}, 1 << 30)"], env: [{ name: 'NODE_OPTIONS', value: '--enable-source-maps' }] }),
  long('staticNonroot', 'chart: distroless with resources and a tcp probe', { resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } }, ports: [{ name: 'metrics', containerPort: 9090 }], livenessProbe: { tcpSocket: { port: 'metrics' } } }),
];

export const CORPUS: CorpusEntry[] = [...charts, ...busybox, ...busyboxApp, ...minbase, ...python, ...nginx, ...node, ...staticNonroot, ...slimmed];

/** The true failures: each must be denied by `check`. */
export const FAILURES: FailureEntry[] = [
  { ...long('minbase', 'minbase: set -o pipefail in sh -c (dash)', sh('set -eu -o pipefail; ls /etc | wc -l; exec sleep infinity')), check: 'shell-script', expect: 'likely' },
  { ...long('busybox', 'busybox: bash -c', { command: ['bash', '-c', 'while true; do sleep 1; done'] }), check: 'executable-present' },
  { ...long('busybox', 'busybox: /bin/bash by path', { command: ['/bin/bash', '-c', 'sleep infinity'] }), check: 'executable-present' },
  { ...long('busybox', 'busybox: exec probe with bash', { command: ['sleep', 'infinity'], livenessProbe: { exec: { command: ['bash', '-c', 'true'] } } }), check: 'probes' },
  { ...long('staticNonroot', 'static-nonroot: bash -c', { command: ['bash', '-c', 'while true; do sleep 1; done'] }), check: 'executable-present' },
  { ...long('staticNonroot', 'static-nonroot: sh -c', { command: ['sh', '-c', 'sleep infinity'] }), check: 'executable-present' },
  { ...long('staticNonroot', 'static-nonroot: /bin/sh -c', { command: ['/bin/sh', '-c', 'sleep infinity'] }), check: 'executable-present' },
  { ...long('staticNonroot', 'static-nonroot: catatonit without PATH', { command: ['catatonit', '-P'] }), check: 'executable-present' },
  { ...long('python', 'python: python (not python3)', { command: ['python', '-m', 'http.server'] }), check: 'executable-present' },
  { ...long('python', 'python: args python (no ENTRYPOINT, args[0] runs)', { args: ['python', 'app.py'] }), check: 'executable-present' },
  { ...long('python', 'python: /usr/local/bin/python (the official image path)', { command: ['/usr/local/bin/python', '-m', 'http.server'] }), check: 'executable-present' },
  { ...long('busyboxApp', 'busybox-app: #!/bin/bash script on busybox', { command: ['/usr/local/bin/bash-entrypoint.sh'] }), check: 'executable-present' },
  { ...long('busyboxApp', 'busybox-app: #!/bin/bash script found through PATH', { command: ['bash-entrypoint.sh', 'sleep', 'infinity'] }), check: 'executable-present' },
  { ...long('slimmed', 'slimmed: ps removed by the second layer (whiteout)', { command: ['ps', 'aux'] }), check: 'executable-present' },
  { ...long('slimmed', 'slimmed: /usr/bin/top removed (whiteout)', { command: ['/usr/bin/top', '-b'] }), check: 'executable-present' },
  { ...long('slimmed', 'slimmed: script hidden by the opaque /opt/tools', { command: ['/opt/tools/ps-report.sh'] }), check: 'executable-present' },
  { ...long('minbase', 'minbase: runAsNonRoot without runAsUser (root image)', { command: ['sleep', 'infinity'], securityContext: { runAsNonRoot: true } }), check: 'run-as-non-root' },
  { ...long('python', 'python: pod-level runAsNonRoot, image root', { command: ['python3', '-m', 'http.server'] }, { pod: { securityContext: { runAsNonRoot: true } } }), check: 'run-as-non-root' },
  { ...long('nginx', 'nginx: runAsNonRoot on the root nginx image', { securityContext: { runAsNonRoot: true } }), check: 'run-as-non-root' },
];
