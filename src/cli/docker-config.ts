// `backoff-guard check --docker-config FILE`: a docker CLI config (~/.docker/config.json, or a
// pull secret's .dockerconfigjson) used as the pull credentials of every checked object,
// matched to each image by the kubelet's keyring rules.
import { readFileSync } from 'node:fs';
import type { PullSecrets } from '../checks/ports.js';
import { DockerConfigError, parseDockerConfigFile } from '../credentials/docker-config.js';
import { Keyring } from '../credentials/keyring.js';
import { DockerConfigPullSecrets } from '../facts/pull-secrets.js';

export function readDockerConfigForCheck(path: string): { pullSecrets: PullSecrets; notes: string[] } | { error: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { error: `${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  let parsed;
  try {
    parsed = parseDockerConfigFile(text);
  } catch (err) {
    if (err instanceof DockerConfigError) return { error: `${path} ${err.reason}` };
    throw err;
  }
  const keyring = new Keyring();
  const ignored = keyring.add({ kind: 'file', path }, parsed.entries);
  const notes: string[] = [];
  if (parsed.entries.length === 0) notes.push('has no auths entries: registries are asked anonymously');
  for (const key of ignored) notes.push(`key ${JSON.stringify(key)} is not a valid registry address and is ignored, as the kubelet does`);
  if (parsed.extras.credsStore) notes.push(`credsStore ${JSON.stringify(parsed.extras.credsStore)} is not used (the kubelet reads auths only)`);
  if (parsed.extras.credHelpers.length) notes.push(`credHelpers for ${parsed.extras.credHelpers.join(', ')} are not used (the kubelet reads auths only)`);
  return { pullSecrets: new DockerConfigPullSecrets(path, keyring), notes };
}
