// The Dockerfile rules hadolint does not know about (or only hints at), checked on a small parse of
// the file: instructions with their continuation lines joined, grouped into build stages.
import { existsSync, readFileSync } from 'node:fs';
import { isPinnedImage } from './compose.js';

export type Instruction = { keyword: string; args: string; line: number };
export type Stage = { name: string; from: string; instructions: Instruction[] };

export function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  let pending: Instruction | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    if (pending && line.startsWith('#')) return;
    const continued = line.endsWith('\\');
    const content = continued ? line.slice(0, -1).trim() : line;
    if (pending) {
      pending.args = `${pending.args} ${content}`.trim();
    } else {
      const [keyword = '', ...rest] = content.split(/\s+/);
      pending = { keyword: keyword.toUpperCase(), args: rest.join(' '), line: index + 1 };
    }
    if (!continued) {
      instructions.push(pending);
      pending = undefined;
    }
  });

  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const from = words[0] ?? '';
      const asIndex = words.findIndex((word) => word.toUpperCase() === 'AS');
      const name = asIndex >= 0 ? (words[asIndex + 1] ?? '') : String(stages.length);
      stages.push({ name, from, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

const secretName = /passw(or)?d|secret|token|api[_-]?key|private[_-]?key|credential|access[_-]?key/i;
const secretFile =
  /(^|\/)(\.env(\.[\w-]+)?|\.npmrc|\.netrc|id_rsa\w*|credentials(\.json)?|[^/\s]+\.(pem|key|p12))$/;

function declaredNames(instruction: Instruction): string[] {
  // ENV A=1 B=2, ENV A 1 (legacy form), ARG A=1, ARG A
  if (instruction.keyword === 'ENV' && !instruction.args.split(/\s+/)[0]?.includes('=')) {
    return [instruction.args.split(/\s+/)[0] ?? ''];
  }
  return [...instruction.args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)(?==|\s|$)/g)].map(
    (match) => match[1] ?? '',
  );
}

function installsDevDependencies(run: string): boolean {
  return (
    /\bnpm\s+(ci|install|i)\b/.test(run) &&
    !/\s(-g|--global)\b/.test(run) &&
    !/--omit[= ]dev|--production\b/.test(run)
  );
}

function copyFrom(instruction: Instruction): { stage: string; sources: string[] } | undefined {
  const stage = instruction.args.match(/--from=(\S+)/)?.[1];
  if (!stage) return undefined;
  const paths = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
  return { stage, sources: paths.slice(0, -1) };
}

/**
 * Errors against the project's image rules: pinned base images, a non-root numeric USER and a
 * HEALTHCHECK in the final (runtime) stage, no secrets in ARG/ENV/COPY, production dependencies only
 * in the runtime image, and a .dockerignore beside the build context.
 */
export function dockerfileErrors(text: string, dockerignore: string | undefined): string[] {
  const errors: string[] = [];
  const stages = parseDockerfile(text);
  const byName = new Map(stages.map((stage) => [stage.name, stage]));
  const final = stages.at(-1);
  if (!final) return ['no FROM instruction'];

  for (const stage of stages) {
    if (!byName.has(stage.from) && stage.from !== 'scratch' && !isPinnedImage(stage.from)) {
      errors.push(
        `stage ${stage.name}: base image ${stage.from} is not pinned to a digest or an exact version`,
      );
    }
    for (const instruction of stage.instructions) {
      const where = `line ${instruction.line}`;
      if (instruction.keyword === 'ARG' || instruction.keyword === 'ENV') {
        for (const name of declaredNames(instruction)) {
          if (secretName.test(name))
            errors.push(
              `${where}: ${instruction.keyword} ${name} looks like a secret; use a build secret mount`,
            );
        }
        if (/\/\/[^/\s:@]+:[^/\s@]+@/.test(instruction.args))
          errors.push(`${where}: ${instruction.keyword} carries credentials in a URL`);
      }
      if (instruction.keyword === 'COPY' || instruction.keyword === 'ADD') {
        const sources = instruction.args
          .split(/\s+/)
          .filter((word) => !word.startsWith('--'))
          .slice(0, -1);
        for (const source of sources) {
          if (secretFile.test(source))
            errors.push(`${where}: ${instruction.keyword} ${source} puts a secret into a layer`);
        }
      }
    }
  }

  const devStages = new Set<string>();
  for (const stage of stages) {
    const inherits = devStages.has(stage.from);
    const runs = stage.instructions.some((i) => i.keyword === 'RUN' && installsDevDependencies(i.args));
    if (inherits || runs) devStages.add(stage.name);
  }
  if (devStages.has(final.name))
    errors.push(`final stage ${final.name}: installs or inherits development dependencies`);
  // A stage's working directory, inherited from the stage it is built on: where its node_modules is.
  const workdir = (stage: Stage | undefined): string => {
    const own = stage?.instructions.filter((i) => i.keyword === 'WORKDIR').at(-1)?.args;
    if (own) return own.replace(/\/$/, '');
    return stage && byName.has(stage.from) ? workdir(byName.get(stage.from)) : '/';
  };
  let productionModules = false;
  for (const instruction of final.instructions.filter((i) => i.keyword === 'COPY')) {
    const copy = copyFrom(instruction);
    if (!copy) continue;
    const source = byName.get(copy.stage);
    if (source?.instructions.some((i) => i.keyword === 'RUN' && /--omit[= ]dev/.test(i.args)))
      productionModules = true;
    const root = workdir(source);
    const wholeTree = copy.sources.some(
      (path) => /node_modules/.test(path) || ['.', './', root, `${root}/`, '/'].includes(path),
    );
    if (devStages.has(copy.stage) && wholeTree) {
      errors.push(
        `line ${instruction.line}: copies node_modules from ${copy.stage}, which has development dependencies`,
      );
    }
  }
  if (!productionModules)
    errors.push(`final stage ${final.name}: takes no node_modules from an \`npm ci --omit=dev\` stage`);

  const user = final.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args;
  if (!user) errors.push(`final stage ${final.name}: no USER, so it runs as root`);
  else if (!/^[1-9]\d*(:\d+)?$/.test(user)) {
    errors.push(
      `final stage ${final.name}: USER ${user} must be a numeric non-root uid (Kubernetes runAsNonRoot checks it)`,
    );
  }
  const healthcheck = final.instructions.filter((i) => i.keyword === 'HEALTHCHECK').at(-1)?.args;
  if (!healthcheck || /^NONE\b/i.test(healthcheck)) errors.push(`final stage ${final.name}: no HEALTHCHECK`);

  if (dockerignore === undefined) {
    errors.push('.dockerignore is missing: the whole build context (node_modules, .git, .env) would be sent');
  } else {
    const ignored = dockerignore.split('\n').map((line) => line.trim());
    for (const required of ['.git', '**/node_modules', '**/.env']) {
      if (!ignored.includes(required)) errors.push(`.dockerignore: does not exclude ${required}`);
    }
  }
  return errors;
}

export function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}
