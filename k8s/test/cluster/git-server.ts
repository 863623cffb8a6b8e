// The Git repository Flux's source-controller clones in the cluster tests: the checkout's flux/ and k8s/
// as they are in the working tree (committed or not, so uncommitted manifest changes are what gets
// reconciled), committed to a throwaway bare repository and served over Git's smart HTTP protocol by
// `git http-backend` (CGI) behind a small Node HTTP server on loopback. Flux clones over HTTP(S) or SSH
// only, not git://.
import { execFileSync, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../lib/manifests.js';

export interface GitServer {
  /** Clone URL of the repository, as a GitRepository's spec.url. */
  url: string;
  /** The served commit of branch main. */
  commit: string;
  /** source-controller's revision for that commit on a branch: main@sha1:<commit>. */
  revision: string;
  /** The committed tree on disk (what `flux bootstrap` would have pushed). */
  tree: string;
  /** Every request the server answered: `<method> <path>?<query> <status>`. */
  requests: string[];
  close(): Promise<void>;
}

const name = 'soundgood.git';

function git(args: string[], cwd: string): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

/**
 * What `flux bootstrap` writes into the repository it pushes to: the flux-system GitRepository points at
 * that repository. Here that is the loopback URL, without the deploy-key Secret (anonymous HTTP).
 */
function pointBootstrapAt(tree: string, url: string): void {
  for (const env of ['staging', 'production']) {
    const file = join(tree, 'flux/clusters', env, 'flux-system/gotk-sync.yaml');
    if (!existsSync(file)) continue;
    const documents = parseAllDocuments(readFileSync(file, 'utf8'));
    for (const document of documents) {
      if (document.get('kind') !== 'GitRepository') continue;
      document.setIn(['spec', 'url'], url);
      document.deleteIn(['spec', 'secretRef']);
    }
    writeFileSync(file, documents.map((document) => document.toString()).join(''));
  }
}

/** The working tree's flux/ and k8s/ files (tracked or new, not ignored; deleted ones left out). */
function workingTreeFiles(): string[] {
  return git(['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', 'flux', 'k8s'], repoRoot)
    .split('\0')
    .filter((file) => file !== '' && !file.split('/').includes('node_modules'))
    .filter((file) => existsSync(join(repoRoot, file)));
}

/** Starts the server on 127.0.0.1:port, then commits the working tree's manifests for it to serve. */
export async function serveGitRepository(port: number): Promise<GitServer> {
  const root = mkdtempSync(join(tmpdir(), 'soundgood-git-'));
  const bare = join(root, name);
  const tree = join(root, 'tree');
  const requests: string[] = [];

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    // The CGI environment git http-backend reads (git-http-backend(1)); nothing else of ours leaks in.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ''),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
    };
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
    const protocol = req.headers['git-protocol'];
    if (typeof protocol === 'string') env.HTTP_GIT_PROTOCOL = protocol;

    const cgi = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let errors = '';
    cgi.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    cgi.stderr.on('data', (chunk: Buffer) => {
      errors += chunk;
    });
    req.pipe(cgi.stdin);
    cgi.on('close', (code) => {
      // A CGI response: header lines, a blank line, the body. `Status:` carries the HTTP status.
      const response = Buffer.concat(out);
      let end = response.indexOf('\r\n\r\n');
      let separator = 4;
      if (end < 0) {
        end = response.indexOf('\n\n');
        separator = 2;
      }
      if (code !== 0 || end < 0) {
        requests.push(`${req.method} ${req.url} 500`);
        res
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`git http-backend failed (${code}): ${errors}`);
        return;
      }
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of response.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const key = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        if (key === 'status') status = Number.parseInt(value, 10);
        else headers[key] = value;
      }
      const body = response.subarray(end + separator);
      headers['content-length'] = String(body.length);
      requests.push(`${req.method} ${req.url} ${status}`);
      res.writeHead(status, headers).end(body);
    });
  });
  await new Promise<void>((listening, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', listening);
  });
  const cloneUrl = `http://127.0.0.1:${port}/${name}`;

  for (const file of workingTreeFiles()) {
    mkdirSync(dirname(join(tree, file)), { recursive: true });
    copyFileSync(join(repoRoot, file), join(tree, file));
  }
  pointBootstrapAt(tree, cloneUrl);
  git(['init', '--quiet', '--bare', '--initial-branch=main', bare], root);
  const inTree = ['--git-dir', bare, '--work-tree', tree];
  git([...inTree, 'add', '--all'], tree);
  const head = git(['-C', repoRoot, 'rev-parse', 'HEAD'], repoRoot).trim();
  git(
    [
      '-c',
      'user.name=soundgood cluster test',
      '-c',
      'user.email=cluster-test@soundgood.invalid',
      '-c',
      'commit.gpgsign=false',
      ...inTree,
      'commit',
      '--quiet',
      '--no-verify',
      '-m',
      `flux/ and k8s/ of the working tree at ${head}`,
    ],
    tree,
  );
  const commit = git([...inTree, 'rev-parse', 'HEAD'], tree).trim();

  return {
    url: cloneUrl,
    commit,
    revision: `main@sha1:${commit}`,
    tree,
    requests,
    close: async () => {
      // source-controller keeps its connections alive; close them, or close() waits for them.
      server.closeAllConnections();
      await new Promise<void>((closed) => server.close(() => closed()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
