// Docker config parsing, as the kubelet reads pull secrets (pkg/credentialprovider/config.go,
// pkg/credentialprovider/secrets/secrets.go). Pure: bytes in, entries or a reason out.
//
// Formats:
//   kubernetes.io/dockerconfigjson, key .dockerconfigjson, and ~/.docker/config.json:
//       {"auths": {"<key>": {"username", "password", "email", "auth", "identitytoken", "registrytoken"}}}
//   kubernetes.io/dockercfg, key .dockercfg (the pre-1.7 docker format): {"<key>": {...}}
//
// Decoding follows Go's encoding/json as the kubelet uses it, because a difference here is a
// difference in what the node does:
//   - object member names match struct fields case-insensitively ("Auths", "USERNAME"), the
//     last matching member wins, unknown members are ignored;
//   - a JSON null leaves a field unset; a value of the wrong type (a number for "username",
//     a string for "auths") is an error, and so is any other malformed JSON;
//   - `auth` is base64 of "user:password": padded input (ending in "=") is decoded with
//     StdEncoding, anything else with RawStdEncoding; '\r' and '\n' are skipped; no ':' in
//     the decoded text is an error ("unable to parse auth field, must be formatted as
//     base64(username:password)"); `auth` wins over username/password.
// An error in any entry fails the whole secret: the kubelet's MakeDockerKeyring returns the
// error and the pull fails with it.
//
// `identitytoken` and `registrytoken` (what `docker login` stores for OAuth2 registries) are
// read too: the kubelet's DockerConfigEntry drops them, docker and containerd honour them.
// Secret values never appear in a DockerConfigError message: only keys and field names do.

export interface Credential {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (`identitytoken`). */
  identityToken?: string;
  /** A bearer token for the registry itself (`registrytoken`). */
  registryToken?: string;
}

export interface DockerConfigEntry {
  /** The key exactly as written in the config ("https://index.docker.io/v1/", "quay.io/team"). */
  key: string;
  credential: Credential;
}

export type DockerConfigFormat = 'dockerconfigjson' | 'dockercfg';

export class DockerConfigError extends Error {
  readonly code = 'INVALID_DOCKER_CONFIG';
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'DockerConfigError';
  }
}

/** What a config.json carries besides `auths` that the kubelet ignores (worth telling the user). */
export interface DockerConfigExtras {
  credHelpers: string[];
  credsStore?: string;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * JSON.parse keeps the last of duplicate members, as Go does; Go also accepts what JSON.parse
 * accepts, with one difference that does not matter here (lone surrogates).
 */
function parseJson(bytes: Buffer | string): Json {
  const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw new DockerConfigError('is not valid JSON');
  }
}

function isObject(v: Json | undefined): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonType(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

// Go's encoding/json folds case with bytes.EqualFold plus the special folds of 'k' (KELVIN SIGN)
// and 's' (LONG S); field names here are ASCII, so lower-casing both sides is the same test
// except for those two runes, which we fold explicitly.
function fold(s: string): string {
  return s.replace(/\u212a/g, 'k').replace(/\u017f/g, 's').toLowerCase();
}

/** Members of `obj` matching `field` as Go would, last one winning; undefined when none. */
function member(obj: { [k: string]: Json }, field: string): Json | undefined {
  let found: Json | undefined;
  const f = fold(field);
  for (const [k, v] of Object.entries(obj)) if (k === field || fold(k) === f) found = v;
  return found;
}

function stringField(obj: { [k: string]: Json }, field: string, where: string): string | undefined {
  const v = member(obj, field);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new DockerConfigError(`${where}.${field} is a ${jsonType(v)}, not a string`);
  return v;
}

const B64_CHARS = /^[A-Za-z0-9+/]*$/;

/** Go's base64 StdEncoding / RawStdEncoding DecodeString (non-strict: trailing bits ignored). */
function goBase64(field: string, padded: boolean): Buffer | undefined {
  const s = field.replace(/[\r\n]/g, '');
  if (padded) {
    if (s.length % 4 !== 0) return undefined;
    const m = /^([A-Za-z0-9+/]*?)(={0,2})$/.exec(s);
    if (!m) return undefined;
    const body = m[1]!;
    const pad = m[2]!.length;
    if ((body.length + pad) % 4 !== 0 || (pad > 0 && body.length % 4 === 0)) return undefined;
    if (pad === 1 && body.length % 4 !== 3) return undefined;
    if (pad === 2 && body.length % 4 !== 2) return undefined;
    return Buffer.from(body, 'base64');
  }
  if (!B64_CHARS.test(s) || s.length % 4 === 1) return undefined;
  return Buffer.from(s, 'base64');
}

/** config.go decodeDockerConfigFieldAuth. */
export function decodeAuthField(field: string): { username: string; password: string } | { error: string } {
  const decoded = goBase64(field, field.trim().endsWith('='));
  if (!decoded) return { error: 'is not valid base64' };
  const text = decoded.toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return { error: 'unable to parse auth field, must be formatted as base64(username:password)' };
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

function entryFrom(key: string, v: Json, where: string): DockerConfigEntry {
  const at = `${where}[${JSON.stringify(key)}]`;
  if (v === null) return { key, credential: {} };
  if (!isObject(v)) throw new DockerConfigError(`${at} is a ${jsonType(v)}, not an object`);
  const username = stringField(v, 'username', at);
  const password = stringField(v, 'password', at);
  stringField(v, 'email', at);
  const auth = stringField(v, 'auth', at);
  // Not fields of the kubelet's struct: a value of another type is ignored there, so here too.
  const loose = (field: string): string | undefined => {
    const x = member(v, field);
    return typeof x === 'string' ? x : undefined;
  };
  const identityToken = loose('identitytoken');
  const registryToken = loose('registrytoken');
  const credential: Credential = {};
  if (username !== undefined && username !== '') credential.username = username;
  if (password !== undefined && password !== '') credential.password = password;
  if (auth !== undefined && auth !== '') {
    const decoded = decodeAuthField(auth);
    if ('error' in decoded) throw new DockerConfigError(`${at}.auth ${decoded.error}`);
    delete credential.username;
    delete credential.password;
    if (decoded.username !== '') credential.username = decoded.username;
    if (decoded.password !== '') credential.password = decoded.password;
  }
  if (identityToken) credential.identityToken = identityToken;
  if (registryToken) credential.registryToken = registryToken;
  return { key, credential };
}

function entriesOf(map: Json | undefined, where: string): DockerConfigEntry[] {
  if (map === undefined || map === null) return [];
  if (!isObject(map)) throw new DockerConfigError(`${where} is a ${jsonType(map)}, not an object`);
  return Object.entries(map).map(([key, v]) => entryFrom(key, v, where));
}

/** `.dockerconfigjson` / config.json: the `auths` map. @throws DockerConfigError */
export function parseDockerConfigJson(bytes: Buffer | string): DockerConfigEntry[] {
  const doc = parseJson(bytes);
  if (doc === null) return [];
  if (!isObject(doc)) throw new DockerConfigError(`is a JSON ${jsonType(doc)}, not an object`);
  const headers = member(doc, 'HttpHeaders');
  if (headers !== undefined && headers !== null) {
    if (!isObject(headers)) throw new DockerConfigError(`HttpHeaders is a ${jsonType(headers)}, not an object`);
    for (const [k, v] of Object.entries(headers)) {
      if (v !== null && typeof v !== 'string') throw new DockerConfigError(`HttpHeaders[${JSON.stringify(k)}] is a ${jsonType(v)}, not a string`);
    }
  }
  return entriesOf(member(doc, 'auths'), 'auths');
}

/** `.dockercfg`: the map itself. @throws DockerConfigError */
export function parseDockercfg(bytes: Buffer | string): DockerConfigEntry[] {
  const doc = parseJson(bytes);
  return entriesOf(doc, 'dockercfg');
}

/** A docker CLI config file: `auths`, and what the kubelet ignores (credHelpers, credsStore). */
export function parseDockerConfigFile(text: string): { entries: DockerConfigEntry[]; extras: DockerConfigExtras } {
  const entries = parseDockerConfigJson(text);
  const doc = parseJson(text);
  const extras: DockerConfigExtras = { credHelpers: [] };
  if (isObject(doc)) {
    const helpers = doc['credHelpers'];
    if (isObject(helpers)) extras.credHelpers = Object.keys(helpers);
    const store = doc['credsStore'];
    if (typeof store === 'string' && store !== '') extras.credsStore = store;
  }
  return { entries, extras };
}

export const SECRET_TYPE_DOCKER_CONFIG_JSON = 'kubernetes.io/dockerconfigjson';
export const SECRET_TYPE_DOCKERCFG = 'kubernetes.io/dockercfg';
export const DOCKER_CONFIG_JSON_KEY = '.dockerconfigjson';
export const DOCKERCFG_KEY = '.dockercfg';

/** A Secret as the parser needs it: its type and decoded data. */
export interface SecretData {
  type?: string;
  /** Values already base64-decoded (the API's `data` is base64 on the wire). */
  data: Record<string, Buffer>;
}

export type SecretParse =
  | { status: 'ok'; format: DockerConfigFormat; entries: DockerConfigEntry[] }
  /** Not a pull secret the kubelet uses (wrong type, or the type's key missing or empty): skipped. */
  | { status: 'ignored'; reason: string }
  /** The kubelet fails the pull: MakeDockerKeyring returns the JSON error. */
  | { status: 'invalid'; reason: string };

/** secrets.go secretsToTrackedDockerConfigs, for one secret. */
export function parsePullSecret(secret: SecretData): SecretParse {
  const json = secret.data[DOCKER_CONFIG_JSON_KEY];
  if (secret.type === SECRET_TYPE_DOCKER_CONFIG_JSON && json !== undefined && json.length > 0) {
    try {
      return { status: 'ok', format: 'dockerconfigjson', entries: parseDockerConfigJson(json) };
    } catch (err) {
      if (err instanceof DockerConfigError) return { status: 'invalid', reason: `${DOCKER_CONFIG_JSON_KEY} ${err.reason}` };
      throw err;
    }
  }
  const cfg = secret.data[DOCKERCFG_KEY];
  if (secret.type === SECRET_TYPE_DOCKERCFG && cfg !== undefined && cfg.length > 0) {
    try {
      return { status: 'ok', format: 'dockercfg', entries: parseDockercfg(cfg) };
    } catch (err) {
      if (err instanceof DockerConfigError) return { status: 'invalid', reason: `${DOCKERCFG_KEY} ${err.reason}` };
      throw err;
    }
  }
  if (secret.type === SECRET_TYPE_DOCKER_CONFIG_JSON) return { status: 'ignored', reason: `it has no ${DOCKER_CONFIG_JSON_KEY} data` };
  if (secret.type === SECRET_TYPE_DOCKERCFG) return { status: 'ignored', reason: `it has no ${DOCKERCFG_KEY} data` };
  return {
    status: 'ignored',
    reason: `it is of type ${secret.type ? JSON.stringify(secret.type) : '(none)'}, not ${SECRET_TYPE_DOCKER_CONFIG_JSON} or ${SECRET_TYPE_DOCKERCFG}`,
  };
}
