import { z } from 'zod';
import { TributaryConfigSchema } from './schema.ts';

// The configuration reference in the README is generated from the zod schemas, so that it cannot drift from what
// `tributary config check` accepts: `tributary config reference` prints it, and a unit test compares the README's
// copy with it.

type Def = { type: string; [key: string]: unknown };
const defOf = (schema: z.core.$ZodType): Def => schema._zod.def as unknown as Def;
const describedAs = (schema: z.core.$ZodType): string | undefined => z.globalRegistry.get(schema)?.description;

/** One field of the file: where it is, what it takes, its default, what it does. */
export interface ReferenceField {
  path: string;
  type: string;
  required: boolean;
  default?: string;
  description: string;
}

/** A table of fields: the top-level sections, then one per source and sink type. */
export interface ReferenceSection {
  title: string;
  description: string;
  fields: ReferenceField[];
}

/** Every object field in `schema`, as [path, schema], looking through wrappers, unions and arrays. */
export function schemaFields(schema: z.core.$ZodType, path: string, out: [string, z.core.$ZodType][] = []): [string, z.core.$ZodType][] {
  const def = defOf(schema);
  switch (def.type) {
    case 'object':
      for (const [key, child] of Object.entries(def.shape as Record<string, z.core.$ZodType>)) {
        out.push([`${path}.${key}`, child]);
        schemaFields(child, `${path}.${key}`, out);
      }
      break;
    case 'optional':
    case 'default':
    case 'prefault':
      schemaFields(def.innerType as z.core.$ZodType, path, out);
      break;
    case 'pipe':
      schemaFields(def.in as z.core.$ZodType, path, out);
      schemaFields(def.out as z.core.$ZodType, path, out);
      break;
    case 'array':
      schemaFields(def.element as z.core.$ZodType, `${path}[]`, out);
      break;
    case 'union':
      for (const option of def.options as z.core.$ZodType[]) schemaFields(option, path, out);
      break;
  }
  return out;
}

/** The reference, section by section. */
export function configReference(): ReferenceSection[] {
  const shape = defOf(TributaryConfigSchema).shape as Record<string, z.core.$ZodType>;
  const sections: ReferenceSection[] = [];
  for (const [key, child] of Object.entries(shape)) {
    const element = arrayElement(child);
    const options = element ? unionOptions(element) : null;
    if (options) {
      for (const option of options) {
        sections.push({ title: `${key}[] with type: ${typeValues(option)}`, description: describedAs(element as z.core.$ZodType) ?? '', fields: objectFields(option, `${key}[]`) });
      }
    } else {
      sections.push({ title: key, description: describedAs(child) ?? '', fields: objectFields(unwrap(child).schema, key) });
    }
  }
  return sections;
}

/** The reference as Markdown, one table per section. */
export function configReferenceMarkdown(): string {
  const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const lines: string[] = [];
  for (const section of configReference()) {
    lines.push(`#### \`${section.title}\``, '', section.description, '', '| Field | Type | Default | Description |', '|---|---|---|---|');
    for (const field of section.fields) {
      const fallback = field.default !== undefined ? `\`${field.default}\`` : field.required ? 'required' : '';
      lines.push(`| \`${field.path}\` | ${cell(field.type)} | ${cell(fallback)} | ${cell(field.description)} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function objectFields(schema: z.core.$ZodType, path: string): ReferenceField[] {
  const def = defOf(schema);
  if (def.type !== 'object') return [];
  const fields: ReferenceField[] = [];
  for (const [key, child] of Object.entries(def.shape as Record<string, z.core.$ZodType>)) {
    const { schema: inner, optional, fallback } = unwrap(child);
    const fieldPath = `${path}.${key}`;
    fields.push({
      path: fieldPath,
      type: typeLabel(inner),
      required: !optional && fallback === undefined,
      ...(fallback !== undefined && fallback !== '{}' ? { default: fallback } : {}),
      description: describedAs(child) ?? '',
    });
    // An object field's own fields follow it (an object or `true`, as `kafka.tls`, counts as an object).
    const nested = objectOf(inner);
    if (nested) fields.push(...objectFields(nested, fieldPath));
    const element = arrayElement(inner);
    if (element && defOf(unwrap(element).schema).type === 'object') fields.push(...objectFields(unwrap(element).schema, `${fieldPath}[]`));
  }
  return fields;
}

/** Looks through optional, default and prefault wrappers, keeping what they say. */
function unwrap(schema: z.core.$ZodType): { schema: z.core.$ZodType; optional: boolean; fallback: string | undefined } {
  let current = schema;
  let optional = false;
  let fallback: string | undefined;
  for (;;) {
    const def = defOf(current);
    if (def.type === 'optional') optional = true;
    else if (def.type === 'default' || def.type === 'prefault') fallback ??= JSON.stringify(def.defaultValue);
    else if (def.type === 'pipe' && defOf(def.in as z.core.$ZodType).type === 'transform') {
      // z.preprocess: the type is what comes out of it.
      current = def.out as z.core.$ZodType;
      continue;
    } else return { schema: current, optional, fallback };
    current = def.innerType as z.core.$ZodType;
  }
}

function arrayElement(schema: z.core.$ZodType): z.core.$ZodType | null {
  const inner = unwrap(schema).schema;
  const def = defOf(inner);
  if (def.type === 'array') return def.element as z.core.$ZodType;
  if (def.type === 'pipe') return arrayElement(def.in as z.core.$ZodType);
  return null;
}

function objectOf(schema: z.core.$ZodType): z.core.$ZodType | null {
  const def = defOf(schema);
  if (def.type === 'object') return schema;
  // A preprocess or a transform around an object (the connections): its fields are the object's.
  if (def.type === 'pipe') return objectOf(def.in as z.core.$ZodType) ?? objectOf(def.out as z.core.$ZodType);
  if (def.type === 'union') {
    const objects = (def.options as z.core.$ZodType[]).map((option) => objectOf(unwrap(option).schema)).filter((option) => option !== null);
    return objects.length === 1 ? (objects[0] as z.core.$ZodType) : null;
  }
  return null;
}

/** The options of a union of objects told apart by `type` (sources, sinks); null for anything else. */
function unionOptions(schema: z.core.$ZodType): z.core.$ZodType[] | null {
  const def = defOf(unwrap(schema).schema);
  if (def.type === 'pipe') return unionOptions(def.in as z.core.$ZodType);
  if (def.type !== 'union') return null;
  const options = (def.options as z.core.$ZodType[]).map((option) => unwrap(option).schema);
  return options.every((option) => defOf(option).type === 'object' && 'type' in (defOf(option).shape as object)) ? options : null;
}

function typeValues(option: z.core.$ZodType): string {
  const type = unwrap((defOf(option).shape as Record<string, z.core.$ZodType>).type as z.core.$ZodType).schema;
  return typeLabel(type).replaceAll('`', '').replaceAll(' | ', ' or ');
}

function typeLabel(schema: z.core.$ZodType): string {
  const def = defOf(unwrap(schema).schema);
  switch (def.type) {
    case 'string':
      return 'string';
    case 'number':
    case 'int':
      return (def.format as string | undefined)?.includes('int') || def.type === 'int' ? 'integer' : 'number';
    case 'boolean':
      return 'boolean';
    case 'enum':
      return Object.values(def.entries as Record<string, string>)
        .map((value) => `\`${value}\``)
        .join(' | ');
    case 'literal':
      return (def.values as unknown[]).map((value) => `\`${String(value)}\``).join(' | ');
    case 'array':
      return `list of ${typeLabel(def.element as z.core.$ZodType)}`;
    case 'object':
      return 'object';
    case 'record':
      return `map of ${typeLabel(def.valueType as z.core.$ZodType)}`;
    case 'union':
      return [...new Set((def.options as z.core.$ZodType[]).map(typeLabel))].join(' or ');
    case 'pipe': {
      const input = def.in as z.core.$ZodType;
      return typeLabel(defOf(input).type === 'transform' ? (def.out as z.core.$ZodType) : input);
    }
    default:
      return def.type;
  }
}
