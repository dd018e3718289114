// A registry's quota window in words for one-line messages: " per 6 h", " per 90 s", or "" when
// the registry did not say (Docker Hub's ratelimit-limit "100;w=21600" gives 21600 s).
export function perWindow(windowS: number | undefined): string {
  if (!windowS) return '';
  return ` per ${windowS >= 3600 && windowS % 3600 === 0 ? `${windowS / 3600} h` : `${windowS} s`}`;
}
