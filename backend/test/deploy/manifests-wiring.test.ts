/**
 * The manifests against each other and against k8s/scripts/up.sh: selectors find
 * their pods, every reference resolves, the images are the ones the script builds.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CLUSTER_SECRETS,
  allContainers,
  getObject,
  kustomizeOutput,
  mainContainer,
  objectsOfKind,
  readRepoFile,
  selects,
  upScriptBuilds,
  workloads,
} from './support/repo.js';
import type { ConfigMapLike, K8sObject, Service, Workload } from './support/repo.js';

const all = workloads();

function podLabels(w: Workload): Record<string, string> {
  return w.spec.template.metadata.labels ?? {};
}

function hasKey(kind: 'ConfigMap' | 'Secret', name: string, key: string): boolean {
  // Secrets live in the cluster only (k8s:up or the user makes them): the documented ones.
  if (kind === 'Secret') return key in (CLUSTER_SECRETS[name] ?? {});
  const obj = getObject<ConfigMapLike>(kind, name);
  return key in { ...obj.data, ...obj.stringData, ...obj.binaryData };
}

describe('selectors and labels', () => {
  for (const w of all) {
    test(`${w.kind}/${w.metadata.name} selects its own pod template`, () => {
      assert.ok(selects(w.spec.selector.matchLabels, podLabels(w)));
    });
  }

  test('no two workloads select each other’s pods', () => {
    for (const a of all) {
      for (const b of all) {
        if (a !== b) assert.ok(!selects(a.spec.selector.matchLabels, podLabels(b)), `${a.metadata.name} selects ${b.metadata.name}'s pods`);
      }
    }
  });

  for (const svc of objectsOfKind<Service>('Service')) {
    test(`Service/${svc.metadata.name} routes to the ports of exactly one workload's pods`, () => {
      const targets = all.filter((w) => selects(svc.spec.selector, podLabels(w)));
      assert.equal(targets.length, 1, `selects ${targets.map((t) => t.metadata.name).join(', ') || 'nothing'}`);
      const containers = targets[0]!.spec.template.spec.containers;
      for (const port of svc.spec.ports) {
        const target = port.targetPort ?? port.port;
        const found = containers.some((c) => (c.ports ?? []).some((p) => (typeof target === 'number' ? p.containerPort === target : p.name === target)));
        assert.ok(found, `targetPort ${target} is not a container port`);
      }
    });
  }

  test('the backend Service is a NodePort on port 80 (minikube service image-processor --url)', () => {
    const svc = getObject<Service>('Service', 'image-processor');
    assert.equal(svc.spec.type, 'NodePort');
    assert.deepEqual(
      svc.spec.ports.map((p) => [p.port, p.targetPort]),
      [[80, 'http']],
    );
  });

  test('the StatefulSet `postgres` is governed by a headless Service that selects it (pod postgres-0)', () => {
    const sts = getObject<Workload>('StatefulSet', 'postgres');
    assert.equal(sts.spec.replicas, 1);
    const svc = getObject<Service>('Service', sts.spec.serviceName!);
    assert.equal(svc.spec.clusterIP, 'None');
    assert.ok(selects(svc.spec.selector, podLabels(sts)));
    const mounted = sts.spec.template.spec.containers[0]!.volumeMounts?.map((m) => m.name) ?? [];
    const claims = sts.spec.volumeClaimTemplates?.map((t) => t.metadata.name) ?? [];
    assert.deepEqual(claims, ['data']);
    for (const claim of claims) assert.ok(mounted.includes(claim), `the claim ${claim} is mounted`);
  });
});

describe('autoscaling and disruption budget', () => {
  const deployment = getObject<Workload>('Deployment', 'image-processor');
  const hpa = getObject<
    K8sObject & {
      spec: {
        scaleTargetRef: { apiVersion: string; kind: string; name: string };
        minReplicas: number;
        maxReplicas: number;
        metrics: { type: string; resource?: { name: string } }[];
      };
    }
  >('HorizontalPodAutoscaler', 'image-processor');
  const pdb = getObject<K8sObject & { spec: { minAvailable?: number; maxUnavailable?: number | string; selector: { matchLabels: Record<string, string> } } }>(
    'PodDisruptionBudget',
    'image-processor',
  );

  test('the autoscaler scales the backend Deployment on CPU, from 3 replicas up, and alone owns the count', () => {
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'image-processor' });
    // A `replicas` in the Deployment would undo every scale-out at each `kubectl apply`.
    assert.equal(deployment.spec.replicas, undefined);
    assert.equal(hpa.spec.minReplicas, 3);
    assert.ok(hpa.spec.maxReplicas > hpa.spec.minReplicas);
    assert.deepEqual(
      hpa.spec.metrics.map((m) => m.resource?.name),
      ['cpu'],
    );
    for (const c of allContainers(deployment)) assert.ok(c.resources?.requests?.cpu, `${c.name}: utilization needs a CPU request`);
  });

  test('the disruption budget covers the backend pods and lets exactly one go at a time, at any scale', () => {
    assert.ok(selects(pdb.spec.selector.matchLabels, podLabels(deployment)));
    // minAvailable would let more go as the autoscaler adds pods, and block a drain when none can.
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.equal(pdb.spec.minAvailable, undefined);
  });
});

describe('references', () => {
  for (const w of all) {
    test(`${w.kind}/${w.metadata.name}: gets no Service link variables (they would collide with settings such as REDIS_PORT)`, () => {
      assert.equal(w.spec.template.spec.enableServiceLinks, false);
    });

    test(`${w.kind}/${w.metadata.name}: every ConfigMap, Secret and volume it uses exists`, () => {
      const pod = w.spec.template.spec;
      const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
      const claims = new Set((w.spec.volumeClaimTemplates ?? []).map((t) => t.metadata.name));
      for (const v of pod.volumes ?? []) {
        if (v.configMap) for (const i of v.configMap.items ?? []) assert.ok(hasKey('ConfigMap', v.configMap.name, i.key), `${v.configMap.name}/${i.key}`);
        if (v.configMap) getObject('ConfigMap', v.configMap.name);
        if (v.secret) for (const i of v.secret.items ?? []) assert.ok(hasKey('Secret', v.secret.secretName, i.key), `${v.secret.secretName}/${i.key}`);
      }
      for (const c of allContainers(w)) {
        for (const e of c.env ?? []) {
          const s = e.valueFrom?.secretKeyRef;
          const m = e.valueFrom?.configMapKeyRef;
          if (s) assert.ok(hasKey('Secret', s.name, s.key), `${c.name} ${e.name}: ${s.name}/${s.key}`);
          if (m) assert.ok(hasKey('ConfigMap', m.name, m.key), `${c.name} ${e.name}: ${m.name}/${m.key}`);
        }
        for (const from of c.envFrom ?? []) {
          if (from.configMapRef) getObject('ConfigMap', from.configMapRef.name);
          if (from.secretRef) assert.ok(CLUSTER_SECRETS[from.secretRef.name], from.secretRef.name);
        }
        for (const mount of c.volumeMounts ?? []) {
          assert.ok(volumes.has(mount.name) || claims.has(mount.name), `${c.name}: no volume ${mount.name}`);
          const cm = volumes.get(mount.name)?.configMap;
          if (mount.subPath && cm?.items)
            assert.ok(
              cm.items.some((i) => i.path === mount.subPath),
              `${c.name}: subPath ${mount.subPath}`,
            );
        }
        for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
          const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
          if (typeof port === 'string')
            assert.ok(
              c.ports?.some((p) => p.name === port),
              `${c.name}: probe port ${port}`,
            );
        }
      }
    });
  }

  test('the Secret is the earlier one by name and keys (postgres-secret: username, password), made in the cluster', () => {
    assert.equal(objectsOfKind('Secret').length, 0, 'no Secret in the repository');
    const up = readRepoFile('k8s/scripts/up.sh');
    assert.match(up, /SECRET_NAME=postgres-secret/);
    assert.deepEqual(Object.keys(CLUSTER_SECRETS['postgres-secret']!).sort(), ['password', 'username']);
  });

  test('Postgres gets its user, password and database from the same Secret as the backend', () => {
    const { container } = mainContainer('StatefulSet', 'postgres');
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom?.secretKeyRef]));
    assert.deepEqual(env.POSTGRES_USER, { name: 'postgres-secret', key: 'username' });
    assert.deepEqual(env.POSTGRES_PASSWORD, { name: 'postgres-secret', key: 'password' });
    assert.equal(env.POSTGRES_DB, 'imagedb');
  });
});

describe('images and k8s/scripts/up.sh', () => {
  const builds = upScriptBuilds();
  const built = new Set(builds.map((b) => b.name));
  const images = all.flatMap((w) => allContainers(w).map((c) => ({ w, c, name: c.image.split(':')[0]! })));

  test('up.sh builds the three images of the design', () => {
    assert.deepEqual([...built].sort(), ['image-processor', 'imgfleet-runtime', 'postgres-db']);
  });

  test('every locally built image is used by a manifest, and pulled only when missing', () => {
    for (const name of built) {
      const users = images.filter((i) => i.name === name);
      assert.ok(users.length > 0, `${name} is built but no manifest uses it`);
      for (const { w, c } of users) assert.equal(c.imagePullPolicy, 'IfNotPresent', `${w.metadata.name}/${c.name}`);
    }
  });

  test('every other image is a public one with a pinned tag', () => {
    for (const { w, c } of images.filter(({ name }) => !built.has(name))) {
      assert.match(c.image, /^[a-z0-9./-]+:[A-Za-z0-9._-]+$/, `${w.metadata.name}/${c.name}`);
      assert.ok(!c.image.endsWith(':latest'), `${w.metadata.name}/${c.name} uses ${c.image}`);
    }
  });

  test('the backend, database and runtime run the images up.sh builds for them', () => {
    const name = (kind: string, w: string) => mainContainer(kind, w).container.image.split(':')[0];
    assert.equal(name('Deployment', 'image-processor'), 'image-processor');
    assert.equal(name('StatefulSet', 'postgres'), 'postgres-db');
    assert.equal(name('Deployment', 'imgfleet-runtime'), 'imgfleet-runtime');
  });

  test('up.sh waits for the rollout of every workload', () => {
    const waited = [...readRepoFile('k8s/scripts/up.sh').matchAll(/^\s*wait_for\s+(\S+)\s+\S+\s*$/gm)].map((m) => m[1]);
    const expected = all.map((w) => `${w.kind.toLowerCase()}/${w.metadata.name}`);
    assert.deepEqual([...waited].sort(), [...expected].sort());
  });

  test('up.sh applies the minikube overlay (with the tags it built)', () => {
    assert.match(readRepoFile('k8s/scripts/up.sh'), /^OVERLAY=k8s\/overlays\/minikube$/m);
    assert.ok(kustomizeOutput().length > 0);
  });
});
