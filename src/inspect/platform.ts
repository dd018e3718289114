// Which manifest of an index a node pulls, as containerd decides it (containerd platforms
// package: Normalize, Only/platformVector; CRI pulls with platforms.Default(), i.e. Only(the
// node's platform)). A node is known here by its `kubernetes.io/arch` label (GOARCH) only, so its
// CPU variant is unknown: any variant of the node's architecture is accepted, which never turns
// a pullable image into a deny.
import type { Platform } from '../checks/ports.js';

/** GOARCH spellings that images sometimes use (containerd platforms/database.go normalizeArch). */
export function normalizeArchitecture(arch: string): string {
  const a = arch.toLowerCase();
  switch (a) {
    case 'i386':
      return '386';
    case 'x86_64':
    case 'x86-64':
      return 'amd64';
    case 'aarch64':
      return 'arm64';
    case 'armhf':
    case 'armel':
      return 'arm';
    default:
      return a;
  }
}

/**
 * The architectures a node of `nodeArch` runs, best first (containerd platformVector):
 * amd64 also runs 386; arm64 also runs arm (32-bit, v8 and below).
 */
export function compatibleArchitectures(nodeArch: string): string[] {
  const a = normalizeArchitecture(nodeArch);
  if (a === 'amd64') return ['amd64', '386'];
  if (a === 'arm64') return ['arm64', 'arm'];
  return [a];
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Index entries that are not images: buildkit attestations (`unknown/unknown`). */
function isImagePlatform(p: Platform | undefined): p is Platform {
  return !!p && p.os !== 'unknown' && p.architecture !== 'unknown';
}

/**
 * The index entry a linux node of `nodeArch` pulls, or undefined ("no match for platform in
 * manifest"). Entries are tried in containerd's preference order; within one architecture the
 * first listed wins, as containerd's stable sort keeps index order.
 */
export function pickManifest<T extends { platform?: Platform }>(entries: readonly T[], nodeArch: string, os = 'linux'): T | undefined {
  for (const arch of compatibleArchitectures(nodeArch)) {
    const hit = entries.find((e) => isImagePlatform(e.platform) && e.platform.os === os && normalizeArchitecture(e.platform.architecture) === arch);
    if (hit) return hit;
  }
  return undefined;
}

/** Whether a node of `nodeArch` can execute binaries of `imageArch` (single-platform images). */
export function runsOn(imageArch: string, nodeArch: string): boolean {
  return compatibleArchitectures(nodeArch).includes(normalizeArchitecture(imageArch));
}

/** The image platforms listed in an index, attestations left out. */
export function listedPlatforms(entries: ReadonlyArray<{ platform?: Platform }>): Platform[] {
  return entries.map((e) => e.platform).filter(isImagePlatform);
}
