// Supply-chain rules for GitHub Actions workflows that actionlint does not enforce.
import { parse } from 'yaml';
import { isPinnedImage } from './compose.js';

type Permissions = string | Record<string, string> | undefined;
type Job = {
  permissions?: Permissions;
  services?: Record<string, { image?: string }>;
  container?: string | { image?: string };
};
type Workflow = { on?: unknown; permissions?: Permissions; jobs?: Record<string, Job> };

/** `uses:` lines: third-party actions by a full commit sha with the version in a comment. */
function usesErrors(text: string): string[] {
  const errors: string[] = [];
  text.split('\n').forEach((line, index) => {
    const match = line.match(/^\s*(?:-\s+)?uses:\s*["']?([^\s"'#]+)["']?\s*(#.*)?$/);
    if (!match) return;
    const [, reference = '', comment = ''] = match;
    const where = `line ${index + 1}`;
    if (reference.startsWith('./')) return;
    if (reference.startsWith('docker://')) {
      if (!/@sha256:[0-9a-f]{64}$/.test(reference))
        errors.push(`${where}: ${reference} is not pinned by digest`);
      return;
    }
    const [action, ref = ''] = reference.split('@');
    if (!/^[0-9a-f]{40}$/.test(ref)) {
      errors.push(`${where}: ${action} is pinned to "${ref}", not to a full commit sha`);
    } else if (!/^#\s*v\d+(\.\d+)*\b/.test(comment)) {
      errors.push(`${where}: ${action}@${ref} has no "# vX.Y.Z" comment naming the version`);
    }
  });
  return errors;
}

function permissionErrors(where: string, permissions: Permissions, allowWrite: boolean): string[] {
  if (permissions === undefined) return [];
  if (typeof permissions === 'string')
    return [`${where}: permissions: ${permissions} is broader than needed; list the scopes`];
  return Object.entries(permissions)
    .filter(([, access]) => access === 'write' && !allowWrite)
    .map(
      ([scope]) => `${where}: grants ${scope}: write to every job; grant it only to the job that needs it`,
    );
}

function triggers(on: unknown): string[] {
  if (typeof on === 'string') return [on];
  if (Array.isArray(on)) return on.map(String);
  return Object.keys((on as Record<string, unknown>) ?? {});
}

/**
 * Errors against the project's workflow rules: pinned actions and images, least-privilege
 * `permissions` (read-only or none at the top, writes granted per job), no pull_request_target.
 */
export function workflowErrors(text: string): string[] {
  const errors = usesErrors(text);
  const workflow = parse(text) as Workflow;
  if (workflow.permissions === undefined) {
    errors.push('top level: no permissions; without them every job gets the repository default token scopes');
  }
  errors.push(...permissionErrors('top level', workflow.permissions, false));
  if (triggers(workflow.on).includes('pull_request_target')) {
    errors.push('on: pull_request_target runs untrusted code with a write token; use pull_request');
  }
  for (const [name, job] of Object.entries(workflow.jobs ?? {})) {
    errors.push(...permissionErrors(`job ${name}`, job.permissions, true));
    const images = [
      ...Object.values(job.services ?? {}).map((service) => service.image),
      typeof job.container === 'string' ? job.container : job.container?.image,
    ].filter((image): image is string => image !== undefined);
    for (const image of images) {
      if (!isPinnedImage(image))
        errors.push(`job ${name}: image ${image} is not pinned to a version or digest`);
    }
  }
  return errors;
}
