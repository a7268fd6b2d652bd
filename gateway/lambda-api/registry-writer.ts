// The Writer of `selfless dev` and of a gateway serving manifests: definitions go
// straight into the registry the gateway serves from.
import { keyOf } from '../../lib/function.ts';
import type { FunctionRegistry } from '../registry.ts';
import type { Writer } from './catalog.ts';

export function registryWriter(registry: FunctionRegistry): Writer {
  return {
    // Tags, aliases and versions rewrite the record, not the definition: putting the
    // same definition again would restart its environments for nothing.
    put: async (fn) => {
      if (registry.get(keyOf(fn)) !== fn) registry.put(fn);
    },
    remove: async (fn) => registry.remove(keyOf(fn)),
  };
}
