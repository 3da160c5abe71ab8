/**
 * The practice of the charts users already trust (Bitnami PostgreSQL, Immich,
 * imgproxy), checked on what each overlay renders: no password in the repository,
 * a NetworkPolicy for every workload, versioned images, requests that fit the node
 * minikube gives by default, the blob store's volume or object storage, and the
 * Service's host names allowed by configuration rather than by Service links.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { envSchema } from '../../src/config/env.js';
import { hostAllowed, hostRules } from '../../src/http/browser-guard.js';
import { CLUSTER_SECRETS, OVERLAYS, allContainers, minikube, production, quantity, readRepoFile, repoPath, selects } from './support/repo.js';
import type { Container, K8sObject, Manifests, Workload } from './support/repo.js';

const VERSION = (JSON.parse(readRepoFile('package.json')) as { version: string }).version;
const LOCAL_IMAGES = ['image-processor', 'postgres-db', 'imgfleet-runtime'];

interface NetworkPolicy extends K8sObject {
  spec: {
    podSelector: { matchLabels?: Record<string, string> };
    policyTypes?: string[];
    ingress?: {
      from?: { podSelector?: { matchLabels?: Record<string, string> }; namespaceSelector?: unknown; ipBlock?: unknown }[];
      ports?: { port?: number | string }[];
    }[];
  };
}

interface Claim extends K8sObject {
  spec: { accessModes: string[]; resources: { requests: { storage: string } }; storageClassName?: string };
}

interface Hpa extends K8sObject {
  spec: { minReplicas: number; maxReplicas: number };
}

const podLabels = (w: Workload) => w.spec.template.metadata.labels ?? {};

/** CPU (cores) or memory (bytes) one pod of `w` asks for: its containers, or its largest init container. */
function podRequest(w: Workload, resource: 'cpu' | 'memory'): number {
  const sum = (cs: Container[]) => cs.reduce((n, c) => n + quantity(c.resources?.requests?.[resource] ?? '0'), 0);
  const inits = (w.spec.template.spec.initContainers ?? []).map((c) => sum([c]));
  return Math.max(sum(w.spec.template.spec.containers), ...inits);
}

/**
 * What the overlay asks for when the backend runs `pods` pods and, during a rollout,
 * one surge pod more (its strategy's maxSurge); the others run their replicas.
 */
function requested(m: Manifests, resource: 'cpu' | 'memory', backendPods: number): number {
  return m.workloads().reduce((total, w) => {
    const pods = w.metadata.name === 'image-processor' ? backendPods : (w.spec.replicas ?? 1);
    return total + pods * podRequest(w, resource);
  }, 0);
}

// What minikube runs itself on its node, requested by kubeadm's static pods and the
// addons: kube-apiserver 250m, kube-controller-manager 200m, etcd 100m CPU / 100Mi,
// kube-scheduler 100m, coredns 100m / 70Mi, metrics-server (k8s:up enables it) 100m / 200Mi.
const MINIKUBE_SYSTEM = { cpu: 0.85, memory: (100 + 70 + 200) * 2 ** 20 };
// `minikube start` with the VM drivers' defaults: 2 CPUs, 2,200 MB, a 20,000 MB disk.
const MINIKUBE_NODE = { cpu: 2, memory: 2200e6, disk: 20_000e6 };

describe('no password in the repository', () => {
  for (const overlay of OVERLAYS) {
    test(`${overlay.dir} renders no Secret and no credential value`, () => {
      const objects = overlay.objects();
      assert.deepEqual(
        objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name),
        [],
      );
      const text = JSON.stringify(objects);
      for (const leaked of ['postgres:postgres', Buffer.from('postgres').toString('base64'), 'password=']) {
        assert.ok(!text.includes(leaked), `${leaked} in the rendered output`);
      }
      for (const w of overlay.workloads()) {
        for (const c of allContainers(w)) {
          for (const e of c.env ?? []) {
            if (/PASSWORD|SECRET|ACCESS_KEY/.test(e.name))
              assert.ok(e.valueFrom?.secretKeyRef, `${w.metadata.name}/${c.name} ${e.name} is not read from a Secret`);
          }
        }
      }
    });
  }

  test('no kustomization in k8s/ generates a Secret (k8s:up makes the random one)', () => {
    const kustomizations = ['k8s', 'k8s/base', 'k8s/overlays/minikube', 'k8s/overlays/production'].map((d) => readRepoFile(`${d}/kustomization.yaml`));
    for (const k of kustomizations) assert.doesNotMatch(k, /^secretGenerator:/m);
  });
});

describe('NetworkPolicies', () => {
  for (const overlay of OVERLAYS) {
    const policies = overlay.ofKind<NetworkPolicy>('NetworkPolicy');
    const selecting = (w: Workload) => policies.filter((p) => selects(p.spec.podSelector.matchLabels, podLabels(w)));

    for (const w of overlay.workloads()) {
      test(`${overlay.dir}: ${w.kind}/${w.metadata.name} is selected by a policy that isolates its ingress, on ports it serves`, () => {
        const mine = selecting(w);
        assert.equal(mine.length, 1, `selected by ${mine.map((p) => p.metadata.name).join(', ') || 'none'}`);
        const policy = mine[0]!;
        assert.deepEqual(policy.spec.policyTypes, ['Ingress']);
        const ports = w.spec.template.spec.containers.flatMap((c) => c.ports ?? []);
        for (const rule of policy.spec.ingress ?? []) {
          assert.ok((rule.ports ?? []).length > 0, 'a rule without ports opens every port');
          for (const p of rule.ports ?? []) {
            assert.ok(
              ports.some((cp) => cp.name === p.port || cp.containerPort === p.port),
              `port ${String(p.port)} is not one the pod serves`,
            );
          }
        }
      });
    }

    const podsOf = (rule: NonNullable<NetworkPolicy['spec']['ingress']>[number]) => {
      const from = rule.from ?? [];
      assert.ok(from.length > 0, 'a rule without `from` admits everyone');
      return from
        .map((peer) => {
          assert.equal(peer.namespaceSelector, undefined, 'only pods of this namespace');
          assert.equal(peer.ipBlock, undefined, 'no address ranges');
          const labels = peer.podSelector?.matchLabels;
          assert.ok(labels && Object.keys(labels).length > 0, 'an empty podSelector admits every pod');
          return overlay
            .workloads()
            .filter((w) => selects(labels, podLabels(w)))
            .map((w) => w.metadata.name);
        })
        .flat()
        .sort();
    };

    test(`${overlay.dir}: PostgreSQL admits only the backend`, () => {
      const pg = overlay.get<Workload>('StatefulSet', 'postgres');
      const rules = selecting(pg)[0]?.spec.ingress ?? [];
      assert.ok(rules.length > 0);
      for (const rule of rules) assert.deepEqual(podsOf(rule), ['image-processor']);
    });

    test(`${overlay.dir}: Redis admits only the backend and the function runtime`, () => {
      const redis = overlay.get<Workload>('Deployment', 'redis');
      const rules = selecting(redis)[0]?.spec.ingress ?? [];
      assert.ok(rules.length > 0);
      for (const rule of rules) assert.deepEqual(podsOf(rule), ['image-processor', 'imgfleet-runtime']);
    });

    test(`${overlay.dir}: the backend's HTTP port is open (the Service, NodePort, an Ingress), and nothing else`, () => {
      const backend = overlay.get<Workload>('Deployment', 'image-processor');
      const rules = selecting(backend)[0]?.spec.ingress ?? [];
      assert.deepEqual(
        rules.map((r) => r.ports?.map((p) => p.port)),
        [['http']],
      );
    });
  }
});

describe('versioned images', () => {
  for (const overlay of OVERLAYS) {
    test(`${overlay.dir}: the three images are tagged with the package version (${VERSION}), pulled only when missing`, () => {
      const images = overlay.workloads().flatMap((w) => allContainers(w).map((c) => ({ who: `${w.metadata.name}/${c.name}`, c })));
      for (const { who, c } of images) {
        assert.ok(!c.image.endsWith(':latest') && /:[A-Za-z0-9._-]+$/.test(c.image), `${who}: ${c.image}`);
        assert.equal(c.imagePullPolicy, 'IfNotPresent', who);
      }
      for (const name of LOCAL_IMAGES) {
        const users = images.filter(({ c }) => c.image.split(':')[0]!.split('/').at(-1) === name);
        assert.ok(users.length > 0, `${name} is used`);
        for (const { who, c } of users) assert.equal(c.image.split(':').at(-1), VERSION, who);
      }
    });
  }

  test('minikube runs the names k8s:up builds; production pulls them from a registry', () => {
    for (const name of LOCAL_IMAGES) {
      assert.ok(
        minikube.workloads().some((w) => allContainers(w).some((c) => c.image === `${name}:${VERSION}`)),
        name,
      );
      assert.ok(
        production
          .workloads()
          .some((w) => allContainers(w).some((c) => /^[a-z0-9.-]+\.[a-z]+(:\d+)?\//.test(c.image) && c.image.endsWith(`/${name}:${VERSION}`))),
        name,
      );
    }
  });
});

describe('minikube with its default node (2 CPUs, 2,200 MB, a 20,000 MB disk)', () => {
  const hpa = minikube.get<Hpa>('HorizontalPodAutoscaler', 'image-processor');

  test('every pod plus one surge backend pod (a rolling k8s:up) asks for at most 1.2 CPU, and fits beside minikube’s own pods', () => {
    const cpu = requested(minikube, 'cpu', hpa.spec.minReplicas + 1);
    assert.ok(cpu <= 1.2 + 1e-9, `${cpu} CPU requested`);
    assert.ok(cpu + MINIKUBE_SYSTEM.cpu <= MINIKUBE_NODE.cpu, `${cpu} + minikube's ${MINIKUBE_SYSTEM.cpu} > ${MINIKUBE_NODE.cpu}`);
  });

  test('the autoscaler can reach its maximum on that node', () => {
    const cpu = requested(minikube, 'cpu', hpa.spec.maxReplicas);
    assert.ok(cpu + MINIKUBE_SYSTEM.cpu <= MINIKUBE_NODE.cpu, `${hpa.spec.maxReplicas} backend pods need ${cpu} CPU`);
    assert.ok(hpa.spec.maxReplicas > hpa.spec.minReplicas);
  });

  test('memory requests with the surge pod fit beside minikube’s own', () => {
    const memory = requested(minikube, 'memory', hpa.spec.minReplicas + 1);
    assert.ok(memory + MINIKUBE_SYSTEM.memory <= MINIKUBE_NODE.memory, `${memory / 2 ** 20} MiB requested`);
  });

  test('the volumes fit the disk, with room for the images and the system (6 GB)', () => {
    const claims = [
      ...minikube.ofKind<Claim>('PersistentVolumeClaim').map((c) => c.spec.resources.requests.storage),
      ...minikube.workloads().flatMap((w) => (w.spec.volumeClaimTemplates ?? []).map((t) => t.spec?.resources?.requests?.storage ?? '0')),
    ];
    const total = claims.reduce((n, q) => n + quantity(q), 0);
    assert.ok(total + 6e9 <= MINIKUBE_NODE.disk, `${claims.join(' + ')} = ${(total / 1e9).toFixed(1)} GB`);
  });
});

describe('the blob store', () => {
  const BLOB_VOLUME = 'image-blobs';

  test('minikube: a ReadWriteMany claim mounted by every backend pod at BLOB_DIR, writable by its user through fsGroup', () => {
    const claim = minikube.get<Claim>('PersistentVolumeClaim', BLOB_VOLUME);
    assert.deepEqual(claim.spec.accessModes, ['ReadWriteMany']);
    const { workload, container } = minikube.mainContainer('Deployment', 'image-processor');
    const pod = workload.spec.template.spec;
    const volume = pod.volumes?.find((v) => v.persistentVolumeClaim?.claimName === BLOB_VOLUME);
    assert.ok(volume, 'the backend does not mount the claim');
    const mount = container.volumeMounts?.find((m) => m.name === volume.name);
    assert.ok(mount && !mount.readOnly && !mount.subPath);
    assert.equal(minikube.environmentValue(container, 'BLOB_STORE'), 'filesystem');
    assert.equal(minikube.environmentValue(container, 'BLOB_DIR'), mount.mountPath);
    assert.equal(pod.securityContext?.fsGroup, pod.securityContext?.runAsUser);
    assert.equal(pod.securityContext?.runAsUser, 10001);
    // A recursive chown of every photo at every pod start would take minutes on a full volume.
    assert.equal((pod.securityContext as { fsGroupChangePolicy?: string } | undefined)?.fsGroupChangePolicy, 'OnRootMismatch');
  });

  test('minikube: the claim holds what retention keeps of 2,000 photos a day (4 MB originals, 150 KB results)', () => {
    const defaults = envSchema.parse({});
    const perPhoto = 4e6 * (defaults.RETENTION_ORIGINAL_HOURS / 24) + 150e3 * defaults.RETENTION_BATCH_DAYS;
    const size = quantity(minikube.get<Claim>('PersistentVolumeClaim', BLOB_VOLUME).spec.resources.requests.storage);
    assert.ok(size >= 2000 * perPhoto, `${size} < ${2000 * perPhoto}`);
  });

  test('minikube: `k8s:down` keeps the claim (labelled as data), as it keeps the database’s', () => {
    const claim = minikube.get<Claim>('PersistentVolumeClaim', BLOB_VOLUME);
    assert.equal(claim.metadata.labels?.['app.kubernetes.io/component'], 'data');
    assert.match(readRepoFile('k8s/scripts/down.sh'), /-l 'app\.kubernetes\.io\/component!=data'/);
  });

  test('production: object storage, its settings in a ConfigMap and its credentials from a Secret the user creates', () => {
    const { workload, container } = production.mainContainer('Deployment', 'image-processor');
    assert.equal(production.environmentValue(container, 'BLOB_STORE'), 's3');
    assert.ok(production.environmentValue(container, 'S3_BUCKET'));
    assert.equal(production.environmentValue(container, 'BLOB_DIR'), undefined);
    assert.ok(!workload.spec.template.spec.volumes?.some((v) => v.persistentVolumeClaim), 'no shared volume');
    const fromSecret = Object.fromEntries((container.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => [e.name, e.valueFrom!.secretKeyRef]));
    assert.deepEqual(fromSecret.AWS_ACCESS_KEY_ID, { name: 'blob-store-credentials', key: 'AWS_ACCESS_KEY_ID' });
    assert.deepEqual(fromSecret.AWS_SECRET_ACCESS_KEY, { name: 'blob-store-credentials', key: 'AWS_SECRET_ACCESS_KEY' });
  });

  test('PostgreSQL keeps state only: a small volume (a photo costs it kilobytes)', () => {
    for (const [overlay, most] of [
      [minikube, '2Gi'],
      [production, '10Gi'],
    ] as const) {
      const sts = overlay.get<Workload>('StatefulSet', 'postgres');
      const size = sts.spec.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage ?? '0';
      assert.ok(quantity(size) <= quantity(most), `${overlay.dir}: ${size}`);
    }
  });
});

describe('production', () => {
  test('realistic requests: the backend asks for a core and its memory limit, the autoscaler has room', () => {
    const { container } = production.mainContainer('Deployment', 'image-processor');
    assert.ok(quantity(container.resources?.requests?.cpu ?? '0') >= 1);
    assert.ok(quantity(container.resources?.requests?.memory ?? '0') >= quantity('768Mi'));
    const hpa = production.get<Hpa>('HorizontalPodAutoscaler', 'image-processor');
    assert.ok(hpa.spec.maxReplicas >= 10 && hpa.spec.minReplicas >= 3);
    production.get('PodDisruptionBudget', 'image-processor');
  });
});

describe('the Service’s host names', () => {
  for (const overlay of OVERLAYS) {
    test(`${overlay.dir}: ALLOWED_HOSTS names the Service in every DNS form, and the guard then serves it without Service links`, () => {
      const { container } = overlay.mainContainer('Deployment', 'image-processor');
      const env = overlay.resolvedEnvironment(container, 'image-processor-0', CLUSTER_SECRETS);
      const names = (env.ALLOWED_HOSTS ?? '').split(',');
      for (const host of ['image-processor', 'image-processor.default', 'image-processor.default.svc', 'image-processor.default.svc.cluster.local']) {
        assert.ok(names.includes(host), `${host} is not in ALLOWED_HOSTS=${env.ALLOWED_HOSTS}`);
      }
      // The pod's own environment, with no *_SERVICE_HOST (enableServiceLinks: false).
      const rules = hostRules({ HOST: env.HOST!, ALLOWED_HOSTS: env.ALLOWED_HOSTS, POD_NAME: env.POD_NAME, POD_NAMESPACE: env.POD_NAMESPACE }, env);
      assert.ok(hostAllowed(rules, 'image-processor'));
      assert.ok(hostAllowed(rules, 'image-processor.default.svc.cluster.local:80'));
      assert.ok(!hostAllowed(rules, 'evil.example'));
      assert.ok(!names.includes('*'));
    });
  }
});

describe('$(VAR) references in environment values', () => {
  for (const overlay of OVERLAYS) {
    test(`${overlay.dir}: name only variables defined before them (the kubelet leaves any other as written)`, () => {
      for (const w of overlay.workloads()) {
        for (const c of allContainers(w)) {
          const defined = new Set(overlay.environmentNames({ ...c, env: [] }));
          for (const e of c.env ?? []) {
            for (const m of (e.value ?? '').matchAll(/(?<!\$)\$\(([^)]+)\)/g)) {
              assert.ok(defined.has(m[1]!), `${w.metadata.name}/${c.name} ${e.name} names $(${m[1]}) before it is defined`);
            }
            defined.add(e.name);
          }
        }
      }
    });
  }
});

describe('the earlier commands (`kubectl apply -f k8s/`, `kubectl delete -f k8s/`)', () => {
  test('k8s/ holds one manifest, a Kustomization, which kubectl -f refuses by a name that says what to run; nothing is half applied', () => {
    const files = readdirSync(repoPath('k8s')).filter((f) => /\.(ya?ml|json)$/.test(f));
    assert.deepEqual(files, ['kustomization.yaml']);
    const k = parse(readFileSync(repoPath('k8s', 'kustomization.yaml'), 'utf8')) as { kind: string; metadata?: { name?: string } };
    assert.equal(k.kind, 'Kustomization');
    // kubectl: `resource mapping not found for name: "<this>" ... no matches for kind "Kustomization"`.
    assert.match(k.metadata?.name ?? '', /kubectl-apply-k-k8s.*delete-k-k8s/);
  });
});
