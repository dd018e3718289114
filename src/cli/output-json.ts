// `--output json`: the report as one JSON document, described by schemas/check-output.schema.json
// (published with the package; test/cli/output-json.test.ts validates real runs against it).
// Field names stay stable within schemaVersion 1; new fields may be added.
import { VERSION } from '../version.js';
import type { CheckReport, FailOn } from './check.js';

export const JSON_SCHEMA_VERSION = 1;

export function jsonOutput(report: CheckReport, failOn: FailOn, exitCode: number): string {
  return `${JSON.stringify(
    {
      schemaVersion: JSON_SCHEMA_VERSION,
      tool: { name: 'backoff-guard', version: VERSION },
      summary: { ...report.summary, failOn, exitCode },
      objects: report.objects,
      findings: report.findings,
      errors: report.errors,
    },
    null,
    2,
  )}\n`;
}
