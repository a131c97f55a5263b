import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { TributaryConfigSchema } from './schema.ts';

type Def = { type: string; [key: string]: unknown };
const defOf = (schema: z.core.$ZodType): Def => schema._zod.def as unknown as Def;

/** Every object field in the config schema, as [path, schema], looking through wrappers, unions and arrays. */
function fields(schema: z.core.$ZodType, path: string, out: [string, z.core.$ZodType][] = []) {
  const def = defOf(schema);
  switch (def.type) {
    case 'object':
      for (const [key, child] of Object.entries(def.shape as Record<string, z.core.$ZodType>)) {
        out.push([`${path}.${key}`, child]);
        fields(child, `${path}.${key}`, out);
      }
      break;
    case 'optional':
    case 'default':
    case 'prefault':
      fields(def.innerType as z.core.$ZodType, path, out);
      break;
    case 'pipe':
      fields(def.in as z.core.$ZodType, path, out);
      fields(def.out as z.core.$ZodType, path, out);
      break;
    case 'array':
      fields(def.element as z.core.$ZodType, `${path}[]`, out);
      break;
    case 'union':
      for (const option of def.options as z.core.$ZodType[]) fields(option, path, out);
      break;
  }
  return out;
}

describe('schema descriptions', () => {
  it('describe every field, for the generated reference docs', () => {
    const all = fields(TributaryConfigSchema, 'config');
    expect(all.length).toBeGreaterThan(60);
    const undocumented = all.filter(([, schema]) => !z.globalRegistry.get(schema)?.description).map(([p]) => p);
    expect(undocumented).toEqual([]);
  });
});
