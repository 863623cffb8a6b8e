export * from './catalog.js';
export { asyncApiDocument, asyncApiYaml } from './asyncapi.js';
