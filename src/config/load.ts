// Loads the configuration: built-in defaults <- one YAML/JSON file <- environment overrides.
// The result is validated by the JSON schema and frozen; anything wrong is a ConfigError that
// names the field, and the process refuses to start.
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
  constructor(
    message: string,
    readonly field?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Environment variables that override a single key. The variable names are the documented interface. */
export const ENV_OVERRIDES: Readonly<Record<string, { path: string; type: 'string' | 'integer' | 'boolean' | 'list' }>> = {
  BACKOFF_GUARD_HOST: { path: 'server.host', type: 'string' },
  BACKOFF_GUARD_PORT: { path: 'server.port', type: 'integer' },
  BACKOFF_GUARD_TLS_CERT_FILE: { path: 'server.tls.certFile', type: 'string' },
  BACKOFF_GUARD_TLS_KEY_FILE: { path: 'server.tls.keyFile', type: 'string' },
  BACKOFF_GUARD_TLS_GENERATE: { path: 'server.tls.generateDevCertificates', type: 'boolean' },
  BACKOFF_GUARD_MODE: { path: 'admission.defaultMode', type: 'string' },
  BACKOFF_GUARD_BUDGET_MS: { path: 'admission.budgetMs', type: 'integer' },
  BACKOFF_GUARD_FAIL_OPEN: { path: 'admission.failOpen', type: 'boolean' },
  BACKOFF_GUARD_EXEMPT_NAMESPACES: { path: 'admission.exemptNamespaces', type: 'list' },
  BACKOFF_GUARD_REGISTRY_TIMEOUT_MS: { path: 'registry.timeoutMs', type: 'integer' },
  BACKOFF_GUARD_NODE_DOCKER_CONFIG: { path: 'registry.nodeDockerConfig', type: 'string' },
  BACKOFF_GUARD_KUBERNETES: { path: 'kubernetes.enabled', type: 'string' },
  BACKOFF_GUARD_KUBECONFIG: { path: 'kubernetes.kubeconfig', type: 'string' },
  BACKOFF_GUARD_LOG_LEVEL: { path: 'log.level', type: 'string' },
  BACKOFF_GUARD_SHARED_CACHE_URL: { path: 'sharedCache.url', type: 'string' },
};

const ajv = new Ajv({ allErrors: false, useDefaults: true, strict: true });
const validate = ajv.compile<Config>(configSchema);

function fieldOf(e: ErrorObject): string {
  const base = e.instancePath.replace(/^\//, '').split('/').filter(Boolean).join('.');
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    return base ? `${base}.${extra}` : extra;
  }
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty;
    return base ? `${base}.${missing}` : missing;
  }
  return base || '(root)';
}

function describe(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') return 'is not a known setting';
  if (e.keyword === 'enum') return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  return e.message ?? 'is invalid';
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function convertEnv(name: string, raw: string, type: 'string' | 'integer' | 'boolean' | 'list', path: string): unknown {
  switch (type) {
    case 'string':
      return raw;
    case 'integer':
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${name}=${JSON.stringify(raw)}: ${path} must be an integer`, path);
      return Number(raw.trim());
    case 'boolean':
      if (/^(true|1|yes)$/i.test(raw.trim())) return true;
      if (/^(false|0|no)$/i.test(raw.trim())) return false;
      throw new ConfigError(`${name}=${JSON.stringify(raw)}: ${path} must be true or false`, path);
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export interface LoadOptions {
  /** Path of a YAML or JSON file. */
  file?: string;
  /** Environment (only the BACKOFF_GUARD_* keys are read). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Programmatic overrides applied last, as dotted paths (`{'server.port': 0}`). */
  overrides?: Record<string, unknown>;
  /** An already parsed document (tests, embedding). */
  document?: unknown;
}

/** Parses, applies overrides, validates and freezes. Throws ConfigError naming the field. */
export function loadConfig(opts: LoadOptions = {}): Config {
  let doc: unknown = opts.document ?? {};
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${opts.file}: ${(err as Error).message}`, undefined, { cause: err });
    }
    try {
      doc = parseYaml(text) ?? {};
    } catch (err) {
      throw new ConfigError(`config file ${opts.file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, undefined, { cause: err });
    }
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ConfigError('config must be a mapping of settings (server, admission, registry, cache, sharedCache, kubernetes, inspect, log)', '(root)');
  }
  const merged = structuredClone(doc) as Record<string, unknown>;
  for (const [name, spec] of Object.entries(ENV_OVERRIDES)) {
    const raw = opts.env?.[name];
    if (raw === undefined || raw === '') continue;
    setPath(merged, spec.path, convertEnv(name, raw, spec.type, spec.path));
  }
  for (const [path, value] of Object.entries(opts.overrides ?? {})) {
    if (value !== undefined) setPath(merged, path, value);
  }
  if (!validate(merged)) {
    const e = validate.errors![0]!;
    const field = fieldOf(e);
    throw new ConfigError(`invalid config: ${field} ${describe(e)}`, field);
  }
  const config = merged as unknown as Config;
  return deepFreeze(config);
}
