export { asyncApiDocument, asyncApiYaml } from './asyncapi.js';
export * from './catalog.js';
export * from './knative.js';
