// `--output sarif`: SARIF 2.1.0 (OASIS, https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html),
// what GitHub code scanning uploads (github/codeql-action/upload-sarif) and most CI dashboards read.
// - rules: every check (id, description), so a result's ruleIndex points into driver.rules (§3.27.7);
// - results: level error for deny, warning for warning (§3.27.10), a physicalLocation with the
//   container's line and column when the input is a file on disk (§3.28.3, §3.30), and a
//   logicalLocation naming the object and container, which is all there is for standard input;
// - artifact URIs are relative to %SRCROOT% (the working directory), as GitHub expects paths
//   relative to the repository root; columns count UTF-16 code units, as the yaml parser does.
// Validated in test/cli/output-sarif.test.ts against the SARIF 2.1.0 schema and Microsoft's
// SARIF Multitool.
import { isAbsolute, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Check } from '../checks/types.js';
import { VERSION } from '../version.js';
import type { CheckReport, FindingRecord } from './check.js';

const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

/** A SARIF message is plain text and should end with a period (Multitool rule SARIF2001). */
function sentence(text: string): string {
  const t = text.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/**
 * "image-exists" -> { name: "ImageExists" } (rule names are identifiers, §3.49.7); none when it
 * would only differ from the id in case, as the Multitool (SARIF1001) wants name and id to differ.
 */
function ruleName(id: string): { name?: string } {
  const name = id.replace(/(^|[^a-zA-Z0-9]+)([a-zA-Z0-9])/g, (_, _sep: string, c: string) => c.toUpperCase());
  return name.toLowerCase() === id.toLowerCase() ? {} : { name };
}

/** Relative URI reference for a path under `root`, else an absolute file: URI. */
export function artifactUri(file: string, root: string): { uri: string; uriBaseId?: string } {
  const rel = relative(root, file);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return { uri: pathToFileURL(file).href };
  return { uri: rel.split(sep).map(encodeURIComponent).join('/'), uriBaseId: '%SRCROOT%' };
}

function resultText(f: FindingRecord): string {
  return sentence(`container ${JSON.stringify(f.container)} of ${f.kind}/${f.name}: ${f.message}${f.fix !== null ? `; fix: ${f.fix}` : ''}`);
}

export function sarifOutput(report: CheckReport, checks: readonly Pick<Check, 'id' | 'description'>[], root: string): string {
  const rules = checks.map((c) => ({
    id: c.id,
    ...ruleName(c.id),
    shortDescription: { text: sentence(c.description) },
    fullDescription: { text: sentence(c.description) },
    help: {
      text: sentence(
        `${c.description.replace(/\.$/, '')}. A result of level error is what the backoff-guard webhook denies in enforce mode (the pod is certain to fail this way); ` +
          `a warning is admitted with a warning (likely to fail, or could not be checked). The result's message says what to change`,
      ),
    },
    defaultConfiguration: { level: 'error' },
  }));
  const index = new Map(rules.map((r, i) => [r.id, i]));
  for (const f of report.findings) {
    if (index.has(f.checkId)) continue;
    // A finding from a check that is not in the list given (should not happen): still a valid rule.
    index.set(f.checkId, rules.length);
    rules.push({
      id: f.checkId,
      ...ruleName(f.checkId),
      shortDescription: { text: sentence(`backoff-guard check ${f.checkId}`) },
      fullDescription: { text: sentence(`backoff-guard check ${f.checkId}`) },
      help: { text: sentence(`See the result's message for what to change`) },
      defaultConfiguration: { level: 'error' },
    });
  }
  const results = report.findings.map((f) => {
    const logical = {
      name: f.container,
      fullyQualifiedName: `${f.kind}/${f.namespace !== null ? `${f.namespace}/` : ''}${f.name}/${f.container}`,
      kind: 'object',
    };
    const physical =
      f.file !== null
        ? {
            physicalLocation: {
              artifactLocation: artifactUri(f.file, root),
              ...(f.line !== null ? { region: { startLine: f.line, ...(f.column !== null ? { startColumn: f.column } : {}) } } : {}),
            },
          }
        : {};
    return {
      ruleId: f.checkId,
      ruleIndex: index.get(f.checkId)!,
      level: f.verdict === 'deny' ? 'error' : 'warning',
      message: { text: resultText(f) },
      locations: [{ ...physical, logicalLocations: [logical] }],
      properties: {
        verdict: f.verdict,
        certainty: f.certainty,
        fix: f.fix,
        input: f.input,
        document: f.document,
        ...(f.template !== null ? { template: f.template } : {}),
      },
    };
  });
  const log = {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'backoff-guard', version: VERSION, semanticVersion: VERSION, rules } },
        originalUriBaseIds: { '%SRCROOT%': { uri: `${pathToFileURL(root).href.replace(/\/?$/, '/')}` } },
        columnKind: 'utf16CodeUnits',
        invocations: [
          {
            executionSuccessful: report.errors.length === 0,
            toolExecutionNotifications: report.errors.map((e) => ({ level: 'error', message: { text: sentence(`${e.source}: ${e.message}`) } })),
          },
        ],
        results,
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
