/**
 * The deployment files as the deploy tests see them: the kustomize output of k8s/,
 * the image builds of k8s/scripts/up.sh, and the Dockerfiles, parsed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** The repository root (this file is compiled to backend/dist/test/deploy/support/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));

export const repoPath = (...parts: string[]) => path.join(REPO_ROOT, ...parts);
export const readRepoFile = (rel: string) => readFileSync(repoPath(rel), 'utf8');

// ---- Kubernetes objects (only the fields the tests read; the schema test checks the rest)

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}

export interface Probe {
  httpGet?: { path?: string; port: number | string };
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
  periodSeconds?: number;
  failureThreshold?: number;
}

export interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type: string };
  };
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
}

export interface Volume {
  name: string;
  emptyDir?: { medium?: string; sizeLimit?: string };
  configMap?: { name: string; items?: { key: string; path: string }[] };
  secret?: { secretName: string; items?: { key: string; path: string }[] };
  persistentVolumeClaim?: { claimName: string };
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  terminationGracePeriodSeconds?: number;
  automountServiceAccountToken?: boolean;
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    runAsGroup?: number;
    fsGroup?: number;
    seccompProfile?: { type: string };
  };
  enableServiceLinks?: boolean;
}

export interface Workload extends K8sObject {
  spec: {
    replicas?: number;
    serviceName?: string;
    selector: { matchLabels?: Record<string, string> };
    template: { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
    volumeClaimTemplates?: { metadata: { name: string }; spec?: { resources?: { requests?: Record<string, string> } } }[];
  };
}

export interface Service extends K8sObject {
  spec: {
    type?: string;
    clusterIP?: string;
    selector?: Record<string, string>;
    ports: { name?: string; port: number; targetPort?: number | string; nodePort?: number }[];
  };
}

export interface ConfigMapLike extends K8sObject {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** A kustomization's output (`kubectl kustomize DIR`, offline: kubectl's built-in kustomize), parsed. */
export function renderKustomization(rel: string): K8sObject[] {
  const text = execFileSync('kubectl', ['kustomize', repoPath(rel)], { encoding: 'utf8' });
  return parseAllDocuments(text).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${rel}: document ${i}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as K8sObject;
  });
}

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet'];

/** The objects one kustomization renders, with lookups by kind and name. */
export class Manifests {
  private rendered: K8sObject[] | undefined;

  constructor(readonly dir: string) {}

  objects(): K8sObject[] {
    this.rendered ??= renderKustomization(this.dir);
    return this.rendered;
  }

  ofKind<T extends K8sObject = K8sObject>(kind: string): T[] {
    return this.objects().filter((o) => o.kind === kind) as T[];
  }

  find<T extends K8sObject = K8sObject>(kind: string, name: string): T | undefined {
    return this.objects().find((o) => o.kind === kind && o.metadata.name === name) as T | undefined;
  }

  get<T extends K8sObject = K8sObject>(kind: string, name: string): T {
    const found = this.find<T>(kind, name);
    if (!found) throw new Error(`no ${kind} named ${name} in ${this.dir}`);
    return found;
  }

  workloads(): Workload[] {
    return this.objects().filter((o) => WORKLOAD_KINDS.includes(o.kind)) as Workload[];
  }

  /** The single container of a one-container workload. */
  mainContainer(kind: string, name: string): { workload: Workload; container: Container } {
    const workload = this.get<Workload>(kind, name);
    const containers = workload.spec.template.spec.containers;
    if (containers.length !== 1) throw new Error(`${kind}/${name} has ${containers.length} containers`);
    return { workload, container: containers[0]! };
  }

  /**
   * The environment variable names a container receives: its `env` entries and every
   * key of the ConfigMaps and Secrets it takes with `envFrom`.
   */
  environmentNames(container: Container): string[] {
    const names = (container.env ?? []).map((e) => e.name);
    for (const source of container.envFrom ?? []) {
      const ref = source.configMapRef ?? source.secretRef;
      if (!ref) continue;
      const obj = this.get<ConfigMapLike>(source.configMapRef ? 'ConfigMap' : 'Secret', ref.name);
      names.push(...Object.keys({ ...obj.data, ...obj.stringData }));
    }
    return names;
  }

  /**
   * The environment a container starts with, as the kubelet would build it: literal
   * values with their `$(VAR)` references expanded, the downward API as a pod of this
   * name in the namespace `default` on the node `minikube` sees it, ConfigMap keys,
   * `envFrom`. Secrets are the cluster's, not the repository's: `secrets` stands in
   * for them (name → key → value); a Secret neither rendered nor given is an error.
   */
  resolvedEnvironment(container: Container, podName: string, secrets: Record<string, Record<string, string>> = {}): Record<string, string> {
    const env: Record<string, string> = {};
    const fromSource = (kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> => {
      if (kind === 'Secret' && secrets[name]) return secrets[name];
      const obj = this.get<ConfigMapLike>(kind, name);
      const data = { ...obj.data };
      if (kind === 'Secret') {
        for (const [k, v] of Object.entries(data)) data[k] = Buffer.from(v, 'base64').toString('utf8');
        Object.assign(data, obj.stringData);
      }
      return data;
    };
    for (const source of container.envFrom ?? []) {
      if (source.configMapRef) Object.assign(env, fromSource('ConfigMap', source.configMapRef.name));
      if (source.secretRef) Object.assign(env, fromSource('Secret', source.secretRef.name));
    }
    for (const entry of container.env ?? []) {
      const from = entry.valueFrom;
      let value: string | undefined;
      if (entry.value !== undefined) value = expandReferences(entry.value, env);
      else if (from?.fieldRef) {
        const downward: Record<string, string> = { 'metadata.name': podName, 'metadata.namespace': 'default', 'spec.nodeName': 'minikube' };
        value = downward[from.fieldRef.fieldPath];
        if (value === undefined) throw new Error(`unexpected fieldRef ${from.fieldRef.fieldPath}`);
      } else if (from?.secretKeyRef) value = fromSource('Secret', from.secretKeyRef.name)[from.secretKeyRef.key];
      else if (from?.configMapKeyRef) value = fromSource('ConfigMap', from.configMapKeyRef.name)[from.configMapKeyRef.key];
      if (value === undefined) throw new Error(`${container.name}: ${entry.name} has no value`);
      env[entry.name] = value;
    }
    return env;
  }

  /** The value a container's variable has, resolving ConfigMap references (not Secrets). */
  environmentValue(container: Container, name: string): string | undefined {
    const entry = (container.env ?? []).find((e) => e.name === name);
    if (entry?.value !== undefined) return entry.value;
    const cmRef = entry?.valueFrom?.configMapKeyRef;
    if (cmRef) return this.get<ConfigMapLike>('ConfigMap', cmRef.name).data?.[cmRef.key];
    if (entry) return undefined;
    for (const source of container.envFrom ?? []) {
      if (!source.configMapRef) continue;
      const value = this.get<ConfigMapLike>('ConfigMap', source.configMapRef.name).data?.[name];
      if (value !== undefined) return value;
    }
    return undefined;
  }
}

/**
 * `$(NAME)` replaced by the value of a variable defined before it, `$$(NAME)` kept as
 * `$(NAME)`, an unknown reference left as written: the kubelet's rules.
 */
export function expandReferences(value: string, defined: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (name === undefined) return '$';
    return defined[name] ?? match;
  });
}

/**
 * The Secrets the user (or k8s:up) creates in the cluster, never the repository, with
 * stand-in values: postgres-secret as the earlier system's `kubectl create secret
 * generic` made it, and production's object storage credentials.
 */
export const CLUSTER_SECRETS: Record<string, Record<string, string>> = {
  'postgres-secret': { username: 'postgres', password: 'a-random-password-k8s-up-made' },
  'blob-store-credentials': { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'example-secret-key' },
};

/** What `npm run k8s:up` applies (with the tags it builds), and `kubectl apply -k k8s/`. */
export const minikube = new Manifests('k8s/overlays/minikube');
/** The production overlay: registry images, object storage, realistic resources. */
export const production = new Manifests('k8s/overlays/production');
export const OVERLAYS = [minikube, production];

// The minikube overlay's objects, for the tests that read one deployment.
export const kustomizeOutput = () => minikube.objects();
export const objectsOfKind = <T extends K8sObject = K8sObject>(kind: string): T[] => minikube.ofKind<T>(kind);
export const getObject = <T extends K8sObject = K8sObject>(kind: string, name: string): T => minikube.get<T>(kind, name);
export const workloads = (): Workload[] => minikube.workloads();
export const mainContainer = (kind: string, name: string) => minikube.mainContainer(kind, name);
export const environmentNames = (container: Container) => minikube.environmentNames(container);
export const environmentValue = (container: Container, name: string) => minikube.environmentValue(container, name);

export function allContainers(w: Workload): Container[] {
  return [...(w.spec.template.spec.initContainers ?? []), ...w.spec.template.spec.containers];
}

/** True when every label of `selector` is on `labels`. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

// ---- k8s/scripts/up.sh ----------------------------------------------------------------

export interface ImageBuild {
  /** The image's name; its tag is `<package version>-<commit>` (image_tag in images.sh). */
  name: string;
  dockerfile: string;
  context: string;
}

/** The `"$1" NAME DOCKERFILE CONTEXT` lines of k8s/scripts/images.sh (what up.sh and test:containers build). */
export function upScriptBuilds(): ImageBuild[] {
  const builds: ImageBuild[] = [];
  for (const line of readRepoFile('k8s/scripts/images.sh').split('\n')) {
    const m = /^\s*"\$1"\s+(\S+)\s+(\S+)\s+(\S+)\s*$/.exec(line);
    if (m) builds.push({ name: m[1]!, dockerfile: m[2]!, context: m[3]! });
  }
  return builds;
}

// ---- Dockerfiles -----------------------------------------------------------------------

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Instructions with continuation lines joined and comments dropped. */
export function parseDockerfile(rel: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = readRepoFile(rel).split('\n');
  let buffer = '';
  let start = 0;
  lines.forEach((raw, i) => {
    const trimmed = raw.trim();
    if (buffer === '' && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (buffer !== '' && trimmed.startsWith('#')) return;
    if (buffer === '') start = i + 1;
    if (trimmed.endsWith('\\')) {
      buffer += `${trimmed.slice(0, -1)} `;
      return;
    }
    buffer += trimmed;
    const m = /^(\S+)\s*(.*)$/s.exec(buffer)!;
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
    buffer = '';
  });
  return out;
}

export interface Stage {
  name: string | undefined;
  base: string;
  workdir: string;
  instructions: Instruction[];
}

/** The build stages, with ARG defaults substituted into FROM and the final WORKDIR of each. */
export function dockerStages(rel: string): Stage[] {
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of parseDockerfile(rel)) {
    if (ins.keyword === 'ARG' && stages.length === 0) {
      const [name, value = ''] = ins.args.split('=', 2);
      args.set(name!.trim(), value.trim());
      continue;
    }
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`${rel}:${ins.line}: cannot read FROM ${ins.args}`);
      const base = m[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_s, a: string | undefined, b: string | undefined) => args.get((a ?? b)!) ?? '');
      stages.push({ name: m[2], base, workdir: '/', instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`${rel}:${ins.line}: ${ins.keyword} before FROM`);
    if (ins.keyword === 'WORKDIR') stage.workdir = path.posix.resolve(stage.workdir, ins.args);
    stage.instructions.push(ins);
  }
  return stages;
}

export interface CopyInstruction {
  from: string | undefined;
  sources: string[];
  dest: string;
  line: number;
}

/** COPY/ADD with their flags removed; JSON array form understood. */
export function copyArgs(ins: Instruction): CopyInstruction {
  let rest = ins.args;
  let from: string | undefined;
  for (;;) {
    const flag = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(rest);
    if (!flag) break;
    if (flag[1] === 'from') from = flag[2];
    rest = rest.slice(flag[0].length);
  }
  const parts = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
  return { from, sources: parts.slice(0, -1), dest: parts.at(-1)!, line: ins.line };
}

/** The JSON (exec) form of CMD/ENTRYPOINT/HEALTHCHECK CMD. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) throw new Error(`not an exec form: ${args}`);
  return parsed;
}

/** Every file below `dir` (relative paths, posix separators). */
export function filesBelow(dir: string, rel = ''): string[] {
  if (!existsSync(path.join(dir, rel))) return [];
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((entry) => {
    const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
    return entry.isDirectory() ? filesBelow(dir, child) : [child];
  });
}

/** A resource quantity in bytes (memory) or cores (cpu). */
export function quantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q);
  if (!m) throw new Error(`cannot read quantity ${q}`);
  const factor: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(m[1]) * (m[2] ? factor[m[2]]! : 1);
}

/** Seconds a container's preStop hook waits (`sleep N` or the sleep action); 0 without one. */
export function preStopSeconds(container: Container): number {
  const hook = container.lifecycle?.preStop;
  if (!hook) return 0;
  if (hook.sleep) return hook.sleep.seconds;
  const cmd = hook.exec?.command ?? [];
  const m = /^(?:\/bin\/|\/usr\/bin\/)?sleep$/.test(cmd[0] ?? '') ? Number(cmd[1]) : NaN;
  if (!Number.isFinite(m)) throw new Error(`cannot tell how long the preStop hook ${JSON.stringify(cmd)} takes`);
  return m;
}
