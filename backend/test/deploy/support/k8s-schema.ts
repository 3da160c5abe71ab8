/**
 * Strict JSON Schemas of the Kubernetes API, offline.
 *
 * The npm package `kubernetes-types` ships the Kubernetes API's object types as
 * TypeScript declarations generated from the Kubernetes OpenAPI definitions: one
 * interface per definition, a property optional exactly when the OpenAPI schema does
 * not list it as required. This module reads those declarations with the TypeScript
 * compiler's parser and turns them into a JSON Schema (draft 2020-12 subset) in which
 * every object is closed (`additionalProperties: false`), as `kubectl apply
 * --validate=strict` treats unknown fields. Ajv then validates manifests against it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import ts from 'typescript';
import AjvModule from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';

type JsonSchema = Record<string, unknown>;

const Ajv = AjvModule.default;
const SCHEMA_ID = 'https://imgfleet.invalid/kubernetes-types.json';

export interface KubernetesSchemas {
  /** Version of the kubernetes-types package (tracks the Kubernetes API version). */
  version: string;
  /** `apiVersion/Kind` of every object type with a fixed apiVersion and kind. */
  kinds: string[];
  /** Every definition, by key such as `apps.v1.Deployment`. */
  definitions: Record<string, JsonSchema>;
  /** Error messages for one object; empty when it is valid. */
  validate(object: unknown): string[];
}

/** The installed kubernetes-types package's folder. */
export function kubernetesTypesDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('kubernetes-types/package.json');
  } catch {
    throw new Error('the npm package kubernetes-types is not installed: it is a root devDependency of the repository (npm ci)');
  }
  return path.dirname(pkg);
}

function declarationFiles(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((entry) => {
    const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : declarationFiles(dir, child);
    return entry.name.endsWith('.d.ts') ? [child] : [];
  });
}

interface ModuleInfo {
  id: string;
  /** Local name → definition key, for the names this module declares or imports. */
  names: Map<string, string>;
  declarations: (ts.InterfaceDeclaration | ts.TypeAliasDeclaration)[];
}

const keyOf = (moduleId: string, name: string) => `${moduleId.replaceAll('/', '.')}.${name}`;

function propertyName(name: ts.PropertyName): string {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  throw new Error(`unsupported property name kind ${ts.SyntaxKind[name.kind]}`);
}

class Converter {
  constructor(private readonly module: ModuleInfo) {}

  private fail(node: ts.Node, what: string): never {
    throw new Error(`kubernetes-types/${this.module.id}.d.ts: unsupported ${what}: ${node.getText()}`);
  }

  type(node: ts.TypeNode): JsonSchema {
    switch (node.kind) {
      case ts.SyntaxKind.StringKeyword:
        return { type: 'string' };
      case ts.SyntaxKind.NumberKeyword:
        return { type: 'number' };
      case ts.SyntaxKind.BooleanKeyword:
        return { type: 'boolean' };
      case ts.SyntaxKind.AnyKeyword:
      case ts.SyntaxKind.UnknownKeyword:
        return {};
    }
    if (ts.isParenthesizedTypeNode(node)) return this.type(node.type);
    if (ts.isLiteralTypeNode(node)) {
      const lit = node.literal;
      if (ts.isStringLiteral(lit)) return { const: lit.text };
      if (ts.isNumericLiteral(lit)) return { const: Number(lit.text) };
      if (lit.kind === ts.SyntaxKind.TrueKeyword) return { const: true };
      if (lit.kind === ts.SyntaxKind.FalseKeyword) return { const: false };
      if (lit.kind === ts.SyntaxKind.NullKeyword) return { type: 'null' };
      this.fail(node, 'literal');
    }
    if (ts.isArrayTypeNode(node)) return { type: 'array', items: this.type(node.elementType) };
    if (ts.isUnionTypeNode(node)) return { anyOf: node.types.map((t) => this.type(t)) };
    if (ts.isTypeLiteralNode(node)) return this.members(node.members);
    if (ts.isTypeReferenceNode(node)) {
      const name = node.typeName.getText();
      const args = node.typeArguments ?? [];
      if (name === 'Array' && args.length === 1) return { type: 'array', items: this.type(args[0]!) };
      if (args.length > 0) this.fail(node, 'generic type');
      const key = this.module.names.get(name);
      if (key === undefined) this.fail(node, `reference to ${name}`);
      return { $ref: `#/$defs/${key}` };
    }
    this.fail(node, `type (${ts.SyntaxKind[node.kind]})`);
  }

  /** An object with exactly these members: unknown fields are errors. */
  members(members: ts.NodeArray<ts.TypeElement>): JsonSchema {
    if (members.length === 0) return {}; // e.g. RawExtension, JSON: any value
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    let additional: JsonSchema | false = false;
    for (const member of members) {
      if (ts.isPropertySignature(member)) {
        if (!member.type) this.fail(member, 'untyped property');
        const name = propertyName(member.name);
        properties[name] = this.type(member.type);
        if (!member.questionToken) required.push(name);
      } else if (ts.isIndexSignatureDeclaration(member)) {
        additional = this.type(member.type);
      } else {
        this.fail(member, 'member');
      }
    }
    const schema: JsonSchema = { type: 'object', additionalProperties: additional };
    if (Object.keys(properties).length > 0) schema.properties = properties;
    if (required.length > 0) schema.required = required;
    return schema;
  }

  declaration(node: ts.InterfaceDeclaration | ts.TypeAliasDeclaration): JsonSchema {
    if (node.typeParameters?.length) this.fail(node, 'generic declaration');
    if (ts.isTypeAliasDeclaration(node)) return this.type(node.type);
    if (node.heritageClauses?.length) this.fail(node, 'interface inheritance');
    return this.members(node.members);
  }
}

function literalOf(node: ts.InterfaceDeclaration, property: string): string | undefined {
  for (const member of node.members) {
    if (!ts.isPropertySignature(member) || propertyName(member.name) !== property) continue;
    const t = member.type;
    if (t && ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal)) return t.literal.text;
  }
  return undefined;
}

let cached: KubernetesSchemas | undefined;

/** Reads kubernetes-types once and compiles the validators lazily, one per kind. */
export function loadKubernetesSchemas(): KubernetesSchemas {
  if (cached) return cached;
  const dir = kubernetesTypesDir();
  const version = (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;

  const modules: ModuleInfo[] = declarationFiles(dir).map((file) => {
    const id = file.slice(0, -'.d.ts'.length);
    const source = ts.createSourceFile(file, readFileSync(path.join(dir, file), 'utf8'), ts.ScriptTarget.Latest, true);
    const info: ModuleInfo = { id, names: new Map(), declarations: [] };
    for (const statement of source.statements) {
      if (ts.isImportDeclaration(statement)) {
        const spec = (statement.moduleSpecifier as ts.StringLiteral).text;
        const target = spec.startsWith('.') ? path.posix.normalize(path.posix.join(path.posix.dirname(id), spec)) : spec.replace(/^kubernetes-types\//, '');
        const bindings = statement.importClause?.namedBindings;
        if (bindings && ts.isNamedImports(bindings)) {
          for (const el of bindings.elements) {
            info.names.set(el.name.text, keyOf(target, (el.propertyName ?? el.name).text));
          }
        }
      } else if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) {
        info.declarations.push(statement);
        info.names.set(statement.name.text, keyOf(id, statement.name.text));
      }
    }
    return info;
  });

  const definitions: Record<string, JsonSchema> = {};
  const byKind = new Map<string, string>();
  for (const info of modules) {
    const converter = new Converter(info);
    for (const decl of info.declarations) {
      const key = keyOf(info.id, decl.name.text);
      definitions[key] = converter.declaration(decl);
      if (ts.isInterfaceDeclaration(decl)) {
        const apiVersion = literalOf(decl, 'apiVersion');
        const kind = literalOf(decl, 'kind');
        if (apiVersion && kind) byKind.set(`${apiVersion}/${kind}`, key);
      }
    }
  }
  // kubernetes-types declares Quantity as a string; the API (and kubectl) also take a
  // plain number (`cpu: 1`), which the Kubernetes JSON schemas express as string|number.
  if (!('api.resource.Quantity' in definitions)) throw new Error('kubernetes-types has no api/resource Quantity');
  definitions['api.resource.Quantity'] = { anyOf: [{ type: 'string' }, { type: 'number' }] };

  for (const [key, schema] of Object.entries(definitions)) {
    for (const ref of JSON.stringify(schema).matchAll(/"\$ref":"#\/\$defs\/([^"]+)"/g)) {
      if (!((ref[1] ?? '') in definitions)) throw new Error(`${key} refers to the missing definition ${ref[1]}`);
    }
  }

  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  ajv.addSchema({ $id: SCHEMA_ID, $defs: definitions });
  const validators = new Map<string, ValidateFunction>();
  const format = (e: ErrorObject) => {
    const where = e.instancePath === '' ? '(root)' : e.instancePath;
    if (e.keyword === 'additionalProperties') {
      return `${where}: unknown field "${String((e.params as { additionalProperty: string }).additionalProperty)}"`;
    }
    return `${where}: ${e.message ?? e.keyword}`;
  };

  cached = {
    version,
    kinds: [...byKind.keys()].sort(),
    definitions,
    validate(object: unknown): string[] {
      if (typeof object !== 'object' || object === null || Array.isArray(object)) return ['(root): not an object'];
      const { apiVersion, kind } = object as { apiVersion?: unknown; kind?: unknown };
      const id = `${String(apiVersion)}/${String(kind)}`;
      const key = byKind.get(id);
      if (!key) return [`(root): no Kubernetes ${version} schema for apiVersion ${String(apiVersion)}, kind ${String(kind)}`];
      let validator = validators.get(key);
      if (!validator) {
        validator = ajv.getSchema(`${SCHEMA_ID}#/$defs/${key}`);
        if (!validator) throw new Error(`no validator for ${key}`);
        validators.set(key, validator);
      }
      if (validator(object)) return [];
      // anyOf reports each branch; keep the messages distinct and readable.
      return [...new Set((validator.errors ?? []).map(format))];
    },
  };
  return cached;
}
