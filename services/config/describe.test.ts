import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { schemaFields } from './reference.ts';
import { TributaryConfigSchema } from './schema.ts';

describe('schema descriptions', () => {
  it('describe every field, for the generated reference docs', () => {
    const all = schemaFields(TributaryConfigSchema, 'config');
    expect(all.length).toBeGreaterThan(60);
    const undocumented = all.filter(([, schema]) => !z.globalRegistry.get(schema)?.description).map(([p]) => p);
    expect(undocumented).toEqual([]);
  });
});
