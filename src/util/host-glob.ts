// Host patterns as the kubelet's keyring matches them (pkg/credentialprovider/keyring.go,
// URLsMatch): the same number of dot-separated labels, each label a glob (`*` within one label
// only), and the port, when the pattern has one, equal. `*.gcr.io` matches `eu.gcr.io` but not
// `gcr.io` nor `a.b.gcr.io`.

function globLabel(pattern: string, label: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^.]*')}$`, 'i');
  return re.test(label);
}

function splitPort(host: string): [string, string | undefined] {
  const m = /^(.*?)(?::(\d+))?$/.exec(host)!;
  return [m[1]!, m[2]];
}

export function hostMatches(pattern: string, host: string): boolean {
  const [pHost, pPort] = splitPort(pattern.toLowerCase());
  const [hHost, hPort] = splitPort(host.toLowerCase());
  if (pPort !== hPort) return false;
  const pLabels = pHost.split('.');
  const hLabels = hHost.split('.');
  if (pLabels.length !== hLabels.length) return false;
  return pLabels.every((p, i) => globLabel(p, hLabels[i]!));
}

export function matchesAny(patterns: readonly string[], host: string): boolean {
  return patterns.some((p) => hostMatches(p, host));
}
