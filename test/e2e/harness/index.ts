export * from './cluster.js';
export * from './certs.js';
export * from './kubectl.js';
export * from './ports.js';
export * from './proc.js';
export * from './webhook.js';
export * from './webhook-config.js';
