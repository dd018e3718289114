// `check -k DIR`: the manifests a kustomize directory builds, as `kubectl apply -k DIR` would send
// them (images: rewrites, name prefixes, patches applied), through `kubectl kustomize DIR`
// (kustomize is built into kubectl since 1.14). Checking the raw files instead would look up
// the local image names that `images:` replaces.
import { execFile } from 'node:child_process';
import { parseManifests, type ManifestDoc, type ManifestError } from './manifests.js';

/** Rendered output above this is refused rather than held in memory. */
const MAX_OUTPUT = 64 * 1024 * 1024;

function firstLines(text: string, n = 5): string {
  return text.trim().split('\n').slice(0, n).join(' / ');
}

export function renderKustomize(dir: string, kubectl = 'kubectl'): Promise<{ docs: ManifestDoc[]; errors: ManifestError[] }> {
  const input = `kubectl kustomize ${dir}`;
  return new Promise((resolve) => {
    execFile(kubectl, ['kustomize', dir], { maxBuffer: MAX_OUTPUT, encoding: 'utf8', windowsHide: true }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException & { code?: string | number };
        let message: string;
        if (e.code === 'ENOENT') {
          message = `${kubectl} is not on PATH: -k renders the directory with "kubectl kustomize"; install kubectl, or render it yourself: kustomize build ${dir} | backoff-guard check -f -`;
        } else if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
          message = `the rendered output is larger than ${MAX_OUTPUT / 1024 / 1024} MiB`;
        } else {
          message = `kubectl kustomize failed (exit ${typeof e.code === 'number' ? e.code : (e.code ?? '?')}): ${firstLines(stderr) || e.message}`;
        }
        resolve({ docs: [], errors: [{ source: input, message }] });
        return;
      }
      resolve(parseManifests(stdout, input));
    });
  });
}
