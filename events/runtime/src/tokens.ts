/** Nest injection token of the service's validated configuration. */
export const CONFIG = Symbol('CONFIG');
