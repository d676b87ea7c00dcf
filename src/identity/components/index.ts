/**
 * Connected components of an identity edge table, in the warehouse (SQL contraction, or
 * label propagation as the baseline) or in process (union-find). The public surface of
 * `src/identity/components`; see src/identity/CONTEXT.md for the algorithm.
 */
export { connectedComponents, DEFAULT_MAX_IN_PROCESS_EDGES } from './connected-components';
export type { ComponentsInput, ComponentsResult, ComponentsStrategy } from './types';
export { DenseUnionFind } from './union-find';
