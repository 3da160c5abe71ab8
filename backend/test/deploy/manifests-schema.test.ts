/**
 * Every object each overlay would send (`kubectl apply -k k8s/overlays/<name>`),
 * validated offline against the Kubernetes API schemas with unknown fields rejected
 * (as `kubectl --validate=strict`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadKubernetesSchemas } from './support/k8s-schema.js';
import { OVERLAYS, minikube, production, renderKustomization } from './support/repo.js';
import type { K8sObject } from './support/repo.js';

const schemas = loadKubernetesSchemas();

/** A valid Deployment to break in the checks of the validator itself. */
function sampleDeployment(): K8sObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'sample' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'sample' } },
      template: {
        metadata: { labels: { app: 'sample' } },
        spec: {
          containers: [
            {
              name: 'c',
              image: 'busybox:1.36',
              ports: [{ containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/readyz', port: 'http' } },
              resources: { limits: { memory: '512Mi', cpu: 1 } },
            },
          ],
        },
      },
    },
  };
}

/** sampleDeployment() with the value at `at` replaced (undefined: removed). */
function withChange(at: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(sampleDeployment()) as unknown;
  let node = copy as Record<string | number, unknown>;
  for (const step of at.slice(0, -1)) node = node[step] as Record<string | number, unknown>;
  const last = at.at(-1)!;
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- removing a field from a manifest's JSON is the point
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

describe('the schema validator itself', () => {
  test('is built from the Kubernetes API types and knows the kinds k8s/ uses', () => {
    for (const kind of [
      'v1/ConfigMap',
      'v1/Secret',
      'v1/Service',
      'apps/v1/Deployment',
      'apps/v1/StatefulSet',
      'autoscaling/v2/HorizontalPodAutoscaler',
      'policy/v1/PodDisruptionBudget',
      'v1/PersistentVolumeClaim',
      'networking.k8s.io/v1/NetworkPolicy',
    ]) {
      assert.ok(schemas.kinds.includes(kind), `${kind} missing from kubernetes-types ${schemas.version}`);
    }
    assert.ok(Object.keys(schemas.definitions).length > 300);
  });

  test('accepts a valid object', () => {
    assert.deepEqual(schemas.validate(sampleDeployment()), []);
  });

  test('rejects an unknown field anywhere, naming it', () => {
    const d = withChange(['spec', 'template', 'spec', 'containers', 0, 'imagePullPolicyy'], 'Never');
    assert.deepEqual(schemas.validate(d), ['/spec/template/spec/containers/0: unknown field "imagePullPolicyy"']);
    assert.deepEqual(schemas.validate(withChange(['extra'], true)), ['(root): unknown field "extra"']);
  });

  test('rejects a missing required field and a wrong type', () => {
    const missing = schemas.validate(withChange(['spec', 'template', 'spec', 'containers', 0, 'name'], undefined));
    assert.ok(
      missing.some((e) => e.startsWith('/spec/template/spec/containers/0:') && e.includes("'name'")),
      missing.join('\n'),
    );
    const wrong = schemas.validate(withChange(['spec', 'replicas'], '3'));
    assert.ok(
      wrong.some((e) => e.startsWith('/spec/replicas:') && e.includes('number')),
      wrong.join('\n'),
    );
  });

  test('rejects a wrong map value type and an IntOrString that is neither', () => {
    const label = schemas.validate(withChange(['metadata', 'labels'], { app: 3 }));
    assert.ok(
      label.some((e) => e.startsWith('/metadata/labels/app:')),
      label.join('\n'),
    );
    const port = schemas.validate(withChange(['spec', 'template', 'spec', 'containers', 0, 'readinessProbe', 'httpGet', 'port'], true));
    assert.ok(
      port.some((e) => e.startsWith('/spec/template/spec/containers/0/readinessProbe/httpGet/port:')),
      port.join('\n'),
    );
  });

  test('rejects an apiVersion/kind pair the API does not have', () => {
    assert.match(schemas.validate({ ...sampleDeployment(), apiVersion: 'apps/v1beta1' }).join(), /no Kubernetes .* schema/);
    assert.match(schemas.validate({ ...sampleDeployment(), kind: 'Deploymnet' }).join(), /no Kubernetes .* schema/);
  });
});

/** The objects every overlay deploys, by `apiVersion/kind/name`. */
const COMMON = [
  'apps/v1/Deployment/image-processor',
  'apps/v1/Deployment/imgfleet-runtime',
  'apps/v1/Deployment/redis',
  'apps/v1/StatefulSet/postgres',
  'autoscaling/v2/HorizontalPodAutoscaler/image-processor',
  'networking.k8s.io/v1/NetworkPolicy/image-processor',
  'networking.k8s.io/v1/NetworkPolicy/imgfleet-runtime',
  'networking.k8s.io/v1/NetworkPolicy/postgres',
  'networking.k8s.io/v1/NetworkPolicy/redis',
  'policy/v1/PodDisruptionBudget/image-processor',
  'v1/ConfigMap/outputkey',
  'v1/ConfigMap/pyfile',
  'v1/ConfigMap/runtime-config',
  'v1/Service/image-processor',
  'v1/Service/postgres',
  'v1/Service/redis',
];

const ids = (objects: K8sObject[]) => objects.map((o) => `${o.apiVersion}/${o.kind}/${o.metadata.name}`).sort();

describe('the overlays render the objects of the design, each once', () => {
  test('minikube: the common objects and the blob volume claim', () => {
    assert.deepEqual(ids(minikube.objects()), [...COMMON, 'v1/PersistentVolumeClaim/image-blobs'].sort());
  });

  test('production: the common objects and the object storage settings (no volume: blobs go to S3)', () => {
    const objects = production.objects();
    const blobConfig = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('blob-store-'));
    assert.ok(blobConfig, 'no blob-store ConfigMap (generated, with its hash suffix)');
    assert.deepEqual(ids(objects.filter((o) => o !== blobConfig)), COMMON);
  });

  test('`kubectl apply -k k8s/` is the minikube overlay, as it was before the overlays', () => {
    assert.deepEqual(renderKustomization('k8s'), minikube.objects());
  });
});

for (const overlay of OVERLAYS) {
  describe(`kubectl kustomize ${overlay.dir}`, () => {
    const objects = overlay.objects();

    for (const object of objects) {
      test(`${object.kind}/${object.metadata.name} is valid against the Kubernetes ${schemas.version} schema`, () => {
        assert.deepEqual(schemas.validate(object), []);
      });
    }

    test('names are valid DNS labels, in the current namespace, with the product label', () => {
      for (const o of objects) {
        assert.match(o.metadata.name, /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, `${o.kind} name ${o.metadata.name}`);
        assert.equal(o.metadata.namespace, undefined, `${o.kind}/${o.metadata.name} pins a namespace`);
        assert.equal(o.metadata.labels?.['app.kubernetes.io/part-of'], 'imgfleet', `${o.kind}/${o.metadata.name}`);
      }
    });
  });
}
