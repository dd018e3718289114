// image-reference: the image string must parse as the kubelet parses it, else the pod never
// pulls: InvalidImageName (kubelet images/image_manager.go applyDefaultImageTag).
import { outcome } from './consequence.js';
import type { Check, Finding } from './types.js';

export const ID = 'image-reference';

/** A corrected spelling worth suggesting, when the only problem is case or stray white space. */
function suggestion(image: string): string | undefined {
  const trimmed = image.trim();
  const at = trimmed.indexOf('@');
  const namePart = at >= 0 ? trimmed.slice(0, at) : trimmed;
  const colon = namePart.lastIndexOf(':');
  const slash = namePart.lastIndexOf('/');
  const hasTag = colon > slash;
  const repo = hasTag ? namePart.slice(0, colon) : namePart;
  const firstSlash = repo.indexOf('/');
  const domainLike = firstSlash > 0 && /[.:]|^localhost$/.test(repo.slice(0, firstSlash));
  const fixedRepo = domainLike ? repo.slice(0, firstSlash + 1) + repo.slice(firstSlash + 1).toLowerCase() : repo.toLowerCase();
  const fixed = fixedRepo + namePart.slice(repo.length) + (at >= 0 ? trimmed.slice(at) : '');
  return fixed !== image && /^[a-z0-9._\-/:@]+$/i.test(fixed) ? fixed : undefined;
}

export const imageReference: Check = {
  id: ID,
  description: 'the image reference must parse as the kubelet parses it (else InvalidImageName)',
  run(input): Finding[] {
    const { container } = input.target;
    const image = container.image;
    if (image === undefined || image === '') {
      // Pods are rejected by the API server itself (spec.containers[0].image: Required value);
      // a template is not, and every pod it creates is then refused.
      return [
        {
          checkId: ID,
          container: container.name,
          certainty: 'certain',
          message: `has no image: the pods cannot be created (spec.containers[].image: Required value)`,
          fix: 'set image, e.g. image: nginx:1.27',
        },
      ];
    }
    if (!input.imageError) return [];
    const fix = suggestion(image);
    return [
      {
        checkId: ID,
        container: container.name,
        certainty: 'certain',
        message: `image ${JSON.stringify(image)} is not a valid reference (${input.imageError.reason}): ${outcome(input, 'create', 'InvalidImageName').text}`,
        fix: fix ? `image: ${fix}` : 'write it as [registry/]repository[:tag][@digest], repository in lower case',
      },
    ];
  },
};
